"""The real thing: first-party wheels built by their build backend, and a plugin freshly
rendered from template/, through the same validator with the registry's policy."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def blocking(report) -> dict[str, str]:
    return {c.id: c.message for c in report.checks if c.blocking or
            (c.status == "skipped" and c.severity == "error")}


@pytest.mark.slow
@pytest.mark.parametrize("package", ["tracer-esports", "tracer-fraud"])
def test_first_party_plugins_pass_certification(certified, first_party_wheels, package):
    report = certified.report(first_party_wheels[package])
    assert blocking(report) == {}
    assert report.passed


@pytest.mark.slow
def test_a_freshly_rendered_template_passes_certification(certified, tmp_path):
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not on PATH; the rendered plugin cannot be built")
    from cookiecutter.main import cookiecutter

    project = Path(cookiecutter(str(REPO / "template"), no_input=True, output_dir=str(tmp_path)))
    subprocess.run([uv, "build", "--wheel", "--offline", "--out-dir", str(tmp_path / "dist"),
                    str(project)], check=True, capture_output=True)
    report = certified.report(next((tmp_path / "dist").glob("*.whl")))
    assert blocking(report) == {}
    readme = next(c for c in report.checks if c.id == "metadata.readme")
    # the author has not written a README yet: reviewers see a warning, not a block
    assert (readme.status, readme.severity) == ("failed", "warning")
