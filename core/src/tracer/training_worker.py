"""The training worker process: ``python -m tracer.training_worker <job id> [<parent pid>]``.

Runs one claimed ``TrainingJob`` (``tracer.dispatch``) with the model lifecycle and reports
stage and progress in the job row. Each report is conditional on the job still running: a
job cancelled or timed out meanwhile stops at its next stage, and never reaches ``log``
(where registering starts) once stopped. The worker dies with the process that started it.
On success it writes, in one transaction: the job's result, the training-run usage event
(so a crashed run is never billed), the feature profile drift is measured against, and the
promotion decision with its numbers.
"""

from __future__ import annotations

import os
import sys
import traceback

import numpy as np
from sqlalchemy import update

from tracer.db import rows_changed, session, utcnow
from tracer.errors import ConflictError, TracerError, ValidationError
from tracer.models import TrainingJob
from tracer.settings import Settings, get_settings


def die_with_parent(parent: int | None) -> None:
    """Ask Linux to kill this process when its parent goes (``PR_SET_PDEATHSIG``)."""
    if parent is None or not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # pragma: no cover - no prctl: the heartbeat still says
        return
    if os.getppid() != parent:  # the parent went before the request took hold
        os._exit(3)


def _report(settings: Settings, job_id: str, **values: object) -> None:
    """Write stage/progress only while the job is running; else stop this worker's run."""
    with session(settings) as s:
        done = rows_changed(s.execute(update(TrainingJob).where(
            TrainingJob.id == job_id, TrainingJob.status == "running").values(**values)))
    if not done:
        raise ConflictError(f"job {job_id} was stopped (cancelled or timed out)")


def main(job_id: str, parent: int | None = None) -> int:
    from tracer import lifecycle
    from tracer.drift import save_profile
    from tracer.features import compute_features
    from tracer.host import PluginHost
    from tracer.retraining import record_decision
    from tracer.runner import tenant_scope
    from tracer.tenant_data import training_frame
    from tracer.tracking import ModelStore
    from tracer.usage import record_usage

    die_with_parent(parent)
    settings = get_settings()
    with session(settings) as s:
        job = s.get(TrainingJob, job_id)
        if job is None or job.status != "running" or job.stage != "starting":
            return 2  # not claimed for this attempt (tracer.supervise.begin_attempt)
        job.stage, job.pid = "load", os.getpid()
        tenant, domain_name, options, trigger = job.tenant_id, job.domain, dict(job.options), \
            job.trigger

    def progress(stage: str) -> None:
        _report(settings, job_id, stage=stage,
                progress=round(lifecycle.STAGES.index(stage) / len(lifecycle.STAGES), 3))

    try:
        with tenant_scope(tenant):  # every plugin call carries this tenant's records
            host = PluginHost(settings)
            store = ModelStore(settings)
            domain = host.domain(domain_name)
            with session(settings) as s:
                frame, counts, plan = training_frame(
                    settings, s, domain, tenant, use_reference=options.get("use_reference", True),
                    dataset_ids=options.get("dataset_ids"),
                    include_feedback=options.get("include_feedback", True),
                    tenant_weight=options.get("tenant_weight"))
            if len(frame) > settings.training.max_rows:
                raise ValidationError(f"the job would train on {len(frame):,} rows, over the "
                                      f"limit of {settings.training.max_rows:,} "
                                      "(training.max_rows)", field="rows",
                                      limit=settings.training.max_rows)
            params = dict(options.get("params") or {})
            if options.get("candidates"):
                params["candidates"] = list(options["candidates"])
            result = lifecycle.train(host, store, domain_name, data=frame, tenant=tenant,
                                     params=params or None, progress=progress, plan=plan)
            model = store.load(result.model_name, result.version)
            # the served model was refit on every row: profile them all
            from tracer.domain import FeatureState
            from tracer.records import validate_records

            records, _ = validate_records(domain, frame.drop(columns=[domain.label]))
            features = compute_features(host, domain, records,
                                        FeatureState(False, model.state.values))
    except Exception as exc:  # noqa: BLE001 -- every failure is reported on the job
        message = str(exc) if isinstance(exc, TracerError) else f"{type(exc).__name__}: {exc}"
        traceback.print_exc(file=sys.stderr)
        with session(settings) as s:
            row = s.get(TrainingJob, job_id)
            if row is None or row.status != "running":
                return 1  # stopped by its supervisor, which said why
            row.status, row.error, row.finished_at = "failed", message[:2000], utcnow()
            record_decision(s, tenant, domain_name, trigger, "failed",
                            f"job {job_id} failed at stage {row.stage}; champion unchanged: "
                            f"{message}", {"stage": row.stage}, job_id)
        return 1

    metrics = {k: float(v) for k, v in result.metrics.items() if np.isfinite(v)}
    comparison = result.extras.get("comparison")
    numbers = {"primary_metric": result.primary_metric,
               "challenger": metrics.get(result.primary_metric),
               "challenger_interval": list(result.interval),
               "champion": result.champion_metric, "version": result.version,
               "evaluation_rows": result.rows["evaluation"], "rows": counts,
               "rows_by_source": result.rows.get("by_source"),
               "evaluation_rule": result.rows.get("evaluation_rule"),
               "tenant_weight": None if plan.weight is None else float(plan.weight.max()),
               "difference": None if comparison is None else {
                   k: comparison[k] for k in ("difference", "low", "high", "rows")}}
    why = options.get("why") or f"{trigger} run"
    sources = ", ".join(f"{k} {v:,}" for k, v in counts.items())
    with session(settings) as s:
        row = s.get_one(TrainingJob, job_id)  # still running: its last report just held
        row.status, row.stage, row.progress, row.finished_at = "succeeded", "done", 1.0, utcnow()
        row.run_id, row.model_version, row.promoted = result.run_id, result.version, \
            result.promoted
        row.decision, row.metrics, row.rows = result.decision, metrics, {**result.rows, **counts}
        record_usage(s, f"training_run:{job_id}", tenant_id=tenant, kind="training_run",
                     domain=domain_name, attrs={"job_id": job_id, "version": result.version})
        save_profile(s, result.model_name, result.version, features)
        record_decision(s, tenant, domain_name, trigger,
                        "promoted" if result.promoted else "kept",
                        f"Why: {why}. Rows: {sources}. {result.decision}", numbers, job_id)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else None))
