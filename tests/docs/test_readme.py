"""The README's examples run: its Python block, and every `tracer` command it lists exists."""

from __future__ import annotations

import re
from pathlib import Path

from tests.docs.markdown import FENCE

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_blocks(language: str) -> list[str]:
    return [m.group(2) for m in FENCE.finditer(README.read_text()) if m.group(1) == language]


def test_the_python_example_trains_and_explains(settings):
    [code] = readme_blocks("python")
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    assert namespace["result"].decision == "promoted: no champion yet"
    answer = namespace["answer"]
    assert 0 <= answer["probability"] <= 1 and answer["factors"]
    assert answer["summary"].split(" is favoured to win ")[0] in ("Blue", "Red")


def test_every_command_the_readme_shows_is_a_tracer_command(settings):
    import typer
    from tracer.cli import build_app

    command = typer.main.get_command(build_app())
    known = set(command.commands)  # type: ignore[attr-defined]
    shown = {m.group(1) for block in readme_blocks("bash")
             for m in re.finditer(r"^tracer (\w[\w-]*)", block, re.MULTILINE)}
    assert shown and shown <= known, sorted(shown - known)


def test_the_quickstart_is_two_make_commands():
    quickstart = README.read_text().split("## Quickstart", 1)[1].split("##", 1)[0]
    [block] = [m.group(2) for m in FENCE.finditer(quickstart)]
    commands = [line.split("#")[0].strip() for line in block.splitlines() if line.strip()]
    assert commands == ["make demo", "make test"]
    makefile = (README.parent / "Makefile").read_text()
    assert "\ndemo:" in makefile and "\ntest:" in makefile
    assert "make test" in (README.parent / ".ci" / "run").read_text()
