"""Faults under load, through the balancer, counted in the database.

- One API worker is killed (SIGKILL) while many clients predict, each request with its own
  Idempotency-Key; a failed request is retried with the same key. Every key is acknowledged
  once, and the database holds exactly one prediction and one usage event per key: lost 0,
  duplicated 0.
- PostgreSQL is stopped mid-load and started again: meanwhile requests end with a problem
  document (503, or the balancer's 502/503/504), never a hang or a 500 with a stack; after
  it is back every retried key is acknowledged, again with nothing lost or duplicated.

The counts are printed (``-s``) for the record; bench/results/cluster.md quotes a run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
import uuid

import pytest

from tests.cluster.conftest import enabled, trained
from tests.cluster.load import run_load, stored_counts, stored_ids

pytestmark = pytest.mark.cluster

REQUESTS = 600


@pytest.fixture(scope="module")
def champion(cluster, admin_key, lol_records):
    """A tenant with a trained champion (module-wide: the fault tests share it)."""
    import httpx

    admin = {"Authorization": f"Bearer {admin_key}"}
    tenant = f"faults-{uuid.uuid4().hex[:8]}"
    with httpx.Client(base_url=cluster.url, timeout=120) as api:
        assert api.post("/v1/admin/tenants", headers=admin, json={
            "id": tenant, "name": "Faults", "tier": "enterprise"}).status_code == 201
        key = api.post("/v1/admin/keys", headers=admin,
                       json={"role": "tenant", "tenant_id": tenant}).json()["key"]
        headers = {"Authorization": f"Bearer {key}"}
        enabled(api, headers)
        trained(api, headers)
    records = [{k: v for k, v in r.items() if k != "blueWins"} for r in lol_records[:500]]
    return tenant, headers, records


def check_exactly_once(engine, tenant: str, load, keys: list[str], before: dict[str, int]
                       ) -> dict[str, int]:
    after = stored_counts(engine, tenant)
    added = {k: after[k] - before[k] for k in after}
    acknowledged = set(load.acknowledged.values())
    stored = stored_ids(engine, tenant)
    counts = {"requests": len(keys), "acknowledged": len(load.acknowledged),
              "lost": len(acknowledged - stored),
              "duplicated": added["prediction_rows"] - len(keys),
              "usage_duplicated": added["usage_quantity"] - len(keys),
              **{f"stored_{k}": v for k, v in added.items()}}
    print(f"\n{counts}\nattempts: {dict(load.attempts)}")
    assert load.bad == [], load.bad[:5]
    assert len(load.acknowledged) == len(keys)  # every key acknowledged in the end
    assert len(acknowledged) == len(keys)  # one prediction id per key
    assert counts["lost"] == 0
    assert added["prediction_rows"] == added["prediction_ids"] == len(keys)
    assert added["usage_rows"] == added["usage_ids"] == len(keys)
    assert added["usage_quantity"] == len(keys)
    return counts


def test_killing_an_api_worker_under_load_loses_and_duplicates_nothing(
        cluster, engine, champion):
    tenant, headers, records = champion
    keys = [f"kill-{uuid.uuid4().hex}" for _ in range(REQUESTS)]
    before = stored_counts(engine, tenant)
    victim = cluster.pid("api-1")
    killed = threading.Event()

    def kill_midway(done: int) -> None:
        if done >= REQUESTS // 4 and not killed.is_set():
            killed.set()
            os.kill(victim, signal.SIGKILL)

    try:
        load = run_load(cluster.url, headers, records, keys, on_progress=kill_midway)
    finally:
        cluster.up()  # the killed worker starts again
    assert killed.is_set()
    counts = check_exactly_once(engine, tenant, load, keys, before)
    assert counts["duplicated"] == 0 and counts["usage_duplicated"] == 0
    assert cluster.pid("api-1") != victim


def test_a_postgres_restart_mid_load_fails_requests_cleanly_and_recovers(
        cluster, engine, champion):
    tenant, headers, records = champion
    keys = [f"pg-{uuid.uuid4().hex}" for _ in range(REQUESTS)]
    before = stored_counts(engine, tenant)
    data = cluster.state / "postgres" / "data"
    pg_ctl = [os.path.join(os.environ["TRACER_CLUSTER_PG_BIN"], "pg_ctl"), "-D", str(data)]
    as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    stopped = threading.Event()

    def restart() -> None:
        subprocess.run([*as_owner, *pg_ctl, "-m", "fast", "-w", "stop"], check=True,
                       capture_output=True)
        time.sleep(3)  # an outage of a few seconds, under load
        cluster.up()  # starts PostgreSQL again on its data

    restarter: list[threading.Thread] = []

    def stop_midway(done: int) -> None:
        if done >= REQUESTS // 4 and not stopped.is_set():
            stopped.set()
            restarter.append(threading.Thread(target=restart))
            restarter[0].start()

    load = run_load(cluster.url, headers, records, keys, on_progress=stop_midway, retries=240)
    restarter[0].join()
    assert stopped.is_set()
    failed = sum(n for outcome, n in load.attempts.items() if outcome != "200")
    assert failed > 0, "the outage was not seen by any request"
    check_exactly_once(engine, tenant, load, keys, before)
