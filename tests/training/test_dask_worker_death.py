"""A Dask worker killed mid-training: the training subprocess dies with it, the job is
started again on a worker (bounded by training.max_attempts) and, out of attempts, fails
with the reason; the champion stays, nothing is registered or metered."""

from __future__ import annotations

import os
import signal

import psutil

from tests.api.conftest import train_champion, wait_for_job
from tests.training.conftest import LONG, job_row, post_job, wait_until
from tests.training.test_cancel import MODEL, gone, running_in_worker, training_runs


def kill_dask_worker_of(pid: int) -> int:
    """SIGKILL the Dask worker process that started training subprocess ``pid``."""
    worker = psutil.Process(pid).ppid()
    assert "python" in psutil.Process(worker).name()
    os.kill(worker, signal.SIGKILL)
    return worker


def test_a_dead_dask_worker_retries_the_job_then_fails_it_with_the_reason(
        client, acme, dask_processes, settings, host, store, lol_reference):
    settings.training.backend = "dask"
    settings.training.dask_scheduler_address = dask_processes
    settings.training.poll_seconds = 0.2
    settings.training.max_rounds = 10_000_000
    settings.training.max_attempts = 2
    train_champion(host, store, "acme", lol_reference.head(300),
                   params={"candidates": ["logistic regression C=1"]})
    job_id = post_job(client, acme, LONG)
    first = wait_until(lambda: running_in_worker(settings, job_id), "attempt 1 to train")
    assert first.attempts == 1 and first.worker.startswith("dask tcp://")
    kill_dask_worker_of(first.pid)
    wait_until(lambda: gone(first.pid), "attempt 1's subprocess to die with its worker")

    def second_attempt():  # type: ignore[no-untyped-def]
        row = running_in_worker(settings, job_id)
        return row if row is not None and row.attempts == 2 else None

    second = wait_until(second_attempt, "attempt 2 to train")
    assert second.pid != first.pid
    kill_dask_worker_of(second.pid)
    job = wait_for_job(client, acme, job_id)
    assert job["status"] == "failed"
    assert "died during each of its 2 attempts (training.max_attempts)" in job["error"]
    assert job_row(settings, job_id).attempts == 2
    assert store.alias(MODEL, "champion").version == 1
    assert [v.version for v in store.versions(MODEL)] == [1]
    assert training_runs(settings) == []
