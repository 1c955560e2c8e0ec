"""The reviewer, payout and design pages: their Python runs, every `tracer` command they show
exists with the options shown, and the pages the code cites are in the repository."""

from __future__ import annotations

import re
import shlex

import pytest
import typer
from tracer.cli import build_app

from tests.docs.markdown import DOCS, blocks
from tests.docs.test_docs_code import run_page

PAGES = ("architecture.md", "deploy.md", "design.md", "ledger.md", "payouts.md", "reviewing.md",
         "settings.md")


def test_the_ledger_examples_run(tmp_path):
    namespace = run_page("ledger.md", tmp_path)
    assert namespace["line"].share == 701


def shown_commands() -> list[tuple[str, list[str]]]:
    """Every ``tracer …`` line of the bash blocks, and inline ``tracer …`` code spans."""
    found = []
    for page in PAGES:
        for block in blocks(page):
            if block.language == "bash":
                found += [(page, shlex.split(line)) for line in block.code.splitlines()
                          if line.startswith("tracer ")]
        text = (DOCS / page).read_text()
        found += [(page, shlex.split(m.group(1).replace("…", "x")))
                  for m in re.finditer(r"`(tracer [a-z][^`]*)`", text)]
    return found


@pytest.mark.parametrize("page,argv", shown_commands(),
                         ids=lambda v: " ".join(v) if isinstance(v, list) else v)
def test_every_command_shown_exists_with_its_options(page, argv, settings):
    command = typer.main.get_command(build_app())
    words = argv[1:]
    while words and hasattr(command, "commands") and words[0] in command.commands:
        command = command.commands[words.pop(0)]
    assert not hasattr(command, "commands"), f"{page}: {' '.join(argv)} names no command"
    options = {o for p in command.params for o in p.opts}
    used = {w.split("=")[0] for w in words if w.startswith("--")}
    assert used <= options, f"{page}: {' '.join(argv)} uses unknown {sorted(used - options)}"


def test_the_pages_the_code_cites_exist():
    from pathlib import Path

    repo = DOCS.parent
    cited = set()
    for path in [*repo.glob("core/src/**/*.py"), *repo.glob("registry/src/**/*.py"),
                 *repo.glob("docs/*.md"), repo / "README.md"]:
        for line in Path(path).read_text().splitlines():
            if "github.com" not in line:  # another project's docs/, not ours
                cited |= set(re.findall(r"(?<![\w/.-])docs/([a-z-]+\.md)", line))
    assert {"ledger.md", "settings.md"} <= cited
    assert sorted(page for page in cited if not (DOCS / page).is_file()) == []


def test_the_ledger_is_separable_as_the_design_page_says():
    """docs/design.md keeps the ledger in tracer-registry because it already joins the
    platform like a distribution: its own entry point, version table and error kind."""
    from importlib import metadata

    from tracer.errors import ConflictError
    from tracer_registry.ledger import migration_tree
    from tracer_registry.ledger.errors import LedgerError

    page = (DOCS / "design.md").read_text()
    entry = next(e for e in metadata.distribution("tracer-registry").entry_points
                 if e.group == "tracer" and e.name == "ledger")
    assert f'ledger = "{entry.value}"' in page
    assert f"`{migration_tree()['version_table']}`" in page
    assert issubclass(LedgerError, ConflictError) and "tracer.errors.ConflictError" in page
