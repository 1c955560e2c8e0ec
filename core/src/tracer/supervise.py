"""Supervising one training job's worker process, on either backend.

The supervisor starts ``python -m tracer.training_worker <id>`` (platform code: plugins it
calls run in confined runners) in its own process group and, every
``training.poll_seconds``, reports a heartbeat on the job and reads the job back: a job
cancelled, or failed past ``training.max_seconds`` of wall time before it started
registering its model, has its worker process group killed. The worker asks to die with
its supervisor (``PR_SET_PDEATHSIG``), so a supervisor that is gone leaves no worker
behind: a dead Dask worker takes its training subprocess with it, and the job's next
attempt (``training.max_attempts``) starts from a clean slate or the job fails with a reason.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import tempfile
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from tracer.db import session, utcnow
from tracer.jobs import ACTIVE, COMMITTING, fail_unfinished
from tracer.models import TrainingJob

if TYPE_CHECKING:
    from tracer.settings import Settings

log = logging.getLogger(__name__)


def begin_attempt(settings: Settings, job_id: str, worker: str) -> bool:
    """Count a new attempt of a claimed job; False (the job failed or ended) if it may not
    run: cancelled meanwhile, out of attempts, or an earlier attempt died registering."""
    reason = None
    with session(settings, write=True) as s:
        job = s.get(TrainingJob, job_id)
        if job is None or job.status != "running":
            return False
        if job.stage in COMMITTING:
            reason = (f"the worker running attempt {job.attempts} died while registering "
                      f"its model (stage {job.stage}); check the model's versions")
        elif job.attempts >= settings.training.max_attempts:
            reason = (f"the worker running it died during each of its {job.attempts} "
                      f"attempts (training.max_attempts); last seen at stage {job.stage}")
        else:
            job.attempts += 1
            job.stage, job.progress, job.pid = "starting", 0.0, None
            job.worker, job.heartbeat_at = worker[:200], utcnow()
    if reason is not None:
        fail_unfinished(settings, job_id, reason)
        return False
    return True


def supervise(settings: Settings, job_id: str, env: dict[str, str], worker: str) -> str:
    """Run one attempt of a claimed job to its end; the job's status afterwards."""
    if not begin_attempt(settings, job_id, worker):
        return _status(settings, job_id)
    with tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "tracer.training_worker", job_id, str(os.getpid())],
            env=env, stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True)
        while True:
            try:
                process.wait(timeout=settings.training.poll_seconds)
                break
            except subprocess.TimeoutExpired:
                pass
            try:
                stop = _should_stop(settings, job_id)
            except Exception as exc:  # noqa: BLE001 -- the database is away: ask again
                log.warning("job %s: cannot read its state (%s); next poll", job_id, exc)
                continue
            if stop:
                _kill(process)
        stderr.seek(0)
        lines = stderr.read().decode(errors="replace").strip().splitlines()
    tail = lines[-1:] if lines else []
    fail_unfinished(settings, job_id, f"the training worker exited with status "
                    f"{process.returncode} before finishing" + (f": {tail[0]}" if tail else ""))
    return _status(settings, job_id)


def _should_stop(settings: Settings, job_id: str) -> bool:
    """Report a heartbeat; True when the job is no longer to run (cancelled, timed out)."""
    with session(settings) as s:
        job = s.get(TrainingJob, job_id)
        if job is None or job.status not in ACTIVE:
            return True
        job.heartbeat_at = utcnow()
        started = job.started_at
    limit = settings.training.max_seconds
    if started is not None and utcnow() - _aware(started) > timedelta(seconds=limit):
        return fail_unfinished(settings, job_id, f"the job ran past its wall-time limit of "
                               f"{limit:g} s (training.max_seconds) and was stopped; champion "
                               "unchanged", before_commit=True)
    return False


def _kill(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(OSError):  # gone already
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _aware(moment: datetime) -> datetime:
    from datetime import UTC

    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _status(settings: Settings, job_id: str) -> str:
    with session(settings) as s:
        job = s.get(TrainingJob, job_id)
        return "gone" if job is None else job.status
