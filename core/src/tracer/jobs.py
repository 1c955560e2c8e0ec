"""Training jobs: a model trains in a worker process, never inside an API request.

``POST`` creates a ``TrainingJob`` (queued). The dispatcher (``tracer.dispatch``) starts
queued jobs while fewer than ``training.slots`` run, across every API process, the oldest
job of the tenant with the fewest running first; the backend (``training.backend``) runs
``python -m tracer.training_worker <id>`` in a subprocess of the API process or of a Dask
worker, under a supervisor (``tracer.supervise``) that kills it on a cancel or past the
wall time. The worker reports stage and progress in the job row, runs the lifecycle (which
leaves the champion untouched on any failure) and, in one transaction, marks the job
succeeded, meters the training run and records the promotion decision with its numbers.

From the ``log`` stage on (``COMMITTING``) the job registers its model: it can no longer be
cancelled or timed out, so a job that is cancelled or failed never registered anything. If
the worker dies without saying so (killed, out of memory), the supervisor marks the job
failed with the exit status; a job whose supervisor stops reporting (its process is gone) is
failed once its heartbeat is ``training.heartbeat_seconds`` old.
"""

from __future__ import annotations

import json
import os
import socket
import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update

from tracer.db import rows_changed, session, utcnow
from tracer.errors import ConflictError, NotFoundError
from tracer.models import TrainingJob

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from tracer.settings import Settings

ACTIVE = ("queued", "running")
#: stages in which the job registers its model: no cancel, no timeout from here on
COMMITTING = ("log", "promote", "done")


def create_job(s: Session, tenant_id: str, domain: str, options: dict[str, Any],
               trigger: str = "manual") -> TrainingJob:
    job = TrainingJob(id=str(uuid.uuid4()), tenant_id=tenant_id, domain=domain,
                      status="queued", stage="queued", progress=0.0, trigger=trigger,
                      options=options)
    s.add(job)
    s.flush()
    return job


def get_job(s: Session, tenant_id: str, job_id: str) -> TrainingJob:
    job = s.get(TrainingJob, job_id)
    if job is None or job.tenant_id != tenant_id:
        raise NotFoundError(f"training job {job_id} not found", job=job_id)
    return job


def active_job(s: Session, tenant_id: str, domain: str) -> TrainingJob | None:
    return s.scalars(select(TrainingJob).where(
        TrainingJob.tenant_id == tenant_id, TrainingJob.domain == domain,
        TrainingJob.status.in_(ACTIVE))).first()


# -- launching and watching workers --------------------------------------------------------

def worker_env(settings: Settings) -> dict[str, str]:
    """The API's settings, handed to the worker through the one way settings are read."""
    env = dict(os.environ)
    env.update({
        "TRACER_HOME": str(settings.home.resolve()),
        "TRACER_DATABASE_URL": settings.platform_db_url,
        "TRACER_MLFLOW__TRACKING_URI": settings.tracking_uri,
        "TRACER_MLFLOW__ARTIFACT_ROOT": str(settings.artifact_root),
        "TRACER_PLUGINS__DIR": str(settings.plugins_path),
        "TRACER_SEED": str(settings.seed),
        "TRACER_TRAINING__EVAL_FRACTION": str(settings.training.eval_fraction),
        "TRACER_TRAINING__CALIBRATION_FRACTION": str(settings.training.calibration_fraction),
        "TRACER_TRAINING__BOOTSTRAP_SAMPLES": str(settings.training.bootstrap_samples),
        "TRACER_TRAINING__MAX_ROWS": str(settings.training.max_rows),
        # list settings travel as JSON, the form pydantic-settings parses for lists
        "TRACER_PLUGINS__BLOCK": json.dumps(settings.plugins.block),
    })
    if settings.plugins.allow is not None:
        env["TRACER_PLUGINS__ALLOW"] = json.dumps(settings.plugins.allow)
    return env


def launch(settings: Settings, job_id: str | None = None) -> list[str]:
    """Start queued jobs (``job_id`` among them when a slot is free); the ids started."""
    from tracer.dispatch import dispatch

    return dispatch(settings)


def cancel_job(settings: Settings, tenant_id: str, job_id: str) -> TrainingJob:
    """Cancel a queued or running job of this tenant; a cancelled job answers as it is.

    One conditional update, so it cannot cross the worker entering ``COMMITTING``: either
    the job is cancelled (and will never register or promote) or it is registering (409).
    The job's supervisor sees the state and kills the worker."""
    reason = "cancelled on request; champion unchanged"
    with session(settings) as s:
        get_job(s, tenant_id, job_id)  # 404 for another tenant's job
        done = rows_changed(s.execute(update(TrainingJob).where(
            TrainingJob.id == job_id, TrainingJob.status.in_(ACTIVE),
            TrainingJob.stage.not_in(COMMITTING)).values(
            status="cancelled", error=reason, finished_at=utcnow())))
        s.expire_all()
        job = get_job(s, tenant_id, job_id)
        if done:
            from tracer.retraining import record_decision

            record_decision(s, tenant_id, job.domain, job.trigger, "cancelled",
                            f"job {job_id} cancelled at stage {job.stage}; champion unchanged",
                            {"stage": job.stage}, job_id)
        elif job.status != "cancelled":
            raise ConflictError(f"training job {job_id} is {job.status}"
                                + (f" (stage {job.stage}: registering its model)"
                                   if job.status in ACTIVE else "")
                                + "; it can no longer be cancelled", job=job_id,
                                job_status=job.status)
        s.expunge(job)
    from tracer.dispatch import dispatch

    dispatch(settings)  # its slot is free
    return job


def fail_unfinished(settings: Settings, job_id: str, reason: str, *,
                    before_commit: bool = False) -> bool:
    """Mark a job failed if it is still queued or running; True if it did.

    ``before_commit``: only if it is not registering its model yet (a timeout)."""
    with session(settings) as s:
        where = [TrainingJob.id == job_id, TrainingJob.status.in_(ACTIVE)]
        if before_commit:
            where.append(TrainingJob.stage.not_in(COMMITTING))
        done = rows_changed(s.execute(update(TrainingJob).where(*where).values(
            status="failed", error=reason[:2000], finished_at=utcnow())))
        if not done:
            return False
        job = s.get(TrainingJob, job_id)
        assert job is not None  # just updated
        from tracer.retraining import record_decision

        record_decision(s, job.tenant_id, job.domain, job.trigger, "failed",
                        f"job {job.id} failed; champion unchanged: {reason}"[:1000],
                        {"stage": job.stage}, job.id)
    return True


def here() -> str:
    """This machine and process, as a job's ``worker`` names them."""
    return f"{socket.gethostname()}:{os.getpid()}"


def reap_orphans(settings: Settings) -> int:
    """At start: fail running jobs nobody supervises any more, then start queued ones."""
    failed = reap_stale(settings)
    launch(settings)
    return failed


def reap_stale(settings: Settings) -> int:
    """Fail running jobs nobody supervises: one supervised on this machine whose supervising
    process is gone (its worker died with it) at once, any other once its heartbeat is
    older than ``training.heartbeat_seconds``."""
    stale = utcnow() - timedelta(seconds=settings.training.heartbeat_seconds)
    host = socket.gethostname()
    with session(settings) as s:
        rows = [(j.id, j.worker, j.heartbeat_at or j.started_at) for j in s.scalars(
            select(TrainingJob).where(TrainingJob.status == "running"))]
    failed = 0
    for job_id, worker, beat in rows:
        # a local job's worker dies with its supervisor: the supervisor's process says
        local = worker is not None and worker.startswith(f"local {host}:")
        gone = local and not _alive(int(str(worker).rsplit(":", 1)[1]))
        if gone or beat is None or _naive(beat) < _naive(stale):
            failed += fail_unfinished(settings, job_id, "the process supervising the job "
                                      "is gone (API restarted or worker lost); start it again")
    return failed


def _naive(moment: datetime) -> datetime:
    return moment.replace(tzinfo=None)
def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True
