"""/metrics: who may read it, and that requests, predictions, spend and training runs show
per tenant, domain and model version."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.api.conftest import LOL, enable, records_of, train_champion


def samples(client, headers) -> dict[tuple[str, frozenset], float]:
    answer = client.get("/metrics", headers=headers)
    assert answer.status_code == 200, answer.text
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(answer.text) for s in family.samples}


def value(found, name, **labels) -> float:
    want = set(labels.items())
    return sum(v for (n, ls), v in found.items() if n == name and want <= ls)


@pytest.fixture
def admin(make_caller):
    return make_caller(None, role="admin")


def test_only_operators_read_metrics(client, make_caller, admin, settings):
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 401
    tenant = make_caller("acme")
    refused = client.get("/metrics", headers=tenant.headers)
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert client.get("/metrics", headers=admin.headers).status_code == 200
    settings.telemetry.metrics_token = "scrape-secret-1"
    assert client.get("/metrics", headers={"Authorization": "Bearer scrape-secret-1"}
                      ).status_code == 200
    assert client.get("/metrics", headers={"Authorization": "Bearer scrape-secret-2"}
                      ).status_code == 401


def test_requests_and_predictions_per_tenant_domain_and_version(client, make_caller, admin,
                                                                host, store, lol_reference):
    caller = make_caller("acme")
    enable(client, caller)
    train_champion(host, store, "acme", lol_reference.head(600))
    before = samples(client, admin.headers)
    route = "/v1/domains/{domain:path}/predict"
    labels = {"tenant": "acme", "domain": LOL, "model_version": "1", "route": route}
    body = {"records": records_of(lol_reference.tail(3))}
    for _ in range(2):
        assert client.post(f"/v1/domains/{LOL}/predict", headers=caller.headers,
                           json=body).status_code == 200
    bad = client.post(f"/v1/domains/{LOL}/predict", headers=caller.headers,
                      json={"record": {"nonsense": 1}})
    assert bad.status_code == 422
    replay = {**caller.headers, "Idempotency-Key": "k-1"}
    for _ in range(2):  # a replay is answered, not predicted again
        client.post(f"/v1/domains/{LOL}/predict", headers=replay, json=body)
    after = samples(client, admin.headers)

    def grew(name, **more):
        return value(after, name, **more) - value(before, name, **more)

    assert grew("tracer_predictions_total", tenant="acme", domain=LOL, model_version="1") == 9
    # two predictions and the first of the Idempotency-Key; its replay names no version
    assert grew("tracer_http_requests_total", **labels, code="2xx", method="POST") == 3
    assert grew("tracer_http_request_duration_seconds_count", **labels) == 3
    assert grew("tracer_http_requests_total", **{**labels, "model_version": ""},
                code="2xx") == 1
    # the invalid request never reached the model: its version is not known, the rest is
    assert grew("tracer_http_requests_total", tenant="acme", domain=LOL, route=route,
                code="4xx", model_version="") == 1
    assert grew("tracer_http_request_duration_seconds_bucket", **labels, le="+Inf") == 3
    # unknown paths and domains do not make new label values (the registry is process-wide:
    # other tests in this process may have named other loaded domains before)
    def domains() -> set[str | None]:
        return {dict(ls).get("domain") for (n, ls) in samples(client, admin.headers)
                if n == "tracer_http_requests_total"}

    known = domains()
    client.get("/v1/domains/no-such/thing/at/all", headers=caller.headers)
    client.get("/nowhere/" + "x" * 50, headers=caller.headers)
    assert domains() - known <= {""} and LOL in known
    routes = {dict(ls).get("route") for (n, ls) in samples(client, admin.headers)
              if n == "tracer_http_requests_total"}
    assert not any("nowhere" in r for r in routes) and "unmatched" in routes


def test_spend_and_training_runs_come_from_the_database(client, make_caller, admin, settings):
    from tracer.db import session
    from tracer.usage import record_usage

    make_caller("acme")  # professional: $499 a month, overage at $0.01
    make_caller("bolt", tier="starter")
    with session(settings) as s:
        record_usage(s, "training_run:j1", tenant_id="acme", kind="training_run")
        record_usage(s, "training_run:j2", tenant_id="acme", kind="training_run")
    found = samples(client, admin.headers)
    assert value(found, "tracer_database_up") == 1
    assert value(found, "tracer_tenant_spend_micros", tenant="acme", tier="professional",
                 currency="USD") == 49_900 * 10_000 + 2 * settings.billing.training_run_price_micros
    assert value(found, "tracer_tenant_spend_micros", tenant="bolt") == 9_900 * 10_000
    assert value(found, "tracer_tenant_predictions_allowance", tenant="bolt") == 10_000
    assert value(found, "tracer_tenant_predictions_period", tenant="bolt") == 0


def test_spend_counts_overage_only_where_the_tier_allows_it(db):
    from datetime import UTC, datetime

    from tracer import tenancy
    from tracer.db import session
    from tracer.models import PredictionCounter
    from tracer.spend import spend_for

    when = datetime(2026, 11, 15, tzinfo=UTC)
    with session(db) as s:
        tenancy.create_tenant(s, "big", "Big", "professional", db.tiers)
        tenancy.create_tenant(s, "small", "Small", "starter", db.tiers)
        s.add(PredictionCounter(tenant_id="big", period="2026-11", rows=250_010))
        s.add(PredictionCounter(tenant_id="small", period="2026-11", rows=10_000))
        s.add(PredictionCounter(tenant_id="big", period="2026-10", rows=999_999))
    with session(db) as s:
        big, small = spend_for(s, db, "big", when), spend_for(s, db, "small", when)
    assert big is not None and small is not None
    assert (big.predictions, big.overage_predictions) == (250_010, 10)
    assert big.total_micros == 49_900 * 10_000 + 10 * db.billing.overage_price_micros
    assert (small.overage_predictions, small.total_micros) == (0, 9_900 * 10_000)


def test_a_scrape_answers_when_the_database_does_not(client, admin, settings):
    from tracer.api.scrape import exposition

    settings.database_url = "sqlite:////nonexistent-dir/none.db"
    body, _ = exposition(settings)
    assert b"tracer_database_up 0.0" in body
