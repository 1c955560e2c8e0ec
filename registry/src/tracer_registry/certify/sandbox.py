"""Running the plugin through a confined runner and turning what it did into checks.

The validator's own process only reads the wheel as data. Here the wheel is extracted into
a throwaway folder (its dependencies are the platform's own, already installed), and a
child interpreter (``python -I``, a scrubbed environment, ``setrlimit`` limits on CPU
time, address space and file size, a wall-clock timeout, a fresh network namespace where
the machine allows one) runs ``tracer_registry.certify.child``. The child never imports
the wheel either: its host loads it in the same kernel-confined runner serving and
training use (``tracer.runner``), whose audit layer records what the plugin tried.
"""

from __future__ import annotations

import functools
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tracer_registry.certify.report import CheckResult, Status

if TYPE_CHECKING:
    from tracer_registry.certify.policy import Policy
    from tracer_registry.certify.wheel import Wheel

DYNAMIC_CHECKS = ("dynamic.import", "dynamic.safety", "conformance", "quality.threshold",
                  "quality.baseline", "quality.calibration", "quality.explanations",
                  "quality.reproducible", "speed.p99")


@functools.cache
def network_namespace() -> list[str]:
    """``unshare`` prefix for an empty network namespace, or [] where it is not allowed."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return []
    prefix = [unshare, "--net", "--map-root-user"]
    try:
        probe = subprocess.run([*prefix, "true"], capture_output=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return []
    return prefix if probe.returncode == 0 else []


#: the certification child's own address space (platform code: MLflow, the lifecycle); the
#: plugin's runner gets the policy's limit under it
CHILD_MEMORY_BYTES = 8 * 1024**3


def _limits(policy: Policy):
    def apply() -> None:  # runs in the forked child before exec, never plugin code
        memory = max(policy.memory_bytes, CHILD_MEMORY_BYTES)
        resource.setrlimit(resource.RLIMIT_CPU, (policy.cpu_seconds, policy.cpu_seconds))
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        resource.setrlimit(resource.RLIMIT_FSIZE, (policy.file_bytes, policy.file_bytes))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    return apply


def run_in_sandbox(wheel: Wheel, policy: Policy) -> dict[str, Any]:
    """Run the child on ``wheel``; return what it reported plus how it ended."""
    with tempfile.TemporaryDirectory(prefix="tracer-certify-") as tmp:
        root = Path(tmp).resolve()
        site, work = root / "site", root / "work"
        for folder in (site, work / "home", work / "tmp", work / "mpl"):
            folder.mkdir(parents=True)
        wheel.extract_to(site)
        job = {"root": str(root), "site": str(site), "entry_points": wheel.entry_points,
               "explanation_rows": policy.explanation_rows, "speed_calls": policy.speed_calls}
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(work),
               "TMPDIR": str(work / "tmp"), "TRACER_HOME": str(work / "home"),
               "TRACER_PLUGINS__DIR": str(site),
               # the plugin's runner: the policy's limits, enforced inside the box
               "TRACER_RUNNER__MEMORY_BYTES": str(policy.memory_bytes),
               "TRACER_RUNNER__CPU_SECONDS": str(policy.cpu_seconds),
               "TRACER_RUNNER__FILE_BYTES": str(policy.file_bytes),
               "TRACER_RUNNER__START_SECONDS": str(policy.wall_seconds),
               "TRACER_RUNNER__TRAIN_SECONDS": str(policy.wall_seconds),
               "TRACER_TRAINING__BOOTSTRAP_SAMPLES": "50", "MPLCONFIGDIR": str(work / "mpl"),
               "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true",
               "OMP_NUM_THREADS": "2", "LANG": "C.UTF-8", "GIT_PYTHON_REFRESH": "quiet"}
        namespace = network_namespace()
        command = [*namespace, sys.executable, "-I", "-m", "tracer_registry.certify.child"]
        ended: dict[str, Any] = {"network_namespace": bool(namespace),
                                 "limits": {"wall_seconds": policy.wall_seconds,
                                            "cpu_seconds": policy.cpu_seconds,
                                            "memory_bytes": policy.memory_bytes,
                                            "file_bytes": policy.file_bytes}}
        try:
            proc = subprocess.run(command, input=json.dumps(job), capture_output=True,
                                  text=True, env=env, cwd=work, timeout=policy.wall_seconds,
                                  preexec_fn=_limits(policy))
        except subprocess.TimeoutExpired as exc:
            stderr = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) \
                else exc.stderr or ""
            return {**ended, "timeout": True, "stderr": stderr[-3000:]}
        ended.update({"returncode": proc.returncode, "stderr": proc.stderr[-3000:]})
        try:
            return {**json.loads(proc.stdout), **ended}
        except json.JSONDecodeError:
            return {**ended, "fatal": f"the child ended with status {proc.returncode} "
                                      "before reporting (killed by a limit or crashed)"}


def _check(policy: Policy, check_id: str, ok: bool | None, message: str,
           **evidence: Any) -> CheckResult:
    status: Status = "skipped" if ok is None else ("passed" if ok else "failed")
    return CheckResult(check_id, status, policy.severity(check_id), message, evidence)


def dynamic_checks(outcome: dict[str, Any], policy: Policy) -> list[CheckResult]:
    results = [_import_check(outcome, policy), _safety_check(outcome, policy)]
    conformance = outcome.get("conformance")
    if conformance is None:
        results.append(_check(policy, "conformance", None, "not run: the plugin did not load"))
    else:
        ok = conformance["status"] == "passed"
        results.append(_check(
            policy, "conformance", ok,
            f"the conformance suite passed ({conformance['checks']} checks, kit: "
            f"{conformance.get('kit')})" if ok else
            f"the conformance suite failed: {'; '.join(conformance['failures'][:3])}. Run "
            "`pytest` in the plugin project: its conformance test says the same", **conformance))
    results += _quality_checks(outcome, policy)
    return results


def _import_check(outcome: dict[str, Any], policy: Policy) -> CheckResult:
    entry_points = outcome.get("entry_points", {})
    failed = {n: r.get("error") for n, r in entry_points.items() if r.get("error")}
    plugins = outcome.get("plugins", {})
    failed.update({n: r["error"] for n, r in plugins.items() if r.get("status") == "failed"})
    foreign = [n for n, r in entry_points.items() if not r.get("error")
               and not r.get("from_wheel")]
    if outcome.get("fatal") and not entry_points:
        return _check(policy, "dynamic.import", False,
                      f"the sandbox could not load the plugin: {outcome['fatal']}",
                      stderr=outcome.get("stderr"))
    if not entry_points:
        return _check(policy, "dynamic.import", False,
                      "the wheel declares no [project.entry-points.tracer] entry point; add "
                      "one naming the module with your hooks")
    ok = not failed and not foreign
    return _check(
        policy, "dynamic.import", ok,
        f"{len(entry_points)} entry point(s) load from the wheel with the platform's "
        "dependencies" if ok else
        "entry point(s) failed in a clean environment with only the platform's dependencies: "
        + "; ".join(f"{n}: {e}" for n, e in failed.items())
        + (f"; loaded from outside the wheel: {foreign}" if foreign else ""),
        entry_points=entry_points, failed=failed or None)


def _safety_check(outcome: dict[str, Any], policy: Policy) -> CheckResult:
    violations = outcome.get("violations", [])
    limit = "timeout" if outcome.get("timeout") else None
    if limit is None and outcome.get("fatal") and "returncode" in outcome \
            and outcome["returncode"] != 0:
        limit = f"ended with status {outcome['returncode']}"
    for runner in outcome.get("runners") or []:
        code = runner.get("exit")
        if limit is None and code is not None and code != 0:
            limit = f"a runner ended with status {code} (a kernel limit or a forbidden call)"
    ok = not violations and limit is None
    if violations:
        v = violations[0]
        where = f" at {v['plugin_frame']}" if v.get("plugin_frame") else ""
        message = (f"{len(violations)} blocked attempt(s) in the sandbox, first: {v['kind']} "
                   f"({v['event']}) during {v['phase']}{where}. Plugins may not open sockets, "
                   "start processes or write outside their temp folder")
    elif limit:
        message = (f"the sandbox run hit a limit ({limit}; limits {outcome.get('limits')}): "
                   "make import and training fit the budget")
    else:
        message = ("no socket, process or write outside the temp folder during import, "
                   "conformance, training, explanation and scoring")
    return _check(policy, "dynamic.safety", ok, message, violations=violations,
                  network_namespace=outcome.get("network_namespace"),
                  limits=outcome.get("limits"), timeout=bool(outcome.get("timeout")),
                  fatal=outcome.get("fatal"))


def _quality_checks(outcome: dict[str, Any], policy: Policy) -> list[CheckResult]:
    domains = outcome.get("domains") or {}
    if not domains:
        why = "not run: the plugin declares no domain that loaded"
        return [_check(policy, c, None, why) for c in DYNAMIC_CHECKS[3:]]
    broken = {n: d["error"] for n, d in domains.items() if "error" in d and "value" not in d}
    if broken:
        why = ("training on the reference data failed: "
               + "; ".join(f"{n}: {e}" for n, e in broken.items()))
        return [_check(policy, "quality.threshold", False, why, errors=broken),
                *[_check(policy, c, None, "not run: training failed")
                  for c in DYNAMIC_CHECKS[4:]]]
    rows = {n: d for n, d in domains.items()}
    out = []

    def reaches(d: dict[str, Any]) -> bool:
        return d["value"] >= d["threshold"] if d["higher_is_better"] else \
            d["value"] <= d["threshold"]

    def beats(d: dict[str, Any]) -> bool:
        return d["value"] > d["baseline"]["value"] if d["higher_is_better"] else \
            d["value"] < d["baseline"]["value"]

    short = [n for n, d in rows.items() if not reaches(d)]
    out.append(_check(
        policy, "quality.threshold", not short,
        "; ".join(f"{n}: {d['primary_metric']} {d['value']:.4f} reaches {d['threshold']}"
                  for n, d in rows.items()) if not short else
        "; ".join(f"{n}: {rows[n]['primary_metric']} {rows[n]['value']:.4f} on the "
                  f"time-ordered held-out {rows[n]['rows']['evaluation']} records misses the "
                  f"declared {rows[n]['threshold']}" for n in short)
        + ". Improve the features or lower the domain's certification_threshold honestly",
        **{n: {k: d[k] for k in ("primary_metric", "value", "threshold", "rows")}
           for n, d in rows.items()}))
    losing = [n for n, d in rows.items() if not beats(d)]
    out.append(_check(
        policy, "quality.baseline", not losing,
        "; ".join(f"{n}: {d['value']:.4f} beats {d['baseline']['name']} "
                  f"{d['baseline']['value']:.4f}" for n, d in rows.items()) if not losing else
        "; ".join(f"{n}: {rows[n]['value']:.4f} does not beat the simple baseline "
                  f"{rows[n]['baseline']['name']} ({rows[n]['baseline']['value']:.4f})"
                  for n in losing) + ". A model must add something over its one-line rule",
        **{n: {"value": d["value"], "baseline": d["baseline"]} for n, d in rows.items()}))
    limits = {n: policy.ece_limit(d["rows"]["evaluation"]) for n, d in rows.items()}
    uncalibrated = [n for n, d in rows.items() if d["ece"] is None or d["ece"] > limits[n]]
    out.append(_check(
        policy, "quality.calibration", not uncalibrated,
        "expected calibration error within bounds: "
        + ", ".join(f"{n} {d['ece']:.4f} <= {limits[n]:.4f}" for n, d in rows.items())
        if not uncalibrated else
        "; ".join(f"{n}: expected calibration error {rows[n]['ece']} over the bound "
                  f"{limits[n]:.4f} ({policy.ece_bound} + {policy.ece_noise_allowance}/sqrt("
                  f"{rows[n]['rows']['evaluation']} held-out records))" for n in uncalibrated)
        + ". Probabilities must mean what they say; check features that leak or drift",
        bound=policy.ece_bound, limits=limits, **{n: d["ece"] for n, d in rows.items()}))
    out.append(_explanation_check(rows, policy))
    out.append(_reproducible_check(rows, policy))
    out.append(_speed_check(rows, policy))
    return out


def _explanation_check(rows: dict[str, dict[str, Any]], policy: Policy) -> CheckResult:
    missing = [n for n, d in rows.items() if "explanations" not in d]
    if missing:
        return _check(policy, "quality.explanations", False,
                      f"explaining predictions failed: {[rows[n].get('error') for n in missing]}",
                      domains=missing)
    bad = {}
    tol = policy.explanation_tolerance
    for n, d in rows.items():
        e = d["explanations"]
        if e["max_sum_error"] > tol or e["max_factor_error"] > tol or e["unknown_features"] \
                or e["factors_per_answer"] < 1 or e.get("kit_error"):
            bad[n] = e
    return _check(
        policy, "quality.explanations", not bad,
        "contributions plus bias equal the logit of every probability, and every factor "
        f"carries its feature's contribution (tolerance {tol})" if not bad else
        "explanations do not add up: " + "; ".join(
            f"{n}: sum error {e['max_sum_error']:.2e}, factor error "
            f"{e['max_factor_error']:.2e}, unknown features {e['unknown_features']}, "
            f"fewest factors {e['factors_per_answer']}, kit: {e.get('kit_error') or 'ok'}"
            for n, e in bad.items())
        + ". tracer_explain must report the platform's contributions unchanged",
        tolerance=tol, **{n: d["explanations"] for n, d in rows.items()})


def _reproducible_check(rows: dict[str, dict[str, Any]], policy: Policy) -> CheckResult:
    differing: dict[str, dict[str, list[float]]] = {}
    for n, d in rows.items():
        a, b = d["metrics"], d["repeat_metrics"]
        diff = {k: [a[k], b.get(k)] for k in a
                if b.get(k) is None or not _close(a[k], b[k], policy.reproducibility_tolerance)}
        if diff:
            differing[n] = diff
    compared = sum(len(d["metrics"]) for d in rows.values())
    return _check(
        policy, "quality.reproducible", not differing,
        f"two trainings with the same seed gave the same {compared} metrics" if not differing
        else
        f"two trainings with the same seed differ: {differing}. Seed every random choice "
        "from params['seed'] and do not depend on set or dict order",
        differing=differing or None)


def _close(a: float, b: float, tol: float) -> bool:
    if a != a and b != b:  # both NaN (a metric undefined on this data)
        return True
    return abs(a - b) <= tol


def _speed_check(rows: dict[str, dict[str, Any]], policy: Policy) -> CheckResult:
    measured = {n: d["speed"] for n, d in rows.items() if "speed" in d}
    if not measured:
        return _check(policy, "speed.p99", None, "not measured: explaining failed")
    slow = {n: s for n, s in measured.items() if s["p99_ms"] > policy.speed_p99_budget_ms}
    return _check(
        policy, "speed.p99", not slow,
        "; ".join(f"{n}: one-record predict+explain p99 {s['p99_ms']:.2f} ms (p50 "
                  f"{s['p50_ms']:.2f} ms, {s['calls']} calls) within "
                  f"{policy.speed_p99_budget_ms:g} ms" for n, s in measured.items())
        if not slow else
        "; ".join(f"{n}: p99 {s['p99_ms']:.2f} ms over the {policy.speed_p99_budget_ms:g} ms "
                  "budget" for n, s in slow.items())
        + ". Use fewer or shallower trees, or cheaper features",
        budget_ms=policy.speed_p99_budget_ms, **measured)
