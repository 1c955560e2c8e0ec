"""The tenant journey against the cluster's balancer, over real HTTP, every step on
whichever API worker HAProxy picks: install, enable, train, predict, feedback, retrain,
usage, and the operator's period close with the tenant's invoice.

The requests alternate between the workers (round robin), so each step also proves the
state it needs lives in the shared stores (PostgreSQL, the MLflow tracking server, the
shared TRACER_HOME), not in the worker that took the step before.
"""

from __future__ import annotations

import csv
import io
import os
import subprocess
from datetime import timedelta

import pytest

from tests.cluster.conftest import LOL, REPO, enabled, trained, wait_for_job

pytestmark = pytest.mark.cluster


def served_by_worker(cluster) -> dict[str, int]:
    """Requests each API worker answered, from HAProxy's stats (CSV)."""
    import httpx

    port = int(cluster.url.rsplit(":", 1)[1]) + 3
    rows = csv.DictReader(io.StringIO(
        httpx.get(f"http://127.0.0.1:{port}/;csv", timeout=10).text.lstrip("# ")))
    return {r["svname"]: int(r["stot"]) for r in rows
            if r["pxname"] == "workers" and r["svname"].startswith("api-")}


def close_the_period_with_the_tenants_usage(engine) -> str:
    """The operator's month-end: ``tracer payouts close`` (the CLI, on the same settings),
    with the clock pinned just past the period that holds today's usage."""
    from sqlalchemy.orm import Session
    from tracer.db import utcnow
    from tracer_registry.ledger.periods import (
        last_closed,
        next_period,
        period_end,
        period_of,
    )

    with Session(engine) as s:
        last = last_closed(s)
    period = period_of(utcnow())
    if last is not None and last >= period:  # a cluster that ran this test this month
        period = next_period(last)
    pinned = (period_end(period) + timedelta(minutes=1)).isoformat().replace("+00:00", "Z")
    closed = subprocess.run([str(REPO / ".venv" / "bin" / "tracer"), "payouts", "close",
                             period], env={**os.environ, "TRACER_CLOCK": pinned},
                            capture_output=True, text=True, cwd=REPO)
    assert closed.returncode == 0, closed.stdout + closed.stderr
    assert f"closed {period}" in closed.stdout
    return period


def test_a_tenant_installs_trains_predicts_reports_retrains_and_is_invoiced(
        cluster, api, engine, new_tenant, lol_records):
    who = new_tenant("journey")
    tenant = who.pop("X-Tenant")
    before = served_by_worker(cluster)

    # -- install and enable -------------------------------------------------------------
    domains = api.get("/v1/domains", headers=who)
    assert domains.status_code == 200
    assert LOL in [d["name"] for d in domains.json()["domains"]]
    enabled(api, who)

    # -- train: a job, polled on any worker, its model in the tracking server -------------
    first = trained(api, who)
    assert first["model_version"] == 1 and first["promoted"] is True
    models = api.get(f"/v1/domains/{LOL}/models", headers=who).json()
    assert [(m["version"], "champion" in m["aliases"]) for m in models["versions"]] == [
        (1, True)]

    # -- predict: one batch and single records, each answered once with reasons ----------
    records = [{k: v for k, v in r.items() if k != "blueWins"} for r in lol_records[:300]]
    batch = api.post(f"/v1/domains/{LOL}/predict", headers={**who, "Idempotency-Key":
                                                           f"{tenant}-batch"},
                     json={"records": records[:200]})
    assert batch.status_code == 200, batch.text
    answers = batch.json()["predictions"]
    singles = []
    for i, record in enumerate(records[200:]):
        one = api.post(f"/v1/domains/{LOL}/predict",
                       headers={**who, "Idempotency-Key": f"{tenant}-one-{i}"},
                       json={"record": record})
        assert one.status_code == 200, one.text
        singles.extend(one.json()["predictions"])
    answers += singles
    assert len(answers) == 300 and len({a["prediction_id"] for a in answers}) == 300
    assert all(0 <= a["probability"] <= 1 and a["factors"] for a in answers)
    assert {a["model"]["version"] for a in answers} == {1}
    replay = api.post(f"/v1/domains/{LOL}/predict", headers={**who, "Idempotency-Key":
                                                            f"{tenant}-one-0"},
                      json={"record": records[200]})  # a retry, maybe on the other worker
    assert replay.json()["predictions"][0]["prediction_id"] == singles[0]["prediction_id"]
    stored = api.get(f"/v1/predictions/{answers[-1]['prediction_id']}", headers=who)
    assert stored.status_code == 200 and stored.json()["outcome"] is None

    # -- feedback: the outcomes of all 300 ------------------------------------------------
    outcomes = [{"prediction_id": a["prediction_id"], "outcome": int(r["blueWins"])}
                for a, r in zip(answers, lol_records[:300], strict=True)]
    reported = api.post("/v1/feedback", headers=who, json={"outcomes": outcomes})
    assert reported.status_code == 200, reported.text
    assert reported.json()["recorded"] == 300
    metrics = api.get(f"/v1/domains/{LOL}/metrics", headers=who)
    assert metrics.status_code == 200, metrics.text

    # -- retrain on demand: a challenger that trained on the feedback rows ----------------
    started = api.post(f"/v1/domains/{LOL}/retrain", headers=who)
    assert started.status_code == 202, started.text
    second = wait_for_job(api, who, started.json()["id"])
    assert second["status"] == "succeeded", second
    assert second["model_version"] == 2 and second["rows"]["feedback"] == 300
    versions = api.get(f"/v1/domains/{LOL}/models", headers=who).json()["versions"]
    assert [v["version"] for v in versions] == [1, 2]

    # -- usage: every billable act once ---------------------------------------------------
    usage = api.get("/v1/usage", headers=who)
    assert usage.status_code == 200, usage.text
    totals = usage.json()["totals"]
    assert totals["prediction"] == 300, totals  # the replay was not metered again
    assert totals["training_run"] == 2, totals
    assert usage.json()["predictions_this_month"] == 300

    # -- the balancer spread the journey over every worker --------------------------------
    after = served_by_worker(cluster)
    assert len(after) == cluster.workers
    assert all(after[name] - before.get(name, 0) >= 10 for name in after), (before, after)

    # -- month-end: the operator closes the period; the tenant sees its invoice -----------
    period = close_the_period_with_the_tenants_usage(engine)
    invoice = api.get(f"/v1/invoices/{period}", headers=who)
    assert invoice.status_code == 200, invoice.text
    [bill] = invoice.json()["invoices"]
    lines = {line["kind"]: line for line in bill["lines"]}
    assert lines["training_run"]["quantity"] == 2
    assert lines["subscription"]["domain"] == "tier:professional"
    assert bill["totals"]["USD"]["net"] == sum(line["net"] for line in bill["lines"])
