"""The plugin host: loads plugins, isolates their failures, calls hooks per domain.

Trust levels: the built-ins and first-party distributions installed in the platform's own
environment (``settings.first_party`` and those they vouch for) are imported here. Every
other plugin — the plugin dir's wheels, anything else on the import path — is never
imported by a host process: a confined runner loads it (``tracer.runner``) and the host
registers a proxy. Revocation (``tracer.revocation``) reaches running hosts.

A plugin that fails to import, declares a ``tracer`` range this platform is outside of,
implements a hook the contract does not have (``tracer_featurs``: pluggy's
``check_pending``, with a "did you mean"), returns bad domains, or raises inside a platform
hook is recorded (entry point, distribution, version, error), unregistered, and the host
keeps serving everything else.

Hooks are called per domain: the plugin that declared a domain, plus add-on plugins that
declare none, see the call; other domain owners never do, so an implementation never has
to ask "is this my domain?". Calls go implementation by implementation (in pluggy's
order: ``tryfirst`` first, ``trylast`` last, later registrations before earlier ones) so
an exception is pinned on the plugin that raised it, and each implementation receives only
the arguments it declares (``HookImpl.argnames``), so a spec can grow without breaking
published plugins.
"""

from __future__ import annotations

import difflib
import importlib.metadata as md
import logging
import os
import threading
import traceback
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pluggy
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tracer import __version__, hookspecs
from tracer.domain import Domain
from tracer.errors import (
    IncompatiblePluginError,
    PluginError,
    PluginRevokedError,
    UnknownDomainError,
)
from tracer.revocation import KILL_LIST as _KILL_LIST
from tracer.revocation import Revocation
from tracer.settings import Settings, get_settings

if TYPE_CHECKING:
    from collections.abc import Iterable

    from tracer.hookspecs import MigrationTree

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "tracer"
#: in a trusted distribution: the other distributions it vouches for as first-party
FIRST_PARTY_GROUP = "tracer.first_party"
#: in ``settings.plugins_path``: distributions a registry revoked or quarantined, with reasons
KILL_LIST = _KILL_LIST
#: Built-in behaviour, registered like any plugin (``trylast``), as Datasette does.
DEFAULT_PLUGINS = ("tracer.builtin.trainer", "tracer.builtin.explainer")


@dataclass
class PluginRecord:
    """What the host knows about one plugin, loaded or not."""

    name: str
    distribution: str | None = None
    version: str | None = None
    entry_point: str | None = None
    status: str = "loaded"  # loaded | failed | skipped
    error: str | None = None
    domains: list[str] = field(default_factory=list)
    builtin: bool = False
    #: builtin | first-party (in-process) | third-party (confined runner) | embedded
    trust: str = "embedded"
    #: hooks a third-party plugin implements that runners cannot serve (cli, routes, ...)
    ignored_hooks: list[str] = field(default_factory=list)
    #: third-party only, as its runner saw them: where the module lives, and every
    #: ``tracer_*`` attribute with its argument names (known hooks or not)
    origin: str | None = None
    hook_signatures: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class PluginHost(Revocation):
    """Owns the pluggy manager and the registry of domains."""

    def __init__(self, settings: Settings | None = None, *, load_entrypoints: bool = True,
                 plugins: Iterable[tuple[str, object]] = (), environment: bool = True) -> None:
        self.settings = settings or get_settings()
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.records: dict[str, PluginRecord] = {}
        self.domains: dict[str, Domain] = {}
        self._owner: dict[str, str] = {}  # domain name -> plugin name
        self._callers: dict[tuple[str, str], list[tuple[str, Any]]] = {}
        #: domain -> why it stopped serving (its plugin was revoked or quarantined)
        self.revoked: dict[str, str] = {}
        self._pool: Any = None  # tracer.runner.pool.Pool, made on first third-party plugin
        self._kill_stamp: tuple[int, int, int] | None = None
        self._kill_lock = threading.Lock()
        self._watch_stop: threading.Event | None = None
        for module_name in DEFAULT_PLUGINS:
            module = __import__(module_name, fromlist=["_"])
            self._register(module_name, module, PluginRecord(name=module_name, builtin=True,
                                                             distribution="tracer",
                                                             version=__version__,
                                                             trust="builtin"))
        if load_entrypoints:
            self.load_entrypoints(environment=environment)
        for name, plugin in plugins:
            self.register(plugin, name=name)

    # -- loading -------------------------------------------------------------------------

    def load_entrypoints(self, *, environment: bool = True) -> None:
        """Load every plugin the environment and the plugin dir declare.

        First-party distributions installed in the platform's own environment are imported
        here; every other plugin — anything in the plugin dir, anything not named in
        ``settings.first_party`` — is loaded by a confined runner and registered as a
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
        """Distributions trusted in-process: ``settings.first_party`` and those they name
        in ``tracer.first_party`` entry points (looked up in the platform's environment
        only: the plugin dir is never on the import path)."""
        names: set[str] = {canonicalize_name(n) for n in self.settings.first_party}
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
            return "not in TRACER_PLUGINS_ALLOW"
        blocked = self.settings.plugins_block
        if record.name in blocked or record.distribution in blocked:
            return "blocked (TRACER_PLUGINS_BLOCK)"
        return self._killed(record, kills)

    def _in_plugin_dir(self, dist: md.Distribution | None) -> bool:
        located = getattr(dist, "_path", None)
        return located is not None and os.path.realpath(located).startswith(
            str(self.settings.plugins_path) + os.sep)

    def _load_remote(self, dist: md.Distribution | None,
                     entries: list[tuple[md.EntryPoint, PluginRecord]], *,
                     from_plugin_dir: bool) -> None:
        from tracer.runner.loading import load_remote

        load_remote(self, dist, entries, from_plugin_dir=from_plugin_dir)

    @property
    def pool(self) -> Any:
        if self._pool is None:
            from tracer.runner.pool import Pool

            self._pool = Pool(self.settings)
        return self._pool

    def close(self) -> None:
        """Stop the kill-list watcher and every runner this host started."""
        if self._watch_stop is not None:
            self._watch_stop.set()
        if self._pool is not None:
            self._pool.kill()

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
        allow = self.settings.plugins_allow
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

    # -- queries -------------------------------------------------------------------------

    def domain(self, name: str) -> Domain:
        try:
            return self.domains[name]
        except KeyError:
            if name in self.revoked:
                raise PluginRevokedError(f"domain {name!r} is no longer served: its plugin "
                                         f"was {self.revoked[name]}", domain=name) from None
            known = ", ".join(sorted(self.domains)) or "none"
            raise UnknownDomainError(f"unknown domain {name!r} (loaded domains: {known})",
                                     domain=name) from None

    def owner(self, domain: Domain | str) -> str:
        name = domain.name if isinstance(domain, Domain) else domain
        return self._owner[name]

    def plugin_states(self) -> list[dict[str, Any]]:
        """Every plugin record with its trust level and live runners, for people and APIs."""
        out = []
        for record in sorted(self.records.values(), key=lambda r: (r.builtin, r.name)):
            live = record.trust == "third-party" and record.distribution and self._pool
            out.append({**record.as_dict(), "runners": self._pool.states(
                canonicalize_name(record.distribution or "")) if live else []})
        return out

    @property
    def failures(self) -> list[PluginRecord]:
        return [r for r in self.records.values() if r.status == "failed"]

    # -- per-domain hook calls -----------------------------------------------------------

    def _impls(self, hook: str, domain: Domain) -> list[tuple[str, Any]]:
        """Implementations of ``hook`` that see ``domain``, in call order."""
        key = (hook, domain.name)
        if key not in self._callers:
            others = {owner for d, owner in self._owner.items() if d != domain.name}
            impls = getattr(self.pm.hook, hook).get_hookimpls()
            # pluggy's rule: an implementation receives only the arguments it names, so a
            # spec can grow without breaking published plugins
            self._callers[key] = [(i.plugin_name, _bind(i)) for i in reversed(impls)
                                  if i.plugin_name not in others]
        return self._callers[key]

    def call(self, hook: str, domain: Domain, **kwargs: Any) -> list[Any]:
        """Call every implementation that sees ``domain``; return non-None results."""
        self._serving(domain)
        results = []
        for plugin_name, function in self._impls(hook, domain):
            result = self._invoke(plugin_name, hook, function, domain, kwargs)
            if result is not None:
                results.append((plugin_name, result))
        return results

    def call_first(self, hook: str, domain: Domain, **kwargs: Any) -> Any:
        """Call implementations in order until one returns something (firstresult)."""
        self._serving(domain)
        for plugin_name, function in self._impls(hook, domain):
            result = self._invoke(plugin_name, hook, function, domain, kwargs)
            if result is not None:
                return result
        raise PluginError(f"no plugin answered {hook} for domain {domain.name}",
                          domain=domain.name, hook=hook)

    def explain_all(self, domain: Domain, predictions: list[Any]) -> list[Any]:
        """``tracer_explain`` for many predictions, firstresult per prediction; an
        implementation with a batch form (a runner's proxy) answers them in one call."""
        self._serving(domain)
        out: list[Any] = [None] * len(predictions)
        pending = list(range(len(predictions)))
        for plugin_name, function in self._impls("tracer_explain", domain):
            if not pending:
                break
            many = getattr(function, "many", None)
            if many is not None:
                try:
                    answers = many(domain, [predictions[i] for i in pending])
                except PluginRevokedError:
                    raise
                except Exception as exc:
                    raise PluginError(
                        f"plugin {plugin_name!r} raised {type(exc).__name__} in tracer_explain "
                        f"for domain {domain.name}: {exc}", plugin=plugin_name,
                        hook="tracer_explain", domain=domain.name) from exc
            else:
                answers = [self._invoke(plugin_name, "tracer_explain", function, domain,
                                        {"prediction": predictions[i]}) for i in pending]
            for i, answer in zip(list(pending), answers, strict=True):
                out[i] = answer
            pending = [i for i in pending if out[i] is None]
        if pending:
            raise PluginError(f"no plugin answered tracer_explain for domain {domain.name}",
                              domain=domain.name, hook="tracer_explain")
        return out

    def implementers(self, hook: str, domain: Domain) -> list[str]:
        """The plugins whose ``hook`` sees ``domain``, in call order."""
        return [name for name, _ in self._impls(hook, domain)]

    def confined(self, domain: Domain) -> bool:
        """Whether scoring ``domain`` calls into a confined runner (third-party code): such
        calls wait on another process and must not hold up an event loop."""
        return any(getattr(self.records.get(name), "trust", None) == "third-party"
                   for hook in ("tracer_features", "tracer_explain")
                   for name, _ in self._impls(hook, domain))

    def _serving(self, domain: Domain) -> None:
        if domain.name in self.revoked:
            raise PluginRevokedError(f"domain {domain.name!r} is no longer served: its plugin "
                                     f"was {self.revoked[domain.name]}", domain=domain.name)

    def _invoke(self, plugin_name: str, hook: str, function: Any, domain: Domain,
                kwargs: dict[str, Any]) -> Any:
        try:
            return function(domain=domain, **kwargs)
        except PluginRevokedError:
            raise
        except Exception as exc:
            record = self.records.get(plugin_name)
            if record is not None and not record.builtin:
                record.error = f"{type(exc).__name__} in {hook}: {exc}"
            raise PluginError(
                f"plugin {plugin_name!r} raised {type(exc).__name__} in {hook} for domain "
                f"{domain.name}: {exc}", plugin=plugin_name, hook=hook,
                domain=domain.name) from exc

    def migration_trees(self) -> list[MigrationTree]:
        """Every plugin's Alembic trees (``tracer_migrations``), flattened for ``db.upgrade``."""
        return [tree for trees in self.broadcast("tracer_migrations") for tree in trees]

    def broadcast(self, hook: str, **kwargs: Any) -> list[Any]:
        """Call a platform hook (cli, routes, migrations, usage) on every plugin, isolated."""
        results = []
        for impl in reversed(getattr(self.pm.hook, hook).get_hookimpls()):
            try:
                result = _bind(impl)(**kwargs)
            except Exception as exc:  # noqa: BLE001
                record = self.records.get(impl.plugin_name)
                if record is not None:
                    self._fail(record, exc, hook=hook)
                continue
            if result is not None:
                results.append(result)
        return results


def _bind(impl: Any) -> Any:
    names = set(impl.argnames)
    function = impl.function

    def call(**kwargs: Any) -> Any:
        return function(**{k: v for k, v in kwargs.items() if k in names})
    call.many = getattr(function, "many", None)  # type: ignore[attr-defined]
    return call


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
