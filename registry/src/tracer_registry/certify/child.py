"""The sandbox child: the only place plugin code ever runs during certification.

Started by ``sandbox.run_in_sandbox`` as ``python -I -m tracer_registry.certify.child`` with
a JSON job on stdin. It imports the platform's own libraries first, installs the audit
hook (``guard.Guard``), then imports the plugin from the extracted wheel and exercises it:
conformance, training twice through the real lifecycle on a temp MLflow store, additivity
of explanations, one-record latency. The findings go back as one JSON document on the
original stdout; everything the plugin prints goes to stderr.
"""

from __future__ import annotations

import importlib
import json
import math
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any


def _error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]


def main() -> int:
    job = json.loads(sys.stdin.read())
    result_fd = os.dup(1)
    os.dup2(2, 1)  # plugin output must not mix with the result document
    sys.stdout = sys.stderr
    out: dict[str, Any] = {"phases": {}, "domains": {}, "entry_points": {}}
    guard = None
    try:
        guard = _prepare(job)
        _run(job, guard, out)
    except BaseException as exc:  # noqa: BLE001 -- report whatever stopped the child
        out["fatal"] = _error(exc)
        out["traceback"] = traceback.format_exc()[-2000:]
    if guard is not None:
        out["violations"] = guard.violations
    with os.fdopen(result_fd, "w") as result:
        result.write(json.dumps(out, default=str, allow_nan=True))
    return 0


def _prepare(job: dict[str, Any]):
    # The platform's own heavy libraries load before the guard: they are not under test.
    # MLflow asks git (a subprocess) for the source version when GitPython is importable;
    # the sandbox has no source tree, so make it look absent.
    sys.modules["git"] = None  # type: ignore[assignment]
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot  # noqa: F401
    import mlflow  # noqa: F401
    import mlflow.xgboost  # noqa: F401
    import numpy  # noqa: F401
    import pandas  # noqa: F401
    import sklearn.linear_model  # noqa: F401
    import tracer.lifecycle  # noqa: F401
    import tracer.predict  # noqa: F401
    import tracer.testing.checks  # noqa: F401
    import tracer.testing.target  # noqa: F401
    import xgboost  # noqa: F401
    from mlflow.models import infer_signature  # noqa: F401

    from tracer_registry.certify.guard import Guard

    sys.dont_write_bytecode = True
    guard = Guard(allowed_roots=[Path(job["root"])], plugin_roots=[Path(job["site"])])
    guard.install()
    return guard


def _run(job: dict[str, Any], guard, out: dict[str, Any]) -> None:
    from tracer import db
    from tracer.host import PluginHost
    from tracer.settings import get_settings
    from tracer.tracking import ModelStore

    settings = get_settings()
    guard.phase = "import"
    sys.path.insert(0, job["site"])
    importlib.invalidate_caches()
    plugins = []
    for name, target in job["entry_points"].items():
        module_name, _, attr = target.partition(":")
        record: dict[str, Any] = {"target": target}
        try:
            module = importlib.import_module(module_name)
            plugin = getattr(module, attr) if attr else module
            record["file"] = getattr(module, "__file__", None)
            record["from_wheel"] = str(record["file"] or "").startswith(job["site"])
            plugins.append((name, plugin))
        except BaseException as exc:  # noqa: BLE001
            record["error"] = _error(exc)
        out["entry_points"][name] = record
    host = PluginHost(settings, load_entrypoints=False, plugins=plugins)
    out["plugins"] = {n: r.as_dict() for n, r in host.records.items() if not r.builtin}
    out["phases"]["import"] = "done"
    if not plugins:
        return

    guard.phase = "conformance"
    out["conformance"] = _conformance(host, [n for n, _ in plugins], job["site"])
    out["phases"]["conformance"] = "done"

    guard.phase = "setup-store"
    db.upgrade(settings)
    store = ModelStore(settings)
    for name in sorted(host.domains):
        domain_out: dict[str, Any] = {}
        out["domains"][name] = domain_out
        try:
            guard.phase = f"quality:{name}"
            _quality(host, store, name, job, domain_out)
            guard.phase = f"explanations:{name}"
            _explanations_and_speed(host, store, name, job, domain_out)
        except BaseException as exc:  # noqa: BLE001
            domain_out["error"] = _error(exc)
            domain_out["traceback"] = traceback.format_exc()[-2000:]
    out["phases"]["domains"] = "done"


def _conformance(host, names: list[str], site: str) -> dict[str, Any]:
    from tracer_registry.certify.conformance import run_conformance

    try:
        return run_conformance(host, names, site)
    except BaseException as exc:  # noqa: BLE001
        return {"status": "failed", "failures": [_error(exc)], "checks": 0, "kit": None}


def _quality(host, store, name: str, job: dict[str, Any], out: dict[str, Any]) -> None:
    from tracer.domain import HIGHER_IS_BETTER
    from tracer.lifecycle import train

    domain = host.domain(name)
    runs = []
    for _ in range(2):  # twice, same seed: the numbers must be the same
        result = train(host, store, name)
        runs.append({"metrics": {k: float(v) for k, v in result.metrics.items()},
                     "baselines": result.baselines, "rows": result.rows,
                     "version": result.version})
    first = runs[0]
    primary = domain.primary_metric
    rule = next((k for k in first["baselines"] if k.startswith("rule: ")), None)
    baseline_name = rule or "majority class"
    out.update({
        "primary_metric": primary, "higher_is_better": HIGHER_IS_BETTER[primary],
        "value": first["metrics"][primary], "threshold": domain.certification_threshold,
        "baseline": {"name": baseline_name,
                     "value": first["baselines"][baseline_name][primary]},
        "ece": first["metrics"].get("ece"), "rows": first["rows"],
        "metrics": first["metrics"],
        "repeat_metrics": runs[1]["metrics"],
    })


def _explanations_and_speed(host, store, name: str, job: dict[str, Any],
                            out: dict[str, Any]) -> None:
    import numpy as np
    from tracer.features import compute_features
    from tracer.model import logit
    from tracer.predict import scorer_for
    from tracer.records import validate_records

    scorer = scorer_for(host, store, name)
    domain = scorer.domain
    frame = domain.load_reference().sort_values(domain.order_by, kind="stable")
    sample = frame.tail(int(job["explanation_rows"])).drop(columns=[domain.label])
    records, _ = validate_records(domain, sample)
    from tracer_registry.certify.conformance import check_explanations

    kit_error = check_explanations(scorer, records)
    answers = scorer.score(records, top=10**6)
    features = compute_features(host, domain, records, scorer.state)
    contributions, bias = scorer.model.contributions(features)
    names = scorer.model.feature_names
    worst_sum, worst_factor, fabricated = 0.0, 0.0, []
    for i, answer in enumerate(answers):
        total = float(contributions[i].sum() + bias[i])
        worst_sum = max(worst_sum, abs(total - float(logit(np.array(answer["probability"])))))
        platform = dict(zip(names, contributions[i].tolist(), strict=True))
        for factor in answer["factors"]:
            if factor["feature"] not in platform:
                fabricated.append(factor["feature"])
                continue
            worst_factor = max(worst_factor, abs(factor["contribution"]
                                                 - platform[factor["feature"]]))
    out["explanations"] = {"rows": len(answers), "max_sum_error": worst_sum,
                           "max_factor_error": worst_factor,
                           "unknown_features": sorted(set(fabricated)),
                           "factors_per_answer": min(len(a["factors"]) for a in answers),
                           "kit_error": kit_error,
                           "summary_example": answers[-1]["summary"]}
    one = records.tail(1).reset_index(drop=True)
    scorer.score(one)  # warm caches; the budget is for a serving process, not a cold start
    timings = []
    for _ in range(int(job["speed_calls"])):
        start = time.perf_counter_ns()
        scorer.score(one)
        timings.append((time.perf_counter_ns() - start) / 1e6)
    timings.sort()
    rank = max(0, math.ceil(0.99 * len(timings)) - 1)
    out["speed"] = {"calls": len(timings), "p50_ms": timings[len(timings) // 2],
                    "p99_ms": timings[rank], "max_ms": timings[-1]}


if __name__ == "__main__":
    sys.exit(main())
