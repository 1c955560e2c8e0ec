"""Cancel by API and CLI, on the local backend and on Dask: the worker is killed, the job is
cancelled (again and again: idempotent), no other tenant can touch it, nothing is
registered or metered and the champion stays."""

from __future__ import annotations

import psutil
from sqlalchemy import select

from tests.api.conftest import train_champion, wait_for_job
from tests.training.conftest import LONG, SHORT, job_row, post_job, wait_until

MODEL = "acme.esports.lol-10min"


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def running_in_worker(settings, job_id: str):  # type: ignore[no-untyped-def]
    row = job_row(settings, job_id)
    return row if row.stage == "select" and row.pid else None


def training_runs(settings) -> list:  # type: ignore[no-untyped-def]
    from tracer.db import session
    from tracer.models import UsageEvent

    with session(settings) as s:
        return list(s.scalars(select(UsageEvent).where(UsageEvent.kind == "training_run")))


def test_cancel_kills_the_worker_and_leaves_the_champion(
        client, acme, make_caller, backend, settings, host, store, lol_reference):
    train_champion(host, store, "acme", lol_reference.head(300),
                   params={"candidates": ["logistic regression C=1"]})
    job_id = post_job(client, acme, LONG)
    row = wait_until(lambda: running_in_worker(settings, job_id), "the worker to train")
    globex = make_caller("globex")
    assert client.post(f"/v1/jobs/{job_id}/cancel", headers=globex.headers).status_code == 404
    first = client.post(f"/v1/jobs/{job_id}/cancel", headers=acme.headers)
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "cancelled" and "cancelled" in first.json()["error"]
    again = client.post(f"/v1/jobs/{job_id}/cancel", headers=acme.headers)
    assert again.status_code == 200 and again.json() == first.json()
    wait_until(lambda: gone(row.pid), "the worker process to be killed")
    assert wait_for_job(client, acme, job_id)["status"] == "cancelled"
    assert store.alias(MODEL, "champion").version == 1
    assert [v.version for v in store.versions(MODEL)] == [1]
    assert training_runs(settings) == []
    decisions = client.get("/v1/domains/esports/lol-10min/retraining-decisions",
                           headers=acme.headers).json()["decisions"]
    assert decisions[0]["action"] == "cancelled"
    # a finished job can no longer be cancelled
    done = post_job(client, acme, SHORT)
    assert wait_for_job(client, acme, done)["status"] == "succeeded"
    late = client.post(f"/v1/jobs/{done}/cancel", headers=acme.headers)
    assert late.status_code == 409 and late.json()["job_status"] == "succeeded"
    assert client.post("/v1/jobs/nope/cancel", headers=acme.headers).status_code == 404


def test_cli_cancels_a_job_the_api_runs(client, acme, settings, monkeypatch):
    from tracer import settings as settings_module
    from tracer.cli import context, main

    monkeypatch.setenv("TRACER_DATABASE_URL", settings.platform_db_url)
    settings_module.reset_settings()
    context.reset()
    settings.training.poll_seconds = 0.2
    settings.training.max_rounds = 10_000_000
    job_id = post_job(client, acme, LONG)
    row = wait_until(lambda: running_in_worker(settings, job_id), "the worker to train")
    assert main(["jobs", "cancel", job_id, "--tenant", "globex"]) == 1  # not theirs
    assert job_row(settings, job_id).status == "running"
    assert main(["jobs", "cancel", job_id, "--tenant", "acme"]) == 0
    assert main(["jobs", "cancel", job_id, "--tenant", "acme"]) == 0  # idempotent
    wait_until(lambda: gone(row.pid), "the worker process to be killed")
    assert job_row(settings, job_id).status == "cancelled"
