"""Inside a runner: the plugin's entry points, its domains, and one handler per call.

Hooks are called the pluggy way: each implementation receives only the arguments it
names (``HookImpl.argnames``), so a spec can grow without breaking published plugins.
"""

from __future__ import annotations

import importlib
import importlib.metadata as md
import inspect
import json
import sys
from typing import Any

import numpy as np
import pandas as pd
import pluggy

from tracer import hookspecs
from tracer.domain import Domain, FeatureState, Prediction
from tracer.runner import protocol

DOMAIN_HOOKS = ("tracer_features", "tracer_train", "tracer_explain", "tracer_candidates")
PLATFORM_HOOKS = ("tracer_cli", "tracer_routes", "tracer_migrations", "tracer_demo")


def describe(domain: Domain) -> dict[str, Any]:
    """Everything the host needs to rebuild ``domain`` as data (no callables, no classes):
    the catalog description plus what only serving and training use."""
    return {**domain.describe(), "record_name": domain.record.__name__,
            "certification_threshold": float(domain.certification_threshold),
            "positive_label": _jsonable(domain.positive_label),
            "weight": domain.weight is not None, "extra_metrics": list(domain.extra_metrics),
            "train_params": json.loads(json.dumps(dict(domain.train_params), default=str)),
            "license": domain.license}


def _jsonable(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


class Serve:
    def __init__(self, guard: Any) -> None:  # tracer.runner.audit.Guard
        self.guard = guard
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.domains: dict[str, Domain] = {}
        self.owner: dict[str, str] = {}

    # -- start ---------------------------------------------------------------------------

    def load(self, start: dict[str, Any]) -> dict[str, Any]:
        sys.path[:0] = [p for p in start["paths"] if p not in sys.path]
        importlib.invalidate_caches()
        self.guard.phase = "import"
        plugins = []
        for ep in start["entry_points"]:
            record: dict[str, Any] = {"name": ep["name"], "status": "loaded", "error": None,
                                      "domains": [], "hooks": [], "ignored_hooks": []}
            plugins.append(record)
            where = ""
            try:
                entry = md.EntryPoint(ep["name"], ep["value"], "tracer")
                plugin = entry.load()
                module = sys.modules.get(entry.module)
                record["file"] = getattr(module, "__file__", None)
                record["signatures"] = _signatures(plugin)
                self.pm.register(plugin, name=ep["name"])
                record["hooks"] = sorted(h for h in DOMAIN_HOOKS if hasattr(plugin, h))
                record["ignored_hooks"] = sorted(h for h in PLATFORM_HOOKS
                                                 if hasattr(plugin, h))
                where = " in tracer_domains"
                impl = getattr(plugin, "tracer_domains", None)
                declared = list(impl() or []) if impl is not None else []
                for domain in declared:
                    if not isinstance(domain, Domain):
                        raise TypeError(f"tracer_domains returned {type(domain).__name__}, "
                                        "expected tracer.Domain")
                    if domain.name in self.domains:
                        raise ValueError(f"domain {domain.name!r} is declared twice")
                described = [describe(d) for d in declared]
            except BaseException as exc:  # noqa: BLE001 -- recorded against the plugin
                record.update(status="failed",
                              error=f"{type(exc).__name__}{where}: {exc}"[:2000])
                continue
            for domain, description in zip(declared, described, strict=True):
                self.domains[domain.name] = domain
                self.owner[domain.name] = ep["name"]
                record["domains"].append(description)
        self.guard.phase = "serve"
        return {"plugins": plugins, "pid_namespace": True}

    # -- calls ---------------------------------------------------------------------------

    def handle(self, header: dict[str, Any], buffers: list[Any], out: list[Any]) -> dict[str, Any]:
        op = header.get("op")
        if op == "ping":
            return {}
        if op == "report":
            return {"violations": list(self.guard.violations)}
        domain = self.domains[header["domain"]]
        self.guard.phase = f"{op}:{domain.name}"
        if op == "load_reference":
            frame = domain.load_reference()
            if not isinstance(frame, pd.DataFrame):
                raise TypeError(f"load_reference returned {type(frame).__name__}")
            return protocol.encode_frame(frame.reset_index(drop=True), out)
        if op in ("baseline", "weight"):
            records = protocol.decode_frame(header["records"], buffers)
            rule = domain.weight if op == "weight" else \
                domain.baseline.rule if domain.baseline is not None else None
            if rule is None:  # the host asks only for what the domain described
                raise ValueError(f"domain {domain.name} has no {op}")
            values = np.asarray(rule(records), dtype=np.float64)
            return {"values": protocol.encode_array(values, out)}
        if op == "hook":
            return self._hook(header, buffers, out, domain)
        raise ValueError(f"unknown op {op!r}")

    def _impl(self, plugin: str, hook: str) -> pluggy.HookImpl:
        caller: pluggy.HookCaller = getattr(self.pm.hook, hook)
        for impl in caller.get_hookimpls():
            if impl.plugin_name == plugin:
                return impl
        raise LookupError(f"plugin {plugin!r} does not implement {hook}")

    def _call(self, plugin: str, hook: str, **kwargs: Any) -> Any:
        impl = self._impl(plugin, hook)
        return impl.function(**{k: v for k, v in kwargs.items() if k in impl.argnames})

    def _hook(self, header: dict[str, Any], buffers: list[Any], out: list[Any],
              domain: Domain) -> dict[str, Any]:
        hook, plugin = header["hook"], header["plugin"]
        if hook == "tracer_features":
            records = protocol.decode_frame(header["records"], buffers)
            spec = header["state"]
            state = FeatureState(
                fitting=bool(spec["fitting"]), values=dict(spec["values"]),
                labels=_maybe_array(spec.get("labels"), buffers),
                weights=_maybe_array(spec.get("weights"), buffers))
            frame = self._call(plugin, hook, domain=domain, records=records, state=state)
            if frame is None:
                return {"none": True}
            if not isinstance(frame, pd.DataFrame):
                raise TypeError(f"tracer_features returned {type(frame).__name__}, "
                                "expected a pandas DataFrame")
            values = json.loads(json.dumps(state.values, default=_plain)) \
                if state.fitting else None  # only fitting may change what is stored
            return {**protocol.encode_frame(frame, out), "values": values}
        if hook == "tracer_train":
            features = protocol.decode_frame(header["features"], buffers)
            labels = protocol.decode_array(header["labels"], buffers)
            weights = _maybe_array(header.get("weights"), buffers)
            booster = self._call(plugin, hook, domain=domain, features=features,
                                 labels=labels, weights=weights, params=header["params"])
            if booster is None:
                return {"none": True}
            import xgboost as xgb

            if not isinstance(booster, xgb.Booster):
                raise TypeError(f"tracer_train returned {type(booster).__name__}, expected "
                                "an xgboost.Booster")
            out.append(bytes(booster.save_raw("ubj")))
            return {"booster": len(out) - 1}
        if hook == "tracer_explain":
            shared = FeatureState(False, dict(header.get("state") or {}))
            answers = []
            for p in header["predictions"]:
                prediction = Prediction(
                    record=p["record"], features=p["features"],
                    contributions=p["contributions"], bias=p["bias"],
                    probability=p["probability"], label=p["label"], threshold=p["threshold"],
                    base_rate=p["base_rate"], expected_cost=p["expected_cost"],
                    state=FeatureState(False, dict(p["state"])) if "state" in p else shared)
                explanation = self._call(plugin, hook, domain=domain, prediction=prediction)
                answers.append(None if explanation is None else {
                    "summary": explanation.summary,
                    "factors": [{"feature": f.feature, "value": _plain(f.value),
                                 "contribution": f.contribution, "direction": f.direction,
                                 "sentence": f.sentence} for f in explanation.factors]})
            return {"explanations": answers}
        if hook == "tracer_candidates":
            found = self._call(plugin, hook, domain=domain) or []
            return {"candidates": [c.as_dict() if hasattr(c, "as_dict") else dict(c)
                                   for c in found]}
        raise ValueError(f"hook {hook!r} does not run in a runner")


def _signatures(plugin: Any) -> dict[str, Any]:
    out = {}
    for name in dir(plugin):
        function = getattr(plugin, name, None)
        if not name.startswith("tracer_") or not callable(function):
            continue
        try:
            params = inspect.signature(function).parameters.values()
        except (TypeError, ValueError):
            out[name] = {"marked": False, "args": [], "varargs": True}
            continue
        out[name] = {"marked": hasattr(function, f"{hookspecs.PROJECT}_impl"),
                     "args": [p.name for p in params
                              if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)],
                     "varargs": any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
                                    for p in params)}
    return out


def _maybe_array(spec: dict[str, Any] | None, buffers: list[Any]) -> np.ndarray | None:
    return None if spec is None else protocol.decode_array(spec, buffers)


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)
