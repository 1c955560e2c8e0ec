"""Which queued training job starts next, and starting it on the configured backend.

Fair across tenants: while fewer than ``training.slots`` jobs run (counted in the platform
database, so across every API process), the next to start is the oldest queued job of the
tenant with the fewest running; between tenants running as many, the one whose last job
started longest ago (round-robin), then the oldest job. One tenant's long job, or its many
queued jobs, hold one slot each and never keep another tenant's job waiting behind them.

Claiming is one transaction under a lock (SQLite's write lock, a PostgreSQL advisory lock),
so two API processes never start more than the slots allow. A claimed job is ``running``
at stage ``starting``; the backend then runs it: ``local`` in a supervised subprocess of this
process (``tracer.supervise``), ``dask`` as a task on the cluster (``tracer.dask_training``).
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, select, text

from tracer.db import session, utcnow
from tracer.jobs import fail_unfinished, here, reap_stale
from tracer.models import TrainingJob

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from tracer.settings import Settings

log = logging.getLogger(__name__)
_LOCK_KEY = 0x74726E67  # "trng": the advisory lock of job claiming on PostgreSQL


@dataclass(frozen=True)
class Queued:
    id: str
    tenant: str
    created_at: datetime


def pick(queued: list[Queued], running: Counter[str],
         last_start: dict[str, datetime]) -> Queued | None:
    """The next job to start: the tenant with the fewest running, then the one whose last
    start is oldest (never started first), then the oldest job."""
    if not queued:
        return None
    oldest: dict[str, Queued] = {}
    for job in sorted(queued, key=lambda j: (j.created_at, j.id)):
        oldest.setdefault(job.tenant, job)
    never = datetime.min

    def rank(tenant: str) -> tuple[int, datetime, datetime, str]:
        started = last_start.get(tenant)
        return (running[tenant], never if started is None else started.replace(tzinfo=None),
                oldest[tenant].created_at.replace(tzinfo=None), oldest[tenant].id)

    return oldest[min(oldest, key=rank)]


def claim(settings: Settings, worker: str) -> list[str]:
    """Mark as many queued jobs running as there are free slots; their ids, in order."""
    with session(settings, write=True) as s:
        _lock(s)
        running: Counter[str] = Counter(dict(s.execute(
            select(TrainingJob.tenant_id, func.count()).where(
                TrainingJob.status == "running").group_by(TrainingJob.tenant_id)).all()))
        free = settings.training.slots - sum(running.values())
        if free <= 0:
            return []
        queued = [Queued(*row) for row in s.execute(select(
            TrainingJob.id, TrainingJob.tenant_id, TrainingJob.created_at).where(
            TrainingJob.status == "queued"))]
        last_start: dict[str, datetime] = {tenant: at for tenant, at in s.execute(select(
            TrainingJob.tenant_id, func.max(TrainingJob.started_at)).where(
            TrainingJob.started_at.is_not(None)).group_by(TrainingJob.tenant_id)) if at}
        claimed = []
        for _ in range(free):
            job = pick(queued, running, last_start)
            if job is None:
                break
            now = utcnow()
            row = s.get(TrainingJob, job.id)
            assert row is not None  # we hold the lock
            row.status, row.stage, row.started_at, row.heartbeat_at = (
                "running", "starting", now, now)
            row.worker, row.attempts = worker, 0
            queued.remove(job)
            running[job.tenant] += 1
            last_start[job.tenant] = now
            claimed.append(job.id)
    return claimed


def _lock(s: Session) -> None:
    if s.get_bind().dialect.name == "postgresql":
        s.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
    # SQLite: session(write=True) began with BEGIN IMMEDIATE, the database's write lock


def dispatch(settings: Settings) -> list[str]:
    """Fail jobs nobody supervises, then start what the free slots allow; the ids started."""
    reap_stale(settings)
    dask = settings.training.backend == "dask"
    worker = f"dask via {settings.training.dask_scheduler_address}" if dask else f"local {here()}"
    started = claim(settings, worker)
    for job_id in started:
        try:
            if dask:
                from tracer.dask_training import submit

                submit(settings, job_id)
            else:
                threading.Thread(target=_run_local, args=(settings, job_id), daemon=True,
                                 name=f"training-job-{job_id[:8]}").start()
        except Exception as exc:  # noqa: BLE001 -- the job says why it could not start
            fail_unfinished(settings, job_id, f"the job could not be started on the "
                            f"{settings.training.backend} backend: {type(exc).__name__}: {exc}")
    return started


def _run_local(settings: Settings, job_id: str) -> None:
    from tracer.jobs import worker_env
    from tracer.supervise import supervise

    try:
        supervise(settings, job_id, worker_env(settings), f"local {here()}")
    finally:
        dispatch_after(settings)


def dispatch_after(settings: Settings) -> None:
    """Dispatch once a job's slot is free; a database that cannot be reached now is left to
    the next dispatch (the periodic one of ``keep_dispatching`` at the latest)."""
    try:
        dispatch(settings)
    except Exception as exc:  # noqa: BLE001 -- a background thread: say it, go on
        log.warning("training dispatch failed (the next one retries): %s: %s",
                    type(exc).__name__, exc)


def keep_dispatching(settings: Settings) -> threading.Event:
    """A thread of a serving process that reaps and dispatches every quarter heartbeat, so
    queued jobs start and orphaned ones fail even when no request comes; set the event
    returned to stop it."""
    stop = threading.Event()

    def tick() -> None:
        while not stop.wait(settings.training.heartbeat_seconds / 4):
            dispatch_after(settings)

    threading.Thread(target=tick, name="training-dispatch", daemon=True).start()
    return stop
