"""The attack suite's plugins through certification: which ones the checks catch.

Certification runs each wheel through the same runner production uses. Some attacks are
built to pass it (the sandbox-aware sleeper stays quiet wherever it is watched); what makes
them harmless is the runtime confinement ``test_attacks.py`` proves, not this verdict.
"""

from __future__ import annotations

import pytest

from tests.certification.build import build_wheel
from tests.runner.attacks import PAYLOADS, make_attack

pytestmark = pytest.mark.xdist_group("runner-certification")


def _wheel(tmp_path, name: str):
    project = tmp_path / name
    src = project / "src"
    src.mkdir(parents=True)
    make_attack(src, name, markers=tmp_path / "markers", secrets=["/etc/shadow"], port=9)
    for info in src.glob("*.dist-info"):  # the build writes its own metadata
        for file in info.iterdir():
            file.unlink()
        info.rmdir()
    dist = f"tracer-mal-{name.replace('_', '-')}"
    (project / "README.md").write_text(f"# {dist}\n\nA domain that predicts the outcome from "
                                       "the signal column, with its model card.\n")
    (project / "pyproject.toml").write_text(
        f'[project]\nname = "{dist}"\nversion = "1.0.0"\ndescription = "Signal domain"\n'
        f'readme = "README.md"\nlicense = "Apache-2.0"\nrequires-python = ">=3.11"\n'
        f'dependencies = ["tracer>=0.1"]\n\n[project.entry-points.tracer]\n'
        f'{dist} = "mal_{name}"\n')
    return build_wheel(project, tmp_path / "wheels")


def test_certification_verdicts_for_the_attack_suite(tmp_path):
    from tracer_registry.certify.validator import certify_with_outcome

    (tmp_path / "wheels").mkdir()
    verdicts = {}
    for name in PAYLOADS:
        report, outcome = certify_with_outcome(_wheel(tmp_path, name))
        failed = sorted(c.id for c in report.checks if c.status == "failed"
                        and c.severity == "error")
        verdicts[name] = (report.passed, failed)
    print("\ncertification of the attack suite (passed?, failing blocking checks):")
    for name, (passed, failed) in verdicts.items():
        print(f"  {name:18} {'CERTIFIED' if passed else 'rejected'}  {', '.join(failed)}")
    # every attack is refused a certificate; the dynamic check (the runner's audit layer)
    # names the ones that act where it can see them — the kernel-level attacks (libc through
    # ctypes, _posixsubprocess, dir_fd writes, reads) fail silently inside the box and the
    # sleeper stays quiet: run-time confinement, not certification, is what contains those
    assert [n for n, (passed, _) in verdicts.items() if passed] == []
    caught = {n for n, (_, failed) in verdicts.items() if "dynamic.safety" in failed}
    assert caught >= {"network", "time_bomb", "background_thread", "patch_platform"}
    assert "sandbox_sleeper" not in caught
