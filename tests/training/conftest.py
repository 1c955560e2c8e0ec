"""Training-job fixtures: the API fixtures (real app, SQLite or PostgreSQL, MLflow in tmp),
a real Dask ``LocalCluster`` of worker processes, a backend switch and a long job."""

from __future__ import annotations

import time

import pytest

from tests.api import conftest as api
from tests.api.conftest import LOL, enable, upload

# the API tests' fixtures, registered here by name: a real app on SQLite and PostgreSQL
settings, app, client = api.settings, api.app, api.client
make_caller, lol_reference = api.make_caller, api.lol_reference

#: a job that boosts until it is stopped: millions of rounds, no early stopping
LONG = {"use_reference": False, "candidates": ["domain trainer"],
        "params": {"num_boost_round": 5_000_000, "early_stopping_rounds": 0}}
#: a job that trains in seconds
SHORT = {"use_reference": False, "candidates": ["logistic regression C=1"]}


def wait_until(check, what: str, polls: int = 2400):  # type: ignore[no-untyped-def]
    """Poll ``check`` until it returns something truthy (bounded polls, no time assert)."""
    for _ in range(polls):
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"gave up waiting for {what}")


def job_row(settings, job_id: str):  # type: ignore[no-untyped-def]
    from tracer.db import session
    from tracer.models import TrainingJob

    with session(settings) as s:
        row = s.get(TrainingJob, job_id)
        s.expunge(row)
        return row


def local_cluster():  # type: ignore[no-untyped-def]
    """Two Dask worker processes (one thread each) behind a scheduler, with nannies that
    restart a killed worker."""
    from distributed import LocalCluster

    return LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                        dashboard_address=":0", silence_logs=40)


@pytest.fixture(scope="session")
def dask_cluster():
    """A cluster the tests that kill no worker share."""
    cluster = local_cluster()
    yield cluster
    from tracer.dask_training import close_clients

    close_clients()
    cluster.close()


@pytest.fixture
def dask_processes(tmp_path):
    """A scheduler and two nanny-kept workers as separate processes, as a deployment runs
    them (``dask scheduler``, ``dask worker``): a killed worker is restarted by its nanny.
    The scheduler's address."""
    import json
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path

    dask = Path(sys.executable).with_name("dask")
    file = tmp_path / "scheduler.json"
    common = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL,
              "start_new_session": True}
    procs = [subprocess.Popen([str(dask), "scheduler", "--host", "127.0.0.1", "--port", "0",
                               "--no-dashboard", "--scheduler-file", str(file)], **common)]
    wait_until(file.exists, "the scheduler to write its address")
    for _ in range(2):
        procs.append(subprocess.Popen([str(dask), "worker", "--scheduler-file", str(file),
                                       "--nthreads", "1", "--no-dashboard",
                                       "--host", "127.0.0.1"], **common))
    address = wait_until(lambda: json.loads(file.read_text() or "{}").get("address"),
                         "the scheduler's address")
    from distributed import Client

    with Client(address, timeout=60) as c:
        c.wait_for_workers(2, timeout=300)
    yield address
    from tracer.dask_training import close_clients

    close_clients()
    for proc in reversed(procs):
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@pytest.fixture(params=["local", "dask"])
def backend(request, settings):
    """Run the test on the local backend and on the Dask cluster."""
    settings.training.poll_seconds = 0.2
    settings.training.max_rounds = 10_000_000
    if request.param == "dask":
        cluster = request.getfixturevalue("dask_cluster")
        settings.training.backend = "dask"
        settings.training.dask_scheduler_address = cluster.scheduler_address
    return request.param


@pytest.fixture
def acme(client, make_caller, lol_reference):
    caller = make_caller("acme")
    enable(client, caller)
    caller.dataset = upload(client, caller, lol_reference.head(300))["id"]
    return caller


def post_job(client, caller, body: dict) -> str:
    answer = client.post(f"/v1/domains/{LOL}/jobs", headers=caller.headers,
                         json={**body, "dataset_ids": [caller.dataset]})
    assert answer.status_code == 202, answer.text
    return answer.json()["id"]


def stage_of(client, caller, job_id: str) -> dict:
    return client.get(f"/v1/jobs/{job_id}", headers=caller.headers).json()
