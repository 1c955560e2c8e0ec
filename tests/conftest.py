"""Shared fixtures: every test gets its own TRACER_HOME (SQLite DB, MLflow store, blobs).

Installed plugins never leak into core tests: ``bare_host`` loads no entry points; tests
that want the first-party plugins ask for ``host`` (entry points of this workspace).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture
def settings(tmp_path, monkeypatch):
    """Settings pointing every store at a fresh temp dir."""
    from tracer import settings as settings_module

    home = tmp_path / "tracer-home"
    monkeypatch.setenv("TRACER_HOME", str(home))
    monkeypatch.setenv("TRACER_TRAINING__BOOTSTRAP_SAMPLES", "100")
    for name in list(os.environ):
        if name.startswith("TRACER_") and name not in (
                "TRACER_HOME", "TRACER_TRAINING__BOOTSTRAP_SAMPLES", "TRACER_TEST_POSTGRES_URL"):
            monkeypatch.delenv(name)
    settings_module.reset_settings()
    from tracer.cli import context

    context.reset()
    s = settings_module.get_settings()
    s.ensure_home()
    yield s
    settings_module.reset_settings()
    context.reset()


@pytest.fixture
def db(settings):
    """A migrated platform database (core tables)."""
    from tracer import db as db_module

    db_module.upgrade(settings)
    return settings


@pytest.fixture
def bare_host(settings):
    """A host with only the built-in plugins: no entry points from this machine."""
    from tracer.host import PluginHost

    return PluginHost(settings, load_entrypoints=False)


@pytest.fixture
def host(settings):
    """A host that loads the installed entry points (the workspace's plugins)."""
    from tracer.host import PluginHost

    return PluginHost(settings)


@pytest.fixture
def store(db):
    """A real MLflow store (SQLite backend, local artifacts) in the temp home."""
    from tracer.tracking import ModelStore

    return ModelStore(db)
