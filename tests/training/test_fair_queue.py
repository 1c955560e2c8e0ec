"""Per-tenant fair queueing: with bounded slots the next job to start is the oldest of the
tenant with the fewest running, so tenant B's job starts while tenant A has a long job
running and more queued, on the local backend and on Dask."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from tests.api.conftest import wait_for_job
from tests.training.conftest import LOL, LONG, SHORT, job_row, post_job, wait_until

T0 = datetime(2026, 12, 1, tzinfo=UTC)


def test_pick_takes_the_tenant_with_fewest_running_then_round_robin():
    from tracer.dispatch import Queued, pick

    queued = [Queued("a2", "a", T0), Queued("a3", "a", T0 + timedelta(1)),
              Queued("b1", "b", T0 + timedelta(2)), Queued("c1", "c", T0 + timedelta(3))]
    # a runs one: b and c run none; b's job is older
    assert pick(queued, Counter(a=1), {"a": T0}).id == "b1"
    # nobody runs: the tenant never started goes before the one started last
    assert pick(queued, Counter(), {"a": T0, "b": T0 + timedelta(5)}).id == "c1"
    assert pick(queued, Counter(), {"b": T0, "c": T0}).id == "a2"
    # within a tenant, oldest first; nothing queued, nothing picked
    assert pick(queued[:2], Counter(a=5), {}).id == "a2"
    assert pick([], Counter(), {}) is None


def test_claim_fills_free_slots_fairly_and_never_more(client, acme, make_caller, settings):
    """Claiming alone (no training): a's three queued jobs are older than b's one."""
    from tracer.db import session
    from tracer.dispatch import claim
    from tracer.jobs import create_job
    from tracer.models import TrainingJob

    make_caller("bravo")
    settings.training.slots = 2
    with session(settings) as s:
        a = [create_job(s, "acme", LOL, {}).id for _ in range(3)]
    with session(settings) as s:
        b = create_job(s, "bravo", LOL, {}).id
    assert claim(settings, "test") == [a[0], b]
    assert claim(settings, "test") == []  # both slots taken
    with session(settings) as s:
        job = s.get(TrainingJob, a[0])
        job.status = "succeeded"
    assert claim(settings, "test") == [a[1]]
    assert job_row(settings, a[2]).status == "queued"


def test_tenant_b_starts_while_tenant_a_runs_a_long_job_and_has_more_queued(
        client, acme, make_caller, backend, settings, lol_reference):
    from tracer.db import session
    from tracer.jobs import create_job

    from tests.api.conftest import enable, upload

    settings.training.slots = 2
    long_a = post_job(client, acme, LONG)
    wait_until(lambda: job_row(settings, long_a).status == "running", "a's long job to run")
    with session(settings) as s:  # a's backlog, queued before b asks (older than b's job)
        backlog = [create_job(s, "acme", LOL, {**LONG, "dataset_ids": [acme.dataset]}).id
                   for _ in range(2)]
    bravo = make_caller("bravo")
    enable(client, bravo)
    bravo.dataset = upload(client, bravo, lol_reference.head(300))["id"]
    b_job = post_job(client, bravo, SHORT)
    done = wait_for_job(client, bravo, b_job)
    assert done["status"] == "succeeded", done["error"]
    assert job_row(settings, long_a).status == "running"  # a's long job still holds its slot
    # b's job went first although a's backlog is older; then the free slot is a's again
    starts = sorted((job_row(settings, j).started_at or datetime.max.replace(tzinfo=UTC), j)
                    for j in backlog)
    assert job_row(settings, b_job).started_at.replace(tzinfo=None) <= min(
        st.replace(tzinfo=None) for st, _ in starts)
    for job_id in [long_a, *backlog]:
        client.post(f"/v1/jobs/{job_id}/cancel", headers=acme.headers)
    for job_id in [long_a, *backlog]:
        assert wait_for_job(client, acme, job_id)["status"] == "cancelled"
