"""A running job nobody supervises is failed with the reason: at once when its supervising
process on this machine is gone, else once its heartbeat is too old; queued jobs start."""

from __future__ import annotations

import socket
import subprocess
import sys
from datetime import timedelta

from tests.training.conftest import LOL, job_row


def test_jobs_of_a_gone_supervisor_or_a_stale_heartbeat_fail_and_queued_ones_start(
        client, acme, settings, store):
    from tracer.db import session, utcnow
    from tracer.jobs import create_job, reap_orphans
    from tracer.models import TrainingJob

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    with session(settings) as s:
        orphan, stale, fresh, waiting = (create_job(s, "acme", LOL, {}) for _ in range(4))
        orphan.status, orphan.worker = "running", f"local {socket.gethostname()}:{dead.pid}"
        orphan.heartbeat_at = utcnow()
        stale.status, stale.worker = "running", "dask tcp://10.0.0.9:4000"
        stale.heartbeat_at = utcnow() - timedelta(seconds=settings.training.heartbeat_seconds + 1)
        fresh.status, fresh.worker = "running", "dask tcp://10.0.0.9:4001"
        fresh.heartbeat_at = utcnow()
        ids = [j.id for j in (orphan, stale, fresh, waiting)]
    settings.training.slots = 3  # the fresh job holds one; the waiting job takes one
    settings.training.backend, settings.training.dask_scheduler_address = "dask", None
    assert reap_orphans(settings) == 2
    rows = [job_row(settings, i) for i in ids]
    assert [r.status for r in rows] == ["failed", "failed", "running", "failed"]
    assert all("supervising the job is gone" in r.error for r in rows[:2])
    # the waiting job was claimed and sent to the backend, which could not take it: it says so
    assert "dask_scheduler_address is not set" in rows[3].error
    with session(settings) as s:
        assert s.get(TrainingJob, ids[2]).error is None
