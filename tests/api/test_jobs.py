"""Training jobs run in a worker process: the request returns a job at once, the job
reports progress, a crashed worker is reported failed and the champion stays as it was."""

from __future__ import annotations

import os
import signal
import time

from sqlalchemy import select

from tests.api.conftest import LOL, enable, train_champion, upload, wait_for_job


def test_job_trains_in_a_worker_meters_one_run_and_serves_the_new_champion(
        client, make_caller, lol_reference):
    acme = make_caller("acme")
    enable(client, acme)
    dataset = upload(client, acme, lol_reference.head(900))
    started = client.post(f"/v1/domains/{LOL}/jobs", headers=acme.headers,
                          json={"use_reference": False, "dataset_ids": [dataset["id"]]})
    assert started.status_code == 202
    assert started.json()["status"] == "queued" and started.json()["progress"] == 0.0
    # the API answers other requests while the worker trains
    assert client.get("/v1/usage", headers=acme.headers).status_code == 200
    job = wait_for_job(client, acme, started.json()["id"])
    assert job["status"] == "succeeded", job["error"]
    assert (job["progress"], job["model_version"], job["promoted"]) == (1.0, 1, True)
    assert job["rows"]["datasets"] == 900 and job["rows"]["evaluation"] == 180
    models = client.get(f"/v1/domains/{LOL}/models", headers=acme.headers).json()
    assert models["model"] == "acme.esports.lol-10min"
    assert models["versions"][0]["aliases"] == ["challenger", "champion"]
    usage = client.get("/v1/usage", headers=acme.headers).json()
    assert usage["totals"]["training_run"] == 1
    decisions = client.get(f"/v1/domains/{LOL}/retraining-decisions",
                           headers=acme.headers).json()["decisions"]
    assert [d["action"] for d in decisions] == ["promoted"]


def test_a_killed_worker_is_reported_failed_and_leaves_the_champion(
        client, make_caller, host, store, lol_reference):
    from tracer.db import session
    from tracer.models import TrainingJob, UsageEvent

    acme = make_caller("acme")
    enable(client, acme)
    train_champion(host, store, "acme", lol_reference.head(600))
    started = client.post(f"/v1/domains/{LOL}/jobs", headers=acme.headers, json={})
    job_id = started.json()["id"]
    pid = None
    for _ in range(2000):
        with session(store.settings) as s:
            pid = s.get(TrainingJob, job_id).pid
        if pid:
            break
        time.sleep(0.01)
    os.kill(pid, signal.SIGKILL)
    job = wait_for_job(client, acme, job_id)
    assert job["status"] == "failed"
    assert "exited with status -9" in job["error"]
    assert store.alias("acme.esports.lol-10min", "champion").version == 1
    with session(store.settings) as s:
        assert list(s.scalars(select(UsageEvent).where(UsageEvent.kind == "training_run"))) \
            == []
    decisions = client.get(f"/v1/domains/{LOL}/retraining-decisions",
                           headers=acme.headers).json()["decisions"]
    assert decisions[0]["action"] == "failed" and "champion unchanged" in decisions[0]["message"]
    # a second job is accepted: the failed one no longer blocks the domain
    again = client.post(f"/v1/domains/{LOL}/jobs", headers=acme.headers,
                        json={"use_reference": False, "dataset_ids": []})
    assert again.status_code == 202
    failed = wait_for_job(client, acme, again.json()["id"])
    assert failed["status"] == "failed" and "no records" in failed["error"]
    assert store.alias("acme.esports.lol-10min", "champion").version == 1
