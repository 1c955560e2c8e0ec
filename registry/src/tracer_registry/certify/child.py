"""The certification child: exercises a wheel through the runner production uses.

Started by ``sandbox.run_in_sandbox`` as ``python -I -m tracer_registry.certify.child`` with
a JSON job on stdin and ``TRACER_PLUGINS__DIR`` set to the extracted wheel. This process runs
platform code only: its ``PluginHost`` loads the wheel in a confined runner
(``tracer.runner``: namespaces, a read-only view, seccomp, rlimits) and every hook —
import, conformance, training twice through the real lifecycle on a temp MLflow store,
explanations, one-record latency — goes through that runner. What the runner's audit
layer recorded comes back as ``violations``; how each runner ended, as ``runners``. The
findings go back as one JSON document on the original stdout.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
import traceback
from typing import Any


def _error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]


def main() -> int:
    job = json.loads(sys.stdin.read())
    result_fd = os.dup(1)
    os.dup2(2, 1)  # platform output must not mix with the result document
    sys.stdout = sys.stderr
    out: dict[str, Any] = {"phases": {}, "domains": {}, "entry_points": {}}
    host = None
    try:
        _prepare()
        host = _run(job, out)
    except BaseException as exc:  # noqa: BLE001 -- report whatever stopped the child
        out["fatal"] = _error(exc)
        out["traceback"] = traceback.format_exc()[-2000:]
    if host is not None:
        out["violations"], out["runners"] = _reports(host)
        host.close()
    with os.fdopen(result_fd, "w") as result:
        result.write(json.dumps(out, default=str, allow_nan=True))
    return 0


def _prepare() -> None:
    # MLflow asks git (a subprocess) for the source version when GitPython is importable;
    # the sandbox has no source tree, so make it look absent.
    sys.modules["git"] = None  # type: ignore[assignment]
    import matplotlib

    matplotlib.use("Agg")
    sys.dont_write_bytecode = True


def _reports(host) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """What the runners' audit layer recorded, and how each runner ended."""
    from tracer.runner.pool import exchange

    violations, runners = [], []
    for runner in host.pool.runners():
        state = runner.state()
        try:
            with runner.session() as usable:
                reply = exchange(runner, {"op": "report"}, [], 30, what="report")[0] \
                    if usable else {}
            for v in reply.get("violations") or []:
                violations.append({**v, "tenant": runner.tenant})
        except Exception as exc:  # noqa: BLE001 -- a runner that died reports nothing
            state["report_error"] = _error(exc)
        state["exit"] = runner.process.returncode
        runners.append(state)
    return violations, runners


def _run(job: dict[str, Any], out: dict[str, Any]):
    from tracer import db
    from tracer.host import PluginHost
    from tracer.settings import get_settings
    from tracer.tracking import ModelStore

    settings = get_settings()  # TRACER_PLUGINS__DIR is the extracted wheel
    # The wheel's code is never imported here: the host loads it in a confined runner,
    # the same box serving uses (tracer.runner), and calls every hook through it.
    host = PluginHost(settings, environment=False)
    for record in host.records.values():
        if record.builtin:
            continue
        entry: dict[str, Any] = {"target": record.entry_point, "file": record.origin,
                                 "from_wheel": str(record.origin or "").startswith("/plugin/")}
        if record.status != "loaded":
            entry["error"] = record.error
        out["entry_points"][record.name] = entry
    for name in job["entry_points"]:
        out["entry_points"].setdefault(name, {"target": job["entry_points"][name],
                                              "error": "not loaded by the runner"})
    out["plugins"] = {n: r.as_dict() for n, r in host.records.items() if not r.builtin}
    out["phases"]["import"] = "done"
    names = [n for n, r in host.records.items() if not r.builtin and r.status == "loaded"]
    if not names:
        return host

    out["conformance"] = _conformance(host, names, job["site"])
    out["phases"]["conformance"] = "done"

    db.upgrade(settings)
    store = ModelStore(settings)
    for name in sorted(host.domains):
        domain_out: dict[str, Any] = {}
        out["domains"][name] = domain_out
        try:
            _quality(host, store, name, job, domain_out)
            _explanations_and_speed(host, store, name, job, domain_out)
        except BaseException as exc:  # noqa: BLE001
            domain_out["error"] = _error(exc)
            domain_out["traceback"] = traceback.format_exc()[-2000:]
    out["phases"]["domains"] = "done"
    return host


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
    runs: list[dict[str, Any]] = []
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
    from tracer.records import validate_records
    from tracer.scoring import scorer_for

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
