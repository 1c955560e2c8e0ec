"""How the host takes plugins in and lets failed ones go (mixed into ``PluginHost``).

First-party distributions installed in the platform's own environment are imported here;
every other plugin is loaded by a confined runner (``tracer.runner.loading``) and registered
as a proxy. A plugin that fails to import, declares a ``tracer`` range this platform is
outside of, implements a hook the contract does not have (pluggy's ``check_pending``, with
a "did you mean"), or returns bad domains is recorded and unregistered; the host keeps
serving everything else.
"""

from __future__ import annotations

import difflib
import importlib.metadata as md
import logging
import os
import traceback
from typing import TYPE_CHECKING, Any, cast

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tracer import __version__
from tracer.domain import Domain
from tracer.errors import IncompatiblePluginError, PluginError
from tracer.plugin_record import PluginRecord

if TYPE_CHECKING:
    from collections.abc import Callable

    import pluggy

    from tracer.host import PluginHost
    from tracer.settings import Settings

log = logging.getLogger("tracer.host")

ENTRY_POINT_GROUP = "tracer"
#: in a trusted distribution: the other distributions it vouches for as first-party
FIRST_PARTY_GROUP = "tracer.first_party"


class PluginLoading:
    """Mixed into ``PluginHost``: loading, registering and dropping plugins."""

    settings: Settings
    pm: pluggy.PluginManager
    records: dict[str, PluginRecord]
    domains: dict[str, Domain]
    revoked: dict[str, str]
    _owner: dict[str, str]
    _callers: dict[tuple[str, str], list[tuple[str, Any]]]
    _pool: Any
    _kill_stamp: tuple[int, int, int] | None
    # tracer.revocation.Revocation, the other mixin
    _stamp: Callable[[], tuple[int, int, int] | None]
    kill_list: Callable[[], dict[str, str]]
    _killed: Callable[..., str | None]  # (record, kills=None)

    def load_entrypoints(self, *, environment: bool = True) -> None:
        """Load every plugin the environment and the plugin dir declare.

        First-party distributions installed in the platform's own environment are imported
        here; every other plugin — anything in the plugin dir, anything not named in
        ``settings.plugins.first_party`` — is loaded by a confined runner and registered as a
        proxy. The plugin dir is never put on this process's import path.
        ``environment=False`` loads the plugin dir alone (certification of one wheel).
        """
        self._kill_stamp = self._stamp()
        kills = self.kill_list()
        remote: dict[str, tuple[md.Distribution | None,
                                list[tuple[md.EntryPoint, PluginRecord]]]] = {}
        first_party = self.first_party()
        sources = [(ep, False) for ep in md.entry_points(group=ENTRY_POINT_GROUP)] \
            if environment else []
        if self.settings.plugins_path.is_dir():
            for located in md.distributions(path=[str(self.settings.plugins_path)]):
                sources += [(ep, True) for ep in located.entry_points
                            if ep.group == ENTRY_POINT_GROUP]
        for ep, from_plugin_dir in sources:
            dist: md.Distribution | None = ep.dist
            record = PluginRecord(name=ep.name, entry_point=ep.value,
                                  distribution=dist.metadata["Name"] if dist else None,
                                  version=dist.version if dist else None)
            in_process = not from_plugin_dir and record.distribution is not None \
                and canonicalize_name(record.distribution) in first_party
            record.trust = "first-party" if in_process else "third-party"
            if (why := self._skip_reason(record, kills)) is not None:
                record.status, record.error = "skipped", why
                self.records[ep.name] = record
                continue
            try:
                if dist is not None:
                    check_compatible(dist)
                if not in_process:
                    key = canonicalize_name(record.distribution or ep.name)
                    remote.setdefault(key, (dist, []))[1].append((ep, record))
                    continue
                plugin = ep.load()
            except Exception as exc:  # noqa: BLE001 -- any import failure is the plugin's
                self.records[ep.name] = record
                self._fail(record, exc)
                continue
            self._register(ep.name, plugin, record)
        for dist, entries in remote.values():
            self._load_remote(dist, entries, from_plugin_dir=self._in_plugin_dir(dist))

    def first_party(self) -> set[str]:
        """Distributions trusted in-process: ``settings.plugins.first_party`` and those they name
        in ``tracer.first_party`` entry points (looked up in the platform's environment
        only: the plugin dir is never on the import path)."""
        names: set[str] = {canonicalize_name(n) for n in self.settings.plugins.first_party}
        for name in sorted(names):
            try:
                dist = md.distribution(name)
            except md.PackageNotFoundError:
                continue
            names |= {canonicalize_name(ep.name) for ep in dist.entry_points
                      if ep.group == FIRST_PARTY_GROUP}
        return names

    def _skip_reason(self, record: PluginRecord, kills: dict[str, str]) -> str | None:
        if not self._allowed(record):
            return "not in TRACER_PLUGINS__ALLOW"
        blocked = self.settings.plugins.block
        if record.name in blocked or record.distribution in blocked:
            return "blocked (TRACER_PLUGINS__BLOCK)"
        return self._killed(record, kills)

    def _in_plugin_dir(self, dist: md.Distribution | None) -> bool:
        located = getattr(dist, "_path", None)
        return located is not None and os.path.realpath(located).startswith(
            str(self.settings.plugins_path) + os.sep)

    def _load_remote(self, dist: md.Distribution | None,
                     entries: list[tuple[md.EntryPoint, PluginRecord]], *,
                     from_plugin_dir: bool) -> None:
        from tracer.runner.loading import load_remote

        load_remote(cast("PluginHost", self), dist, entries, from_plugin_dir=from_plugin_dir)

    def register(self, plugin: object, name: str | None = None) -> PluginRecord:
        """Register an in-process plugin (tests, the conformance kit, embedding apps)."""
        name = name or getattr(plugin, "__name__", None) or type(plugin).__name__
        module = getattr(plugin, "__name__", "") or ""
        record = PluginRecord(name=name, entry_point=module or None)
        self._register(name, plugin, record)
        return record

    def unregister(self, name: str) -> None:
        self._drop(name)
        self.records.pop(name, None)

    def _drop(self, name: str) -> None:
        """Take a plugin out of the manager, its runner and the domain registry (its record
        stays with whoever calls this)."""
        plugin = self.pm.get_plugin(name)
        if plugin is not None:
            self.pm.unregister(plugin, name=name)
        record = self.records.get(name)
        if record is not None and record.trust == "third-party" and self._pool is not None \
                and record.distribution and not any(
                    r.distribution == record.distribution and r.name != name
                    and r.status == "loaded" for r in self.records.values()):
            self._pool.kill(canonicalize_name(record.distribution))
        for domain_name in [d for d, owner in self._owner.items() if owner == name]:
            del self.domains[domain_name]
            del self._owner[domain_name]
        if record is not None:
            record.domains = []
        self._callers.clear()

    def _allowed(self, record: PluginRecord) -> bool:
        allow = self.settings.plugins.allow
        return allow is None or record.name in allow or record.distribution in allow

    def _register(self, name: str, plugin: object, record: PluginRecord) -> None:
        self.records[name] = record
        try:
            self.pm.register(plugin, name=name)
            self._check_pending(name, plugin, record)
        except Exception as exc:  # noqa: BLE001 -- pluggy validation errors name the hook
            self._fail(record, exc)
            return
        self._callers.clear()
        impl = getattr(plugin, "tracer_domains", None)
        if impl is None:
            return
        try:
            declared = list(impl() or [])
            for domain in declared:
                if not isinstance(domain, Domain):
                    raise PluginError(f"tracer_domains returned {type(domain).__name__}, "
                                      "expected tracer.Domain")
                if domain.name in self.domains:
                    raise PluginError(f"domain {domain.name!r} is already provided by "
                                      f"plugin {self._owner[domain.name]!r}")
        except Exception as exc:  # noqa: BLE001
            self._fail(record, exc, hook="tracer_domains")
            return
        for domain in declared:
            self.domains[domain.name] = domain
            self._owner[domain.name] = name
            self.revoked.pop(domain.name, None)
            record.domains.append(domain.name)

    def _check_pending(self, name: str, plugin: object, record: PluginRecord) -> None:
        """pluggy's ``check_pending`` for one plugin: a ``@hookimpl`` the contract has no
        spec for is a typo or a hook from another Tracer version, never silently ignored."""
        specs = sorted(n for n in dir(self.pm.hook) if n.startswith("tracer_")
                       and getattr(self.pm.hook, n).has_spec())
        unknown = sorted({caller.name for caller in self.pm.get_hookcallers(plugin) or []
                          if not caller.has_spec() and any(
                              i.plugin is plugin and not i.optionalhook
                              for i in caller.get_hookimpls())})
        # a runner's plugin is a proxy of the known hooks: its runner reports the rest
        unknown += sorted(h for h, sig in record.hook_signatures.items()
                          if sig.get("marked") and h not in specs and h not in unknown)
        if unknown:
            hook = unknown[0]
            close = difflib.get_close_matches(hook, specs, n=1)
            hint = f"; did you mean {close[0]}?" if close else " (see docs/hooks.md)"
            raise PluginError(f"plugin {name!r} implements {hook}, which is not a Tracer "
                              f"hook{hint}", plugin=name, hook=hook)

    def _fail(self, record: PluginRecord, exc: BaseException, hook: str | None = None) -> None:
        """Record why a plugin failed and unregister it: none of its hooks run again."""
        name = next((n for n, r in self.records.items() if r is record), None)
        if name is not None and record.status == "loaded":
            self._drop(name)
        record.status = "failed"
        where = f" in {hook}" if hook else ""
        record.error = f"{type(exc).__name__}{where}: {exc}"
        log.warning("plugin %s (%s %s) failed%s: %s", record.name, record.distribution,
                    record.version, where, exc)
        log.debug("".join(traceback.format_exception(exc)))


def check_compatible(dist: md.Distribution) -> None:
    """Refuse a distribution whose ``tracer`` requirement excludes this platform."""
    for line in dist.requires or []:
        try:
            req = Requirement(line)
        except InvalidRequirement:
            continue
        if req.name.lower() != "tracer" or (req.marker and not req.marker.evaluate({"extra": ""})):
            continue
        if not req.specifier.contains(Version(__version__), prereleases=True):
            raise IncompatiblePluginError(
                f"{dist.metadata['Name']} {dist.version} requires tracer{req.specifier}, "
                f"this platform is tracer {__version__}")
