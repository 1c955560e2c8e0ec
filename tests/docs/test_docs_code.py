"""Every Python block in docs/ runs: documentation cannot rot.

A page's blocks run in order in one namespace, with every store in a temp dir. A block
whose first line is ``# file: PATH`` is written to PATH in a scratch project instead, and
test files written so are run with pytest. A block whose first line is
``# template: PATH`` must equal that file of a project rendered from template/ (the
fresh-environment test runs it there).
"""

from __future__ import annotations

import inspect
import subprocess
import sys
import types
from pathlib import Path

import pytest
from cookiecutter.main import cookiecutter
from tracer import hookspecs

from tests.docs.markdown import PAGES, blocks

REPO = Path(__file__).resolve().parents[2]


def run_page(page: str, workdir: Path) -> dict:
    namespace: dict = {"__name__": f"docs_{page.replace('-', '_').removesuffix('.md')}"}
    project = workdir / "project"
    for block in blocks(page):
        if block.language != "python":
            continue
        directive = block.directive
        if directive is None:
            exec(compile(block.code, f"docs/{page}:{block.line}", "exec"), namespace)
        elif directive[0] == "file":
            target = project / directive[1]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(block.code)
        else:
            rendered = Path(cookiecutter(str(REPO / "template"), no_input=True,
                                         output_dir=str(workdir / "rendered"),
                                         default_config=True, overwrite_if_exists=True))
            body = block.code.split("\n", 1)[1]
            assert body == (rendered / directive[1]).read_text(), \
                f"docs/{page}:{block.line} differs from the template's {directive[1]}"
    return namespace


def test_every_page_exists_and_has_python_to_run():
    counts = {page: sum(b.language == "python" for b in blocks(page)) for page in PAGES}
    assert all(n >= 1 for n in counts.values()), counts


@pytest.mark.parametrize("page", ["using-domains.md", "writing-plugins.md"])
def test_page_code_runs(page, settings, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace = run_page(page, tmp_path)
    assert namespace["result"].version == 1


def test_hook_reference_examples_run_and_match_their_specs(settings, tmp_path, monkeypatch):
    from tracer.host import PluginHost

    monkeypatch.chdir(tmp_path)
    namespace = run_page("hooks.md", tmp_path)
    examples = {name: fn for name, fn in namespace.items()
                if name.startswith("tracer_") and callable(fn)}
    specs = {name: fn for name, fn in vars(hookspecs).items() if name.startswith("tracer_")}
    assert sorted(examples) == sorted(specs), "every hook has an example on hooks.md"
    for name, fn in examples.items():
        assert list(inspect.signature(fn).parameters) == list(
            inspect.signature(specs[name]).parameters), name
    host = PluginHost(settings, load_entrypoints=False)
    record = host.register(types.SimpleNamespace(**examples), name="docs-examples")
    assert (record.status, record.domains) == ("loaded", ["weather/rain-tomorrow"])


def test_testing_page_test_file_passes_under_pytest(settings, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run_page("testing-plugins.md", tmp_path)
    tests = tmp_path / "project" / "tests"
    assert [p.name for p in tests.glob("test_*.py")] == ["test_rain.py"]
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           str(tests)], cwd=tmp_path / "project", capture_output=True,
                          text=True)
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert summary.startswith("9 passed"), summary
