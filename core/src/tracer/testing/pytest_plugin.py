"""Tracer's pytest plugin (pytest11 entry point ``tracer``): fixtures for plugin tests.

Loaded into every pytest run where ``tracer`` is installed, so it imports nothing heavy
and creates nothing until a test asks for a fixture. No fixture here loads the plugins
installed on the machine: ``tracer_host`` has only the built-in ones, and a test adds
its own with ``tracer_register``, which removes them again afterwards.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from tracer.host import PluginHost, PluginRecord
    from tracer.settings import Settings
    from tracer.tracking import ModelStore


def pytest_configure(config: pytest.Config) -> None:
    # the conformance suite groups each domain's tests on one xdist worker; declare the
    # marker so runs without pytest-xdist under --strict-markers accept it
    config.addinivalue_line("markers", "xdist_group(name): run these tests on one worker")


@pytest.fixture
def tracer_settings(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """Settings with every store (database, MLflow, blobs) in a fresh temp dir.

    The process-wide settings and the CLI's cached host point there too for the test.
    """
    from tracer.cli import context
    from tracer.settings import get_settings, reset_settings

    for name in list(os.environ):
        if name.startswith("TRACER_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("TRACER_HOME", str(tmp_path / "tracer-home"))
    monkeypatch.setenv("TRACER_TRAINING__BOOTSTRAP_SAMPLES", "100")
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    reset_settings()
    context.reset()
    settings = get_settings()
    settings.ensure_home()
    yield settings
    reset_settings()
    context.reset()


@pytest.fixture
def tracer_host(tracer_settings: Settings) -> PluginHost:
    """A fresh host with only Tracer's built-in plugins (no installed entry points)."""
    from tracer.host import PluginHost

    return PluginHost(tracer_settings, load_entrypoints=False)


@pytest.fixture
def tracer_register(tracer_host: PluginHost) -> Iterator[Callable[..., PluginRecord]]:
    """``tracer_register(plugin, name=None)`` registers an in-test plugin on ``tracer_host``
    and fails the test with the host's reason if it does not load; it is removed after
    the test."""
    from tracer.errors import PluginError

    names: list[str] = []

    def register(plugin: object, name: str | None = None) -> PluginRecord:
        if isinstance(plugin, type):
            raise PluginError(f"register an instance, not the class {plugin.__name__}: "
                              f"have you forgotten the `()` after {plugin.__name__}?")
        record = tracer_host.register(plugin, name=name)
        names.append(record.name)
        if record.status != "loaded":
            pytest.fail(f"plugin {record.name!r} did not load: {record.error}", pytrace=False)
        return record

    yield register
    for name in reversed(names):
        tracer_host.unregister(name)


@pytest.fixture
def tracer_store(tracer_host: PluginHost) -> ModelStore:
    """A migrated platform database and a real MLflow store in ``tracer_settings``' home."""
    from tracer import db
    from tracer.tracking import ModelStore

    db.upgrade(tracer_host.settings)
    return ModelStore(tracer_host.settings)
