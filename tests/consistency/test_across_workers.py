"""Two real API workers (``tracer serve`` processes) sharing one database: a change made
through one is seen by the other within its stated bound (docs/consistency.md), and
allowances hold across both. Each change is polled for with a generous bound, never timed."""

from __future__ import annotations

import json
import os
import uuid
from itertools import cycle

import httpx
import pytest

from tests.consistency.workers import environment, eventually, served

LOL = "esports/lol-10min"
TIERS = {"professional": {"monthly_price_cents": 49_900, "predictions_per_month": 250_000,
                          "training_runs_per_month": 100, "custom_domains": 5},
         "tiny": {"monthly_price_cents": 100, "predictions_per_month": 5,
                  "training_runs_per_month": 1, "custom_domains": 0,
                  "overage_allowed": False}}


def _database(kind: str, tmp):
    if kind == "sqlite":
        return f"sqlite:///{tmp / 'platform.db'}", None
    base = os.environ.get("TRACER_TEST_POSTGRES_URL")
    if not base:
        pytest.skip("needs TRACER_TEST_POSTGRES_URL (source .ci/postgres)")
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"workers_{uuid.uuid4().hex[:12]}"
    admin = create_engine(make_url(base).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_url(base).set(database=name).render_as_string(hide_password=False), drop


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres",
                                                               marks=pytest.mark.postgres)])
def pair(request, tmp_path_factory):
    """Workers A and B; tenants acme (two LoL versions trained) and tiny (5 predictions a
    month, no overage), each with LoL installed and enabled through A."""
    from tracer import db, lifecycle, tenancy
    from tracer.host import PluginHost
    from tracer.settings import Settings
    from tracer.tracking import ModelStore
    from tracer_esports.lol import load_reference

    tmp = tmp_path_factory.mktemp(f"workers-{request.param}")
    url, drop = _database(request.param, tmp)
    values = {"TRACER_HOME": str(tmp / "home"), "TRACER_DATABASE_URL": url,
              "TRACER_TRAINING__BOOTSTRAP_SAMPLES": "100", "TRACER_TIERS": json.dumps(TIERS)}
    settings = Settings(home=tmp / "home", database_url=url,
                        training={"bootstrap_samples": 100}, tiers=TIERS)
    settings.ensure_home()
    host = PluginHost(settings)
    db.upgrade(settings, extra=host.migration_trees())
    store = ModelStore(settings)
    keys = {}
    with db.session(settings) as s:
        for tenant, tier in (("acme", "professional"), ("tiny", "tiny")):
            tenancy.create_tenant(s, tenant, tenant.title(), tier, settings.tiers)
            keys[tenant] = tenancy.issue_key(s, "tenant", tenant_id=tenant)[1]
    frame = load_reference()
    for tenant, versions in (("acme", 2), ("tiny", 1)):
        for n in range(versions):
            lifecycle.train(host, store, LOL, data=frame.head(500 + 100 * n), tenant=tenant)
    records = frame.drop(columns=["blueWins"]).tail(3).to_dict(orient="records")
    env = environment(values)
    try:
        with served(env) as (a, _), served(env) as (b, _):
            for key in keys.values():
                for step in ("install", "enable"):
                    answer = httpx.post(f"{a}/v1/domains/{LOL}/{step}", headers=_auth(key))
                    assert answer.status_code in (200, 201), answer.text
            yield {"a": a, "b": b, "keys": keys, "record": records[0], "settings": settings}
    finally:
        from tracer.db import engine_for

        engine_for(url).dispose()
        if drop is not None:
            drop()


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _predict(base: str, key: str, record) -> httpx.Response:
    return httpx.post(f"{base}/v1/domains/{LOL}/predict", headers=_auth(key),
                      json={"record": record}, timeout=60)


def test_a_key_revoked_through_one_worker_is_refused_by_the_other(pair):
    a, b, acme = pair["a"], pair["b"], pair["keys"]["acme"]
    issued = httpx.post(f"{a}/v1/keys", headers=_auth(acme), json={"name": "second"}).json()
    second = issued["key"]
    assert httpx.get(f"{b}/v1/usage", headers=_auth(second)).status_code == 200  # cached in B
    assert httpx.delete(f"{a}/v1/keys/{issued['id']}", headers=_auth(acme)).status_code == 200
    eventually(lambda: httpx.get(f"{b}/v1/usage", headers=_auth(second)).status_code == 401)


def test_a_disable_through_one_worker_stops_predictions_on_the_other(pair):
    a, b, acme, record = pair["a"], pair["b"], pair["keys"]["acme"], pair["record"]
    assert _predict(b, acme, record).status_code == 200  # B remembers: enabled
    assert httpx.post(f"{a}/v1/domains/{LOL}/disable", headers=_auth(acme)).status_code == 200
    eventually(lambda: _predict(b, acme, record).status_code == 409)
    assert httpx.post(f"{a}/v1/domains/{LOL}/enable", headers=_auth(acme)).status_code == 200
    eventually(lambda: _predict(b, acme, record).status_code == 200)


def test_a_champion_moved_through_one_worker_serves_on_the_other(pair):
    a, b, acme, record = pair["a"], pair["b"], pair["keys"]["acme"], pair["record"]

    def version() -> int:
        answer = _predict(b, acme, record)
        assert answer.status_code == 200, answer.text
        return answer.json()["predictions"][0]["model"]["version"]

    serving = version()
    other = 1 if serving == 2 else 2
    moved = httpx.post(f"{a}/v1/domains/{LOL}/models/{other}/promote", headers=_auth(acme))
    assert moved.status_code == 200, moved.text
    eventually(lambda: version() == other)
    back = httpx.post(f"{a}/v1/domains/{LOL}/models/{serving}/promote", headers=_auth(acme))
    assert back.status_code == 200
    eventually(lambda: version() == serving)


def test_the_monthly_allowance_holds_across_workers(pair):
    tiny, record = pair["keys"]["tiny"], pair["record"]
    workers = cycle((pair["a"], pair["b"]))
    codes = [_predict(next(workers), tiny, record).status_code for _ in range(9)]
    assert sorted(codes) == [200] * 5 + [429] * 4, codes
    for base in (pair["a"], pair["b"]):
        usage = httpx.get(f"{base}/v1/usage", headers=_auth(tiny)).json()
        assert usage["predictions_this_month"] == 5


def test_a_kill_list_entry_stops_the_domain_on_every_worker(pair):
    """Last: the revoked plugin stays unloaded in these workers."""
    acme, record = pair["keys"]["acme"], pair["record"]
    kill = pair["settings"].plugins_path / "kill-list.json"
    kill.parent.mkdir(parents=True, exist_ok=True)
    kill.write_text(json.dumps({"entries": [{"distribution": "tracer-esports",
                                             "action": "revoked", "reason": "test"}]}))
    for base in (pair["a"], pair["b"]):
        eventually(lambda base=base: _predict(base, acme, record).status_code == 410)
