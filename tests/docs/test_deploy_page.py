"""docs/deploy.md against the code: the make targets and variables it shows exist, every
TRACER_* name it gives is a setting (or one the cluster scripts write for their own tests),
and the settings the cluster hands its workers are the ones the page lists. (Its ``tracer``
commands are checked with the other design pages, tests/docs/test_design_pages.py.)"""

from __future__ import annotations

import re

from tests.docs.markdown import DOCS, blocks

REPO = DOCS.parent
PAGE = (DOCS / "deploy.md").read_text()
UP = (REPO / "deploy" / "cluster" / "up").read_text()
ENV_FILE = UP.split('cat >"$STATE/env" <<ENV', 1)[1].split("\nENV\n", 1)[0]  # what it writes


def setting_names() -> set[str]:
    from tracer.settings import Settings
    from tracer.settings_renamed import variables_of
    from tracer_registry.config import RegistryConfig

    return variables_of(Settings) | variables_of(RegistryConfig, "TRACER_REGISTRY__")


def test_every_make_target_shown_exists():
    makefile = (REPO / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z][\w-]*):", makefile, re.MULTILINE))
    shown = {m for b in blocks("deploy.md") if b.language == "bash"
             for m in re.findall(r"make ([a-z][\w-]*)", b.code)}
    shown |= set(re.findall(r"`make ([a-z][\w-]*)`", PAGE))
    assert shown and shown <= targets, sorted(shown - targets)


def test_every_tracer_variable_named_is_a_setting_or_written_by_the_cluster():
    named = set(re.findall(r"\bTRACER_[A-Z_]*[A-Z]\b", PAGE))
    written = set(re.findall(r"export (TRACER_[A-Z_]+)=", ENV_FILE))
    assert named - setting_names() - written == set()
    assert "TRACER_CLUSTER_DIR" in UP


def test_the_cluster_variables_shown_are_the_scripts_own():
    shown = set(re.findall(r"`(CLUSTER_[A-Z_]+)`", PAGE))
    assert shown == {"CLUSTER_WORKERS", "CLUSTER_DASK_WORKERS", "CLUSTER_PORT"}
    assert all(f"${{{name}:-" in UP for name in shown)


def test_the_settings_table_lists_what_the_workers_get():
    exported = {name for name in re.findall(r"export (TRACER_[A-Z_]+)=", ENV_FILE)
                if not name.startswith("TRACER_CLUSTER_")}
    table = PAGE.split("## The settings of each part", 1)[1].split("The other parts", 1)[0]
    listed = set(re.findall(r"^\| `(TRACER_[A-Z_]+)`", table, re.MULTILINE))
    assert exported == listed
