"""Training jobs: a model trains in a worker process, never inside an API request.

``POST`` creates a ``TrainingJob`` (queued); a launcher thread in the API process starts
``python -m tracer.training_worker <id>`` (one at a time: training uses every core) and
waits for it.
The worker reports stage and progress in the job row, runs the lifecycle (which leaves the
champion untouched on any failure) and, in one transaction, marks the job succeeded,
meters the training run and records the promotion decision with its numbers. If the worker
dies without saying so (killed, out of memory), the launcher marks the job failed with the
exit status; jobs orphaned by a restarted API are failed the same way at startup.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from tracer import tenancy  # noqa: F401 -- registers the tenants table our keys name
from tracer.db import Base, session, utcnow
from tracer.errors import NotFoundError

if TYPE_CHECKING:
    from tracer.settings import Settings

ACTIVE = ("queued", "running")
_launch_slot = threading.Semaphore(1)


class TrainingJob(Base):
    __tablename__ = "training_jobs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    domain: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16))  # queued | running | succeeded | failed
    stage: Mapped[str] = mapped_column(String(32), default="queued")
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    trigger: Mapped[str] = mapped_column(String(16), default="manual")
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    pid: Mapped[int | None] = mapped_column(Integer)
    run_id: Mapped[str | None] = mapped_column(String(36))
    model_version: Mapped[int | None] = mapped_column(Integer)
    promoted: Mapped[bool | None] = mapped_column(Boolean)
    decision: Mapped[str | None] = mapped_column(Text)
    metrics: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    rows: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "domain": self.domain, "status": self.status,
                "stage": self.stage, "progress": self.progress, "trigger": self.trigger,
                "options": self.options, "model_version": self.model_version,
                "promoted": self.promoted, "decision": self.decision,
                "metrics": self.metrics, "rows": self.rows, "error": self.error,
                "created_at": self.created_at, "started_at": self.started_at,
                "finished_at": self.finished_at}


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
        "TRACER_MLFLOW_TRACKING_URI": settings.tracking_uri,
        "TRACER_MLFLOW_ARTIFACT_ROOT": str(settings.artifact_root),
        "TRACER_PLUGIN_DIR": str(settings.plugins_path),
        "TRACER_SEED": str(settings.seed),
        "TRACER_EVAL_FRACTION": str(settings.eval_fraction),
        "TRACER_CALIBRATION_FRACTION": str(settings.calibration_fraction),
        "TRACER_BOOTSTRAP_SAMPLES": str(settings.bootstrap_samples),
        # list settings travel as JSON, the form pydantic-settings parses for lists
        "TRACER_PLUGINS_BLOCK": json.dumps(settings.plugins_block),
    })
    if settings.plugins_allow is not None:
        env["TRACER_PLUGINS_ALLOW"] = json.dumps(settings.plugins_allow)
    return env


def launch(settings: Settings, job_id: str) -> threading.Thread:
    """Run the job in a worker process from a background thread; returns the thread."""
    thread = threading.Thread(target=_run_worker, args=(settings, job_id),
                              name=f"training-job-{job_id[:8]}", daemon=True)
    thread.start()
    return thread


def _run_worker(settings: Settings, job_id: str) -> None:
    with _launch_slot:
        process = subprocess.Popen([sys.executable, "-m", "tracer.training_worker", job_id],
                                   env=worker_env(settings), stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE)
        with session(settings) as s:
            job = s.get(TrainingJob, job_id)
            if job is not None:  # deleted meanwhile (a tenant removed): nothing to record
                job.pid = process.pid
        _, stderr = process.communicate()
    tail = stderr.decode(errors="replace").strip().splitlines()[-1:] if stderr else []
    fail_unfinished(settings, job_id, f"the training worker exited with status "
                    f"{process.returncode} before finishing" + (f": {tail[0]}" if tail else ""))


def fail_unfinished(settings: Settings, job_id: str, reason: str) -> bool:
    """Mark a job failed if its worker left it queued or running; True if it did."""
    with session(settings) as s:
        job = s.get(TrainingJob, job_id)
        if job is None or job.status not in ACTIVE:
            return False
        job.status, job.error, job.finished_at = "failed", reason[:2000], utcnow()
        from tracer.retraining import record_decision

        record_decision(s, job.tenant_id, job.domain, job.trigger, "failed",
                        f"job {job.id} failed; champion unchanged: {reason}"[:1000],
                        {"stage": job.stage}, job.id)
    return True


def reap_orphans(settings: Settings) -> int:
    """Fail jobs left active by an API process that is gone (their worker too)."""
    with session(settings) as s:
        ids = [(j.id, j.pid) for j in s.scalars(
            select(TrainingJob).where(TrainingJob.status.in_(ACTIVE)))]
    failed = 0
    for job_id, pid in ids:
        if pid is not None and _alive(pid):
            continue
        failed += fail_unfinished(settings, job_id, "the API restarted while the job was "
                                  "pending; start it again")
    return failed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True
