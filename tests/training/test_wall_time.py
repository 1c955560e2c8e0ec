"""The wall-time bound fails a running job cleanly: its worker is killed, the job says why,
nothing is registered or metered and the champion stays."""

from __future__ import annotations

from tests.api.conftest import train_champion, wait_for_job
from tests.training.conftest import LONG, job_row, post_job, wait_until
from tests.training.test_cancel import MODEL, gone, training_runs


def test_a_job_past_its_wall_time_is_killed_and_failed(
        client, acme, backend, settings, host, store, lol_reference):
    train_champion(host, store, "acme", lol_reference.head(300),
                   params={"candidates": ["logistic regression C=1"]})
    settings.training.max_seconds = 3.0
    job_id = post_job(client, acme, LONG)
    job = wait_for_job(client, acme, job_id)
    assert job["status"] == "failed"
    assert "wall-time limit of 3 s (training.max_seconds)" in job["error"]
    pid = job_row(settings, job_id).pid  # None: killed before it said its pid
    assert pid is None or wait_until(lambda: gone(pid), "the worker process to be killed")
    assert store.alias(MODEL, "champion").version == 1
    assert [v.version for v in store.versions(MODEL)] == [1]
    assert training_runs(settings) == []
