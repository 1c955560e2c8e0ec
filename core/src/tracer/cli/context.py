"""The objects commands share in one process: settings, plugin host, model store."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from rich.console import Console

from tracer.settings import get_settings

if TYPE_CHECKING:
    from tracer.host import PluginHost
    from tracer.tracking import ModelStore

console = Console(highlight=False)


@lru_cache(maxsize=1)
def host() -> PluginHost:
    from tracer.host import PluginHost

    return PluginHost(get_settings())


@lru_cache(maxsize=1)
def migrated() -> PluginHost:
    """The host, with the platform DB (core and plugin trees) migrated: for commands that
    need the database but not MLflow (importing MLflow costs about a second)."""
    from tracer import db

    h = host()
    db.upgrade(h.settings, extra=h.migration_trees())
    return h


@lru_cache(maxsize=1)
def platform() -> tuple[PluginHost, ModelStore]:
    """Host plus a migrated platform DB and the MLflow store."""
    from tracer.tracking import ModelStore

    h = migrated()
    return h, ModelStore(h.settings)


def reset() -> None:
    host.cache_clear()
    migrated.cache_clear()
    platform.cache_clear()
