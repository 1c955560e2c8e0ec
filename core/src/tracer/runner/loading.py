"""Loading a third-party distribution into a host: through a runner, never by import."""

from __future__ import annotations

import logging
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from packaging.utils import canonicalize_name

from tracer.errors import PluginError
from tracer.runner.pool import PLATFORM_TENANT, RunnerSpec
from tracer.runner.remote import Channel, remote_plugin

if TYPE_CHECKING:
    import importlib.metadata as md

    from tracer.host import PluginHost, PluginRecord

log = logging.getLogger("tracer.host")


def _own_files(host: PluginHost, dist: md.Distribution) -> tuple[tuple[Path, str], ...]:
    """The plugin dir's top-level entries that belong to ``dist`` (from its RECORD)."""
    root = host.settings.plugins_path
    tops: set[str] = set()
    for file in dist.files or []:
        parts = PurePosixPath(str(file)).parts
        if parts and parts[0] not in ("..", "/") and not parts[0].startswith("."):
            tops.add(parts[0])
    out = []
    for top in sorted(tops):
        path = (root / top).resolve()
        if path.exists() and path.is_relative_to(root):
            out.append((path, top))
    return tuple(out)


def spec_for(host: PluginHost, dist: md.Distribution | None,
             entries: list[tuple[md.EntryPoint, PluginRecord]], *,
             from_plugin_dir: bool) -> RunnerSpec:
    name = entries[0][1].distribution or entries[0][0].name
    files = _own_files(host, dist) if (from_plugin_dir and dist is not None) else ()
    return RunnerSpec(distribution=canonicalize_name(name),
                      version=dist.version if dist is not None else None,
                      entry_points=tuple((ep.name, ep.value) for ep, _ in entries),
                      files=files)


def load_remote(host: PluginHost, dist: md.Distribution | None,
                entries: list[tuple[md.EntryPoint, PluginRecord]], *,
                from_plugin_dir: bool) -> None:
    records = [record for _, record in entries]

    def gate() -> None:
        for record in records:
            host.gate(record)

    spec = spec_for(host, dist, entries, from_plugin_dir=from_plugin_dir)
    channel = Channel(host.settings, host.pool, spec, gate)
    try:
        ready: dict[str, Any] = host.pool.get(spec, PLATFORM_TENANT).ready
    except PluginError as exc:
        for ep, record in entries:
            host.records[ep.name] = record
            host._fail(record, exc)
        return
    answered = {p["name"]: p for p in ready.get("plugins", [])}
    for ep, record in entries:
        found = answered.get(ep.name)
        record.ignored_hooks = list((found or {}).get("ignored_hooks") or [])
        record.origin = (found or {}).get("file")
        record.hook_signatures = dict((found or {}).get("signatures") or {})
        if found is None or found["status"] != "loaded":
            host.records[ep.name] = record
            record.status = "failed"
            record.error = (found or {}).get("error") or "the runner did not load it"
            log.warning("plugin %s (%s, in its runner) failed: %s", ep.name,
                        record.distribution, record.error)
            continue
        try:
            plugin = remote_plugin(channel, found)
        except PluginError as exc:
            host.records[ep.name] = record
            host._fail(record, exc, hook="tracer_domains")
            continue
        host._register(ep.name, plugin, record)
