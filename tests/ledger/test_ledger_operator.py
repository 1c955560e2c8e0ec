"""Operator actions through admin routes and ``tracer payouts admin``: role-checked,
audited with the operator's identity, refused requests change nothing."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from tracer.api.problems import install_handlers
from tracer.db import session
from tracer.tenancy import issue_key
from tracer_registry.ledger.adjustments import refund
from tracer_registry.ledger.api import routes
from tracer_registry.ledger.closing import close_period
from tracer_registry.ledger.models import Account, OperatorAudit
from tracer_registry.ledger.payouts import FileRail, run_payouts
from tracer_registry.ledger.plans import payout_threshold, tax_rate
from tracer_registry.ledger.reconcile import reconciliation
from tracer_registry.ledger.recurring import MONTH

from .marketplace import JUNE, open_market, use


def balances(settings) -> dict[str, int]:
    with session(settings) as s:
        return {a.code: a.balance for a in s.query(Account)}


@pytest.fixture
def client(ledger_db, tmp_path):
    open_market(ledger_db)
    use(ledger_db, "i1", "globex", "install_period", "acme.churn", quantity=MONTH)
    close_period(ledger_db, "2026-05", caused_by="test")
    with session(ledger_db) as s:
        refund(s, "cb1", "globex/2026-05/install_period/acme.churn", 500, caused_by="test",
               kind="chargeback", effective_at=JUNE)
        keys = {"admin": issue_key(s, "admin", subject="ops-alice")[1],
                "tenant": issue_key(s, "tenant", tenant_id="globex")[1]}
    run_payouts(ledger_db, caused_by="test", rail=FileRail(tmp_path / "rail"), now=JUNE)
    app = FastAPI()
    app.state.settings = ledger_db
    install_handlers(app)
    app.include_router(routes)
    c = TestClient(app)
    c.keys = {k: {"Authorization": f"Bearer {v}"} for k, v in keys.items()}
    c.settings = ledger_db
    return c


ACTS = [
    ("credit", {"id": "c1", "tenant": "globex", "currency": "USD", "amount": 300,
                "reason": "goodwill"}),
    ("apply-credit", {"id": "a1", "tenant": "globex", "currency": "USD", "amount": 200}),
    ("adjust", {"id": "adj1", "publisher": "acme", "currency": "USD", "amount": -50,
                "reason": "miscount"}),
    ("reverse-chargeback", {"id": "rev1", "chargeback": "cb1"}),
    ("fx", {"id": "fx1", "debit": "platform_cash:platform:EUR",
            "credit": "platform_cash:platform:USD", "amount": 1_000, "rate_micros": 920_000,
            "source": "ECB 2026-06-01"}),
    ("bank-return", {"id": "ret1", "reference": "nobody", "currency": "USD", "amount": 10}),
    ("tax-rate", {"tenant": "globex", "tax_bps": 1_900}),
    ("threshold", {"publisher": "acme", "currency": "USD", "minimum": 5_000}),
]


def test_every_operator_action_is_admin_only_and_audited_with_the_operator(client):
    for action, params in ACTS:
        denied = client.post(f"/v1/admin/ledger/{action}", json=params,
                             headers=client.keys["tenant"])
        assert denied.status_code == 403, action
        done = client.post(f"/v1/admin/ledger/{action}", json=params,
                           headers=client.keys["admin"])
        assert done.status_code == 200, (action, done.json())
    b = balances(client.settings)
    assert b["tenant_credit:globex:USD"] == 100
    assert b["platform_cash:platform:EUR"] == 920  # 10.00 USD at 0.92
    assert b["platform_suspense:platform:USD"] == 10
    with session(client.settings) as s:
        assert tax_rate(s, "globex") == 1_900
        assert payout_threshold(s, "acme", "USD") == 5_000
        audit = s.query(OperatorAudit).order_by(OperatorAudit.id).all()
        assert reconciliation(s)["ok"]
    assert [a.action for a in audit] == [a for a, _ in ACTS]
    assert all(a.operator.startswith("ops-alice (key ") for a in audit)
    listed = client.get("/v1/admin/ledger/audit", headers=client.keys["admin"]).json()
    assert listed[0]["action"] == "threshold"


def test_refused_operator_requests_are_problems_and_change_nothing(client):
    before = balances(client.settings)
    for action, params, why in [
            ("credit", {"id": "c1"}, "missing"),
            ("credit", {**ACTS[0][1], "amount": "lots"}, "whole number"),
            ("credit", {**ACTS[0][1], "extra": "x"}, "unknown extra"),
            ("apply-credit", {**ACTS[1][1], "amount": 10**6}, "negative"),
            ("mint", {}, "unknown ledger action"),
            ("tax-rate", {"tenant": "globex", "tax_bps": -1}, "non-negative")]:
        answer = client.post(f"/v1/admin/ledger/{action}", json=params,
                             headers=client.keys["admin"])
        assert answer.status_code in (409, 422), (action, answer.json())
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert why in answer.json()["detail"], answer.json()
    assert balances(client.settings) == before
    with session(client.settings) as s:
        assert s.query(OperatorAudit).count() == 0


def test_cli_admin_actions_name_the_operator(settings):
    from tracer.cli import main

    from .conftest import migrated

    migrated(settings)
    open_market(settings)
    assert main(["payouts", "admin", "credit", "id=c9", "tenant=globex", "currency=USD",
                 "amount=250", "reason=promo", "--operator", "bob"]) == 0
    assert main(["payouts", "admin", "credit", "id=c9", "--operator", "bob"]) == 1
    assert main(["payouts", "admin", "threshold", "publisher=acme", "currency=USD",
                 "minimum=1"]) == 1  # no operator: refused
    with session(settings) as s:
        (row,) = s.query(OperatorAudit).all()
    assert (row.operator, row.action, row.target) == ("bob", "credit", "c9")
