"""The plugin host: loads plugins, isolates their failures, calls hooks per domain.

Trust levels: the built-ins and first-party distributions installed in the platform's own
environment (``settings.plugins.first_party`` and those they vouch for) are imported here. Every
other plugin — the plugin dir's wheels, anything else on the import path — is never
imported by a host process: a confined runner loads it (``tracer.runner``) and the host
registers a proxy. Loading, registering and failing plugins is ``tracer.plugin_loading``;
revocation (``tracer.revocation``) reaches running hosts. Both are mixed into the host.

Hooks are called per domain: the plugin that declared a domain, plus add-on plugins that
declare none, see the call; other domain owners never do, so an implementation never has
to ask "is this my domain?". Calls go implementation by implementation (in pluggy's
order: ``tryfirst`` first, ``trylast`` last, later registrations before earlier ones) so
an exception is pinned on the plugin that raised it, and each implementation receives only
the arguments it declares (``HookImpl.argnames``), so a spec can grow without breaking
published plugins.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

import pluggy
from packaging.utils import canonicalize_name

from tracer import __version__, hookspecs
from tracer.domain import Domain
from tracer.errors import PluginError, PluginRevokedError, UnknownDomainError
from tracer.plugin_loading import (
    ENTRY_POINT_GROUP,
    FIRST_PARTY_GROUP,
    PluginLoading,
    check_compatible,
)
from tracer.plugin_record import PluginRecord
from tracer.revocation import KILL_LIST as _KILL_LIST
from tracer.revocation import Revocation
from tracer.settings import Settings, get_settings

if TYPE_CHECKING:
    from collections.abc import Iterable

    from tracer.hookspecs import MigrationTree

__all__ = ["DEFAULT_PLUGINS", "ENTRY_POINT_GROUP", "FIRST_PARTY_GROUP", "KILL_LIST",
           "PluginHost", "PluginRecord", "check_compatible"]

log = logging.getLogger(__name__)

#: in ``settings.plugins_path``: distributions a registry revoked or quarantined, with reasons
KILL_LIST = _KILL_LIST
#: Built-in behaviour, registered like any plugin (``trylast``), as Datasette does.
DEFAULT_PLUGINS = ("tracer.builtin.trainer", "tracer.builtin.explainer")


class PluginHost(PluginLoading, Revocation):
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
    # a batch form of the implementation, kept on the wrapper (read by explain_all)
    call.many = getattr(function, "many", None)  # type: ignore[attr-defined]
    return call
