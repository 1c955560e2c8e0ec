"""One ``idempotency.once`` behind install, feedback and training: concurrent retries with
one Idempotency-Key all get the first answer, and the act happens once (predict has its own
path through the group-commit writer, tested in test_group_commit and test_metering)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from tests.api.conftest import LOL, enable, records_of, train_champion, wait_for_job

RETRIES = 6


def race(client, path: str, headers: dict[str, str], json=None) -> list:
    with ThreadPoolExecutor(RETRIES) as pool:
        return list(pool.map(lambda _: client.post(path, headers=headers, json=json),
                             range(RETRIES)))


def count(settings, model, *where) -> int:
    from tracer.db import session

    with session(settings) as s:
        return int(s.scalar(select(func.count()).select_from(model).where(*where)))


def test_concurrent_install_retries_get_the_first_answer(client, make_caller, store):
    from tracer.models import DomainInstall, UsageEvent

    caller = make_caller("acme")
    answers = race(client, f"/v1/domains/{LOL}/install",
                   {**caller.headers, "Idempotency-Key": "install-race"})
    assert [a.status_code for a in answers] == [201] * RETRIES, answers[0].text
    assert len({a.text for a in answers}) == 1
    assert count(store.settings, DomainInstall, DomainInstall.tenant_id == "acme") == 1
    assert count(store.settings, UsageEvent, UsageEvent.tenant_id == "acme",
                 UsageEvent.kind == "install") == 1
    # without the key, a second install is what it is: a conflict
    again = client.post(f"/v1/domains/{LOL}/install", headers=caller.headers)
    assert again.status_code == 409


def test_concurrent_feedback_retries_get_the_first_answer(client, make_caller, host, store,
                                                          lol_reference):
    from tracer.models import Outcome

    caller = make_caller("acme")
    enable(client, caller)
    train_champion(host, store, "acme", lol_reference.head(600))
    predicted = client.post(f"/v1/domains/{LOL}/predict", headers=caller.headers,
                            json={"records": records_of(lol_reference.tail(3))}).json()
    body = {"outcomes": [{"prediction_id": p["prediction_id"], "outcome": 1}
                         for p in predicted["predictions"]]}
    answers = race(client, "/v1/feedback", {**caller.headers, "Idempotency-Key": "fb-race"},
                   body)
    assert [a.status_code for a in answers] == [200] * RETRIES, answers[0].text
    firsts = {(a.json()["recorded"], tuple(a.json()["outcome_ids"])) for a in answers}
    assert len(firsts) == 1 and next(iter(firsts))[0] == 3
    assert count(store.settings, Outcome, Outcome.tenant_id == "acme") == 3
    reused = client.post("/v1/feedback", headers={**caller.headers, "Idempotency-Key": "fb-race"},
                         json={"outcomes": body["outcomes"][:1]})
    assert reused.status_code == 409 and "Idempotency-Key" in reused.json()["detail"]


def test_concurrent_training_retries_start_one_job(client, make_caller, store):
    from tracer.models import TrainingJob, UsageEvent

    caller = make_caller("acme")
    enable(client, caller)
    # no data at all: the one job fails fast in its worker; what matters is that it is one
    options = {"use_reference": False, "include_feedback": False}
    answers = race(client, f"/v1/domains/{LOL}/jobs",
                   {**caller.headers, "Idempotency-Key": "train-race"}, options)
    assert [a.status_code for a in answers] == [202] * RETRIES, answers[0].text
    assert len({a.json()["id"] for a in answers}) == 1
    assert count(store.settings, TrainingJob, TrainingJob.tenant_id == "acme") == 1
    job_id = answers[0].json()["id"]
    wait_for_job(client, caller, job_id)
    for thread in threading.enumerate():  # the launcher records the worker's exit last
        if thread.name == f"training-job-{job_id[:8]}":
            thread.join()
    assert count(store.settings, UsageEvent, UsageEvent.tenant_id == "acme",
                 UsageEvent.kind == "training_run") <= 1


@pytest.mark.parametrize("settings", ["sqlite"], indirect=True)
def test_once_without_a_key_runs_every_time(settings):
    from tracer import db
    from tracer.api.idempotency import once

    db.upgrade(settings)
    calls = []

    def act(s):
        calls.append(1)
        return 200, {"n": len(calls)}

    answers = [once(settings, "acme", None, "r", {}, act) for _ in range(3)]
    assert [a.body["n"] for a in answers] == [1, 2, 3] and not any(a.replayed for a in answers)
