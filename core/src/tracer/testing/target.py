"""What the conformance suite runs against: one domain, its plugin alone on a fresh host.

An installed plugin is found through its entry point and loaded on a host that allows only
that entry point (nothing else installed on the machine joins in); an in-process plugin
(a module or an object) is registered on a host that loads no entry points at all. Every
store lives in a temp dir.
"""

from __future__ import annotations

import functools
import importlib
import os
import types
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tracer.testing.checks import ConformanceError

if TYPE_CHECKING:
    from pathlib import Path

    import pandas as pd

    from tracer.domain import Domain
    from tracer.host import PluginHost
    from tracer.lifecycle import TrainingResult
    from tracer.settings import Settings
    from tracer.tracking import ModelStore

#: each class keeps at least this many records of each outcome in its sample (if it has them)
MIN_PER_CLASS = 60


def isolated_settings(home: Path, allow: list[str] | None = None) -> Settings:
    """Settings with every store under ``home``; the environment cannot point them away."""
    from tracer.settings import Settings

    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("DO_NOT_TRACK", "true")
    # section fields as dicts: each is merged over the environment's, field by field
    sections: dict[str, Any] = {
        "mlflow": {"tracking_uri": None, "artifact_root": None},
        "plugins": {"dir": home / "plugins", "allow": allow, "block": []},
        "training": {"bootstrap_samples": 100}}
    return Settings(home=home, database_url=None, **sections)


def resolve_plugin(plugin: Any) -> Any:
    """A plugin given as a dotted module name is imported; objects pass through."""
    return importlib.import_module(plugin) if isinstance(plugin, str) else plugin


def plugin_domains(plugin: Any) -> list[str]:
    """Names of the domains an in-process plugin declares."""
    declare = getattr(resolve_plugin(plugin), "tracer_domains", None)
    if declare is None:
        raise ConformanceError(f"{plugin!r} has no tracer_domains hook")
    return [d.name for d in declare()]


@functools.cache
def installed_owners(scratch: Path) -> dict[str, tuple[str, str]]:
    """domain -> (entry point, module) for every installed plugin; cached per session."""
    from tracer.host import PluginHost

    host = PluginHost(isolated_settings(scratch))
    return {d: (host.owner(d), host.records[host.owner(d)].entry_point or "")
            for d in host.domains}


def installed_failures(scratch: Path) -> str:
    from tracer.host import PluginHost

    host = PluginHost(isolated_settings(scratch))
    return "; ".join(f"{r.name}: {r.error}" for r in host.failures) or "none"


@dataclass
class Conformance:
    """One domain under test: its fresh host, its sample, and (once asked) a trained model."""

    domain: Domain
    host: PluginHost
    plugin_name: str
    module_name: str
    attribute: str | None
    settings: Settings
    sample: pd.DataFrame
    _store: ModelStore | None = field(default=None, repr=False)
    _result: TrainingResult | None = field(default=None, repr=False)

    @property
    def store(self) -> ModelStore:
        if self._store is None:
            from tracer import db
            from tracer.tracking import ModelStore

            db.upgrade(self.settings, extra=self.host.migration_trees())
            self._store = ModelStore(self.settings)
        return self._store

    def train(self) -> TrainingResult:
        """Train once through the real lifecycle (validate, split, features, train,
        calibrate, evaluate, log to MLflow, register, promote) on the sample."""
        if self._result is None:
            from tracer import lifecycle

            self._result = lifecycle.train(self.host, self.store, self.domain.name,
                                           data=self.sample)
        return self._result

    def records_and_labels(self) -> tuple[pd.DataFrame, Any]:
        from tracer.records import validate_records

        return validate_records(self.domain, self.sample, require_label=True,
                                require_order=True)


def sample_of(domain: Domain, rows: int, seed: int = 0) -> pd.DataFrame:
    """Up to ``rows`` reference records in time order, each outcome kept at least
    ``MIN_PER_CLASS`` times so every part of the time-aware split sees both."""
    import numpy as np

    from tracer.records import validate_records

    frame = domain.load_reference().reset_index(drop=True)
    if len(frame) > rows:
        _, labels = validate_records(domain, frame, require_label=True)
        rng = np.random.default_rng(seed)
        by_class = [np.flatnonzero(labels == value) for value in (0, 1)]
        keep = [min(len(idx), max(MIN_PER_CLASS, round(rows * len(idx) / len(frame))))
                for idx in by_class]
        keep[int(np.argmax(keep))] = min(len(by_class[int(np.argmax(keep))]),
                                         rows - min(keep))
        chosen = np.concatenate([rng.choice(idx, n, replace=False)
                                 for idx, n in zip(by_class, keep, strict=True)])
        frame = frame.iloc[np.sort(chosen)]
    order = frame[domain.order_by]
    return frame.iloc[np.argsort(order.to_numpy(), kind="stable")].reset_index(drop=True)


def conformance_for(domain_name: str, home: Path, plugin: Any = None,
                    rows: int = 2000) -> Conformance:
    """Build the fresh host for ``domain_name`` (installed, or ``plugin`` in-process)."""
    from tracer.host import PluginHost

    if plugin is None:
        owners = installed_owners(home.parent / "tracer-conformance-scan")
        if domain_name not in owners:
            known = ", ".join(sorted(owners)) or "none"
            failed = installed_failures(home.parent / "tracer-conformance-scan")
            raise ConformanceError(
                f"no installed plugin provides domain {domain_name!r} (installed domains: "
                f"{known}; plugins that failed to load: {failed}). Install the plugin "
                "(uv pip install -e .) or pass plugin= to the suite")
        entry_point, target = owners[domain_name]
        settings = isolated_settings(home, allow=[entry_point])
        host = PluginHost(settings)
        name = entry_point
        module_name, _, attribute = target.partition(":")
    else:
        plugin = resolve_plugin(plugin)
        settings = isolated_settings(home)
        host = PluginHost(settings, load_entrypoints=False)
        if isinstance(plugin, types.ModuleType):
            name, module_name, attribute = plugin.__name__, plugin.__name__, ""
        else:
            name = f"{type(plugin).__module__}.{type(plugin).__qualname__}"
            module_name = type(plugin).__module__
            attribute = _attribute_holding(module_name, plugin)
        host.register(plugin, name=name)
    record = host.records.get(name)
    if record is None or record.status != "loaded":
        raise ConformanceError(f"plugin {name!r} did not load: "
                               f"{record.error if record else 'not registered'}")
    if domain_name not in host.domains:
        raise ConformanceError(f"plugin {name!r} does not declare domain {domain_name!r} "
                               f"(it declares {', '.join(record.domains) or 'none'})")
    domain = host.domain(domain_name)
    return Conformance(domain=domain, host=host, plugin_name=name, module_name=module_name,
                       attribute=attribute or None, settings=settings,
                       sample=sample_of(domain, rows))


def _attribute_holding(module_name: str, plugin: object) -> str:
    """The module-level name bound to ``plugin``, so a subprocess can find it too."""
    module = importlib.import_module(module_name)
    for attribute, value in vars(module).items():
        if value is plugin:
            return attribute
    return ""
