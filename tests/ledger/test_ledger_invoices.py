"""Tenants see their invoices (API, tenant-isolated, RFC 9457 errors; ``tracer invoices``);
payments settle receivables and move platform cash, idempotent by the provider's id."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from tracer.api.problems import install_handlers
from tracer.db import session
from tracer.errors import ConflictError, ValidationError
from tracer.tenancy import issue_key
from tracer_registry.ledger.adjustments import refund
from tracer_registry.ledger.api import routes
from tracer_registry.ledger.closing import close_period
from tracer_registry.ledger.invoices import invoices
from tracer_registry.ledger.payments import PaymentNotice, receive_payment
from tracer_registry.ledger.plans import set_tax_rate
from tracer_registry.ledger.reconcile import reconciliation
from tracer_registry.ledger.recurring import MONTH
from tracer_registry.ledger.reports import platform_report

from .marketplace import JUNE, open_market, use

PAID_AT = datetime(2026, 6, 5, tzinfo=UTC)


def billed(settings) -> None:
    open_market(settings)
    with session(settings) as s:
        set_tax_rate(s, "globex", 2_000)
    use(settings, "i1", "globex", "install_period", "acme.churn", quantity=MONTH)  # $20 gross
    use(settings, "p1", "globex", "prediction", "acme.churn", quantity=2_500)  # $10 gross
    use(settings, "p2", "initech", "prediction", "acme.churn", quantity=1_000)  # $4
    close_period(settings, "2026-05", caused_by="test")


@pytest.fixture
def client(ledger_db):
    billed(ledger_db)
    keys = {}
    with session(ledger_db) as s:
        keys["globex"] = issue_key(s, "tenant", tenant_id="globex")[1]
        keys["initech"] = issue_key(s, "tenant", tenant_id="initech")[1]
        keys["admin"] = issue_key(s, "admin", subject="ops")[1]
        keys["acme"] = issue_key(s, "publisher", subject="acme")[1]
    app = FastAPI()
    app.state.settings = ledger_db
    install_handlers(app)
    app.include_router(routes)
    test_client = TestClient(app)
    test_client.keys = {k: {"Authorization": f"Bearer {v}"} for k, v in keys.items()}
    test_client.settings = ledger_db
    return test_client


def test_a_tenant_sees_its_own_invoice_with_lines_tax_and_totals(client):
    mine = client.get("/v1/invoices", headers=client.keys["globex"])
    assert mine.status_code == 200
    body = mine.json()
    assert body["tenant"] == "globex"
    (may,) = body["invoices"]
    lines = {(line["kind"], line["domain"]): line for line in may["lines"]}
    install = lines[("install_period", "acme.churn")]
    assert (install["gross"], install["tax"], install["net"], install["months"]) == (
        2_000, 334, 1_666, "1")
    assert lines[("prediction", "acme.churn")]["gross"] == 1_000
    assert may["totals"]["USD"]["gross"] == 3_000
    assert may["totals"]["USD"]["tax"] == sum(line["tax"] for line in may["lines"])
    assert body["account"]["USD"]["due"] == 3_000
    # a tenant key never sees another tenant's invoices, whatever it asks for
    other = client.get("/v1/invoices?tenant=initech", headers=client.keys["globex"]).json()
    assert other["tenant"] == "globex"
    theirs = client.get("/v1/invoices", headers=client.keys["initech"]).json()
    assert theirs["invoices"][0]["totals"]["USD"]["gross"] == 400


def test_invoice_errors_are_problems(client):
    missing = client.get("/v1/invoices/2026-04", headers=client.keys["globex"])
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert "no invoice for 2026-04" in missing.json()["detail"]
    bad = client.get("/v1/invoices/May", headers=client.keys["globex"])
    assert bad.status_code == 422 and "YYYY-MM" in bad.json()["detail"]
    assert client.get("/v1/invoices", headers=client.keys["acme"]).status_code == 403
    assert client.get("/v1/invoices").status_code == 401
    admin = client.get("/v1/invoices", headers=client.keys["admin"])
    assert admin.status_code == 422 and "?tenant=" in admin.json()["detail"]
    one = client.get("/v1/invoices/2026-05?tenant=initech", headers=client.keys["admin"])
    assert one.json()["invoices"][0]["tenant"] == "initech"


def notice(amount, payment_id="pi_1", currency="USD", tenant="globex"):
    return {"id": payment_id, "tenant": tenant, "currency": currency, "amount": amount,
            "received_at": PAID_AT.isoformat(), "source": "stripe"}


def test_payments_settle_partially_then_fully_then_credit_and_replays_are_no_ops(client):
    post = lambda body: client.post("/v1/payments", json=body,  # noqa: E731
                                    headers=client.keys["admin"])
    first = post(notice(1_200))
    assert first.status_code == 201 and first.json()["settled"] == 1_200
    assert post(notice(1_200)).json() == first.json()  # the webhook delivered twice
    clash = post(notice(1_300))
    assert clash.status_code == 409 and "different payload" in clash.json()["detail"]
    assert post(notice(2_000, "pi_2")).json() == {"id": "pi_2", "tenant": "globex",
                                                  "currency": "USD", "amount": 2_000,
                                                  "settled": 1_800, "credited": 200}
    assert post(notice(5, "pi_3", currency="EUR")).status_code == 422  # never billed in EUR
    assert post(notice(5, "pi_4", currency="XXX")).status_code == 422
    assert post(notice(0, "pi_5")).status_code == 422
    assert post(notice(10**19, "pi_6")).status_code == 422
    assert post({"id": "pi_7"}).status_code == 422
    assert client.post("/v1/payments", json=notice(5, "pi_8"),
                       headers=client.keys["globex"]).status_code == 403
    with session(client.settings) as s:
        account = invoices(s, "globex")["account"]["USD"]
        assert account == {"due": 0, "credit": 200}
        cash = reconciliation(s)
        assert cash["ok"]
    balances = {line["account"]: line["closing"] for p in cash["periods"]
                for b in p["currencies"] for line in b["accounts"]}
    assert balances["platform_cash:platform:USD"] == 3_200


def test_payment_intake_refuses_bad_notices_without_writing(ledger_db):
    billed(ledger_db)
    with session(ledger_db) as s:
        receive_payment(s, PaymentNotice("bank-1", "globex", "USD", 500, PAID_AT, "bank"),
                        caused_by="test")
    with pytest.raises(ConflictError), session(ledger_db) as s:
        receive_payment(s, PaymentNotice("bank-1", "globex", "USD", 500,
                                         datetime(2026, 6, 6, tzinfo=UTC), "bank"),
                        caused_by="test")
    with pytest.raises(ValidationError, match="timezone"), session(ledger_db) as s:
        receive_payment(s, PaymentNotice("bank-2", "globex", "USD", 5,
                                         datetime(2026, 6, 6), "bank"), caused_by="test")
    with session(ledger_db) as s:
        assert invoices(s, "globex")["account"]["USD"]["due"] == 2_500


def test_cli_shows_invoices_and_records_payments(settings, capsys):
    from tracer.cli import main

    from .conftest import migrated

    billed(migrated(settings))
    assert main(["invoices", "globex", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["invoices"][0]["totals"]["USD"]["gross"] == 3_000
    assert main(["payments", "record", "pi_9", "--tenant", "globex", "--amount", "700",
                 "--received-at", "2026-06-01T00:00:00Z"]) == 0
    assert main(["payments", "record", "pi_9", "--tenant", "globex", "--amount", "701",
                 "--received-at", "2026-06-01T00:00:00Z"]) == 1
    assert main(["invoices", "globex"]) == 0
    out = capsys.readouterr().out
    assert "USD: due 2300, credit 0" in out and "Traceback" not in out
    assert main(["invoices", "globex", "--period", "2026-01"]) == 1


def test_the_report_tax_column_counts_refunded_tax(ledger_db):
    billed(ledger_db)
    with session(ledger_db) as s:
        refund(s, "r1", "globex/2026-05/install_period/acme.churn", 1_000, caused_by="test",
               effective_at=JUNE)
        rows = {r["period"]: r for r in platform_report(s)}
    assert rows["2026-05"]["tax"] == 334 + 167  # the install's and the predictions' VAT
    assert rows["2026-06"]["tax_returned"] == 334 * 1_000 // 2_000
    assert rows["2026-06"]["tax"] == -167
