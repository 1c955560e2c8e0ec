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
    from tracer.jobs import TrainingJob

    with session(settings) as s:
        row = s.get(TrainingJob, job_id)
        s.expunge(row)
        return row


@pytest.fixture(scope="session")
def dask_cluster():
    """Two Dask worker processes (one thread each) behind a scheduler, with nannies that
    restart a killed worker; shared by the module's tests."""
    from distributed import LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           dashboard_address=":0", silence_logs=40)
    yield cluster
    from tracer.dask_training import close_clients

    close_clients()
    cluster.close()


@pytest.fixture(params=["local", "dask"])
def backend(request, settings):
    """Run the test on the local backend and on the Dask cluster."""
    settings.training_poll_seconds = 0.2
    settings.training_max_rounds = 10_000_000
    if request.param == "dask":
        cluster = request.getfixturevalue("dask_cluster")
        settings.training_backend = "dask"
        settings.dask_scheduler_address = cluster.scheduler_address
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
