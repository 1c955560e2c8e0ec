"""Trainer parameters and rows over the settings' bounds are refused before any job exists
(422 naming the field and the bound); the worker holds the row bound on the whole frame."""

from __future__ import annotations

from operator import attrgetter

import pytest

from tests.api.conftest import wait_for_job
from tests.training.conftest import LOL, SHORT, post_job


@pytest.mark.parametrize(("param", "value", "setting"), [
    ("num_boost_round", 20_001, "training.max_rounds"),
    ("n_estimators", 1e9, "training.max_rounds"),
    ("max_depth", 13, "training.max_depth")])
def test_out_of_bound_parameters_are_refused_and_no_job_is_created(
        client, acme, settings, param, value, setting):
    settings.training.max_rounds = 20_000
    answer = client.post(f"/v1/domains/{LOL}/jobs", headers=acme.headers,
                         json={"params": {param: value}})
    assert answer.status_code == 422
    problem = answer.json()
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert problem["field"] == f"params.{param}"
    assert problem["limit"] == attrgetter(setting)(settings)
    assert setting in problem["detail"]
    assert client.get("/v1/jobs", headers=acme.headers).json()["jobs"] == []
    # at the bound it is accepted
    ok = client.post(f"/v1/domains/{LOL}/jobs", headers=acme.headers,
                     json={"params": {param: attrgetter(setting)(settings)},
                           "dataset_ids": [], "use_reference": False})
    assert ok.status_code == 202, ok.text
    assert wait_for_job(client, acme, ok.json()["id"])["status"] == "failed"  # no records


def test_datasets_over_the_row_bound_are_refused(client, acme, settings):
    settings.training.max_rows = 299  # the dataset holds 300
    answer = client.post(f"/v1/domains/{LOL}/jobs", headers=acme.headers,
                         json={"dataset_ids": [acme.dataset]})
    assert answer.status_code == 422
    assert answer.json()["field"] == "dataset_ids" and answer.json()["limit"] == 299
    assert client.get("/v1/jobs", headers=acme.headers).json()["jobs"] == []


def test_the_worker_refuses_a_frame_over_the_row_bound(client, acme, settings, store):
    """Reference data counts too: only the worker sees the whole frame."""
    settings.training.max_rows = 1_000  # 300 rows of the dataset + the reference data
    job_id = post_job(client, acme, {**SHORT, "use_reference": True})
    job = wait_for_job(client, acme, job_id)
    assert job["status"] == "failed"
    assert "training.max_rows" in job["error"] and "1,000" in job["error"]
    assert store.versions("acme.esports.lol-10min") == []
