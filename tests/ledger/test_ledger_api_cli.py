"""Payout routes (publishers see only their own, admins all) and ``tracer payouts …``."""

from __future__ import annotations

import csv
import io
import json

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from tracer.api.problems import install_handlers
from tracer.db import session
from tracer.tenancy import issue_key
from tracer_registry.ledger.api import routes
from tracer_registry.ledger.closing import close_period
from tracer_registry.ledger.plans import PricePlan, set_price_plan
from tracer_registry.ledger.recurring import MONTH

from .marketplace import open_market, use

STATEMENT = "/v1/payouts/statements/acme/2026-05/USD"


@pytest.fixture
def client(ledger_db):
    open_market(ledger_db)
    with session(ledger_db) as s:
        set_price_plan(s, PricePlan("blue.fraud", "blue", "USD", 500, 0, 3_000))
    use(ledger_db, "i1", "globex", "install_period", "acme.churn", quantity=3 * MONTH)
    use(ledger_db, "i2", "globex", "install_period", "blue.fraud", quantity=MONTH)
    close_period(ledger_db, "2026-05", caused_by="test")
    keys = {}
    with session(ledger_db) as s:
        keys["acme"] = issue_key(s, "publisher", subject="acme")[1]
        keys["blue"] = issue_key(s, "publisher", subject="blue")[1]
        keys["admin"] = issue_key(s, "admin", subject="ops")[1]
        keys["tenant"] = issue_key(s, "tenant", tenant_id="globex")[1]
    app = FastAPI()
    app.state.settings = ledger_db
    install_handlers(app)
    app.include_router(routes)
    test_client = TestClient(app)
    test_client.keys = {k: {"Authorization": f"Bearer {v}"} for k, v in keys.items()}
    return test_client


def test_publisher_reads_own_statement_and_not_anothers(client):
    mine = client.get(STATEMENT, headers=client.keys["acme"])
    assert mine.status_code == 200
    body = mine.json()["statement"]
    assert (body["gross"], body["fees"], body["closing"]) == (6_000, 1_800, 4_200)
    other = client.get("/v1/payouts/statements/blue/2026-05/USD", headers=client.keys["acme"])
    assert other.status_code == 404
    assert other.json()["status"] == 404
    listed = client.get("/v1/payouts/statements", headers=client.keys["acme"]).json()
    assert [(r["publisher"], r["closing"]) for r in listed] == [("acme", 4_200)]


def test_admin_reads_all_and_tenant_reads_none(client):
    listed = client.get("/v1/payouts/statements", headers=client.keys["admin"]).json()
    assert sorted((r["publisher"], r["closing"]) for r in listed) == [("acme", 4_200),
                                                                      ("blue", 350)]
    assert client.get(STATEMENT, headers=client.keys["tenant"]).status_code == 403
    assert client.get(STATEMENT).status_code == 401
    assert client.get("/v1/payouts/reconciliation",
                      headers=client.keys["acme"]).status_code == 403
    rec = client.get("/v1/payouts/reconciliation", headers=client.keys["admin"]).json()
    assert rec["nets_to_zero"] is True


def test_statement_as_csv_and_html_with_chart(client):
    text = client.get(STATEMENT + "?format=csv", headers=client.keys["acme"]).text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["amount"] for r in rows if r["kind"] == "charge"] == ["4200"]
    assert {r["kind"]: r["amount"] for r in rows}["total:closing"] == "4200"
    html = client.get(STATEMENT + "?format=html", headers=client.keys["acme"]).text
    assert "data:image/png;base64," in html and "42.00 USD" in html


def test_admin_runs_payouts_through_the_api(client):
    paid = client.post("/v1/payouts/run", headers=client.keys["admin"]).json()
    assert paid == {"payouts": ["acme/USD/1"]}  # blue's $3.50 carries forward
    assert client.post("/v1/payouts/run", headers=client.keys["acme"]).status_code == 403
    bad = client.post("/v1/payouts/periods/2026-13/close", headers=client.keys["admin"])
    assert bad.status_code == 422 and "YYYY-MM" in bad.json()["detail"]


def test_cli_closes_reconciles_and_writes_statements(settings, tmp_path):
    from tracer.cli import main

    from .conftest import migrated

    migrated(settings)
    open_market(settings)
    use(settings, "i1", "globex", "install_period", "acme.churn", quantity=2 * MONTH)
    assert main(["payouts", "close", "2026-05"]) == 0
    assert main(["payouts", "reconcile"]) == 0
    out = tmp_path / "acme.json"
    assert main(["payouts", "statement", "acme", "2026-05", "--out", str(out)]) == 0
    assert json.loads(out.read_text())["statement"]["closing"] == 2_800
    html = tmp_path / "acme.html"
    assert main(["payouts", "statement", "acme", "2026-05", "--format", "html",
                 "--out", str(html)]) == 0
    assert "Earnings by domain and month" in html.read_text()
    assert main(["payouts", "close", "2026-05"]) == 1  # already closed: one-line error
    assert main(["payouts", "run"]) == 0
