"""Usage metering: each predicted row, install and training run is metered once, in the
same transaction as the act, even when the client retries with the same Idempotency-Key;
over-quota requests store and meter nothing."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from tests.api.conftest import LOL, enable, records_of, train_champion


def _counts(settings, tenant):
    from tracer.db import session
    from tracer.models import StoredPrediction, UsageEvent

    with session(settings) as s:
        rows = s.scalar(select(func.count()).select_from(StoredPrediction).where(
            StoredPrediction.tenant_id == tenant))
        events = list(s.scalars(select(UsageEvent).where(UsageEvent.tenant_id == tenant,
                                                         UsageEvent.kind == "prediction")))
    return rows, len(events), sum(e.quantity for e in events)


@pytest.fixture
def served(client, make_caller, host, store, lol_reference):
    caller = make_caller("acme")
    enable(client, caller)
    train_champion(host, store, "acme", lol_reference.head(600))
    return caller


def test_retries_with_one_idempotency_key_meter_the_rows_once(client, served, store,
                                                              lol_reference):
    body = {"records": records_of(lol_reference.tail(3))}
    headers = {**served.headers, "Idempotency-Key": "order-17"}
    answers = [client.post(f"/v1/domains/{LOL}/predict", headers=headers, json=body)
               for _ in range(4)]
    assert {a.status_code for a in answers} == {200}
    ids = {tuple(p["prediction_id"] for p in a.json()["predictions"]) for a in answers}
    assert len(ids) == 1
    assert _counts(store.settings, "acme") == (3, 1, 3)
    reused = client.post(f"/v1/domains/{LOL}/predict", headers=headers,
                         json={"records": records_of(lol_reference.tail(1))})
    assert reused.status_code == 409 and "Idempotency-Key" in reused.json()["detail"]
    client.post(f"/v1/domains/{LOL}/predict", headers=served.headers, json=body)
    assert _counts(store.settings, "acme") == (6, 2, 6)
    usage = client.get("/v1/usage", headers=served.headers).json()
    assert usage["totals"] == {"install": 1, "prediction": 6}
    assert usage["predictions_this_month"] == 6


def test_concurrent_retries_meter_once(client, served, store, lol_reference):
    body = {"record": records_of(lol_reference.tail(1))[0]}
    headers = {**served.headers, "Idempotency-Key": "race-1"}
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: client.post(f"/v1/domains/{LOL}/predict",
                                                      headers=headers, json=body), range(8)))
    assert {a.status_code for a in answers} == {200}
    assert len({a.json()["predictions"][0]["prediction_id"] for a in answers}) == 1
    assert _counts(store.settings, "acme") == (1, 1, 1)


def test_install_is_metered_once_under_retries(client, make_caller, store):
    from tracer.db import session
    from tracer.models import UsageEvent

    caller = make_caller("acme")
    headers = {**caller.headers, "Idempotency-Key": "install-1"}
    first, again = (client.post(f"/v1/domains/{LOL}/install", headers=headers)
                    for _ in range(2))
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json() and first.json()["enabled"] is False
    assert client.post(f"/v1/domains/{LOL}/install", headers=caller.headers
                       ).status_code == 409
    with session(store.settings) as s:
        events = list(s.scalars(select(UsageEvent).where(UsageEvent.kind == "install")))
    assert [e.id for e in events] == [f"install:{first.json()['id']}"]


def test_over_quota_without_overage_is_429_and_stores_nothing(client, served, store,
                                                             lol_reference):
    from tracer.db import session
    from tracer.models import Tenant

    store.settings.tiers["starter"].predictions_per_month = 3
    with session(store.settings) as s:
        s.get(Tenant, "acme").tier = "starter"
    two = {"records": records_of(lol_reference.tail(2))}
    assert client.post(f"/v1/domains/{LOL}/predict", headers=served.headers, json=two
                       ).status_code == 200
    refused = client.post(f"/v1/domains/{LOL}/predict", headers=served.headers, json=two)
    assert refused.status_code == 429
    assert refused.json()["limit"] == 3 and "3 predictions a month" in refused.json()["detail"]
    assert _counts(store.settings, "acme") == (2, 1, 2)


def test_over_quota_with_overage_is_served_and_counts_the_overage(client, served, store,
                                                                 lol_reference):
    store.settings.tiers["professional"].predictions_per_month = 3
    two = {"records": records_of(lol_reference.tail(2))}
    first = client.post(f"/v1/domains/{LOL}/predict", headers=served.headers, json=two)
    second = client.post(f"/v1/domains/{LOL}/predict", headers=served.headers, json=two)
    assert (first.json()["overage"], second.json()["overage"]) == (0, 1)
    usage = client.get("/v1/usage", headers=served.headers).json()
    assert usage["overage_predictions"] == 1
    assert [e["attrs"]["overage"] for e in usage["events"] if e["kind"] == "prediction"
            ] == [0, 1]
