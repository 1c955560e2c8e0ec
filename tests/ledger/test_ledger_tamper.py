"""Rule 16 made able to fail: tamper a copy of the books and watch each check fail.

The copy is a real SQLite file copied from real books; its append-only and balance
triggers are dropped first (that is what a tamperer with file access could do), then one
thing is changed. Also: below the ORM, SQLite refuses a one-leg or unbalanced transaction.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from tracer.db import session
from tracer.settings import Settings
from tracer_registry.ledger.closing import close_period
from tracer_registry.ledger.payouts import FileRail, run_payouts
from tracer_registry.ledger.reconcile import CHECKS, reconciliation
from tracer_registry.ledger.recurring import MONTH
from tracer_registry.ledger.statements import content_hash

from .conftest import database
from .marketplace import JULY, JUNE, open_market, use


@pytest.fixture
def books(tmp_path):
    """Real books on SQLite: two closed months, a payout, a refund after it."""
    with database("sqlite", tmp_path / "books") as settings:
        open_market(settings)
        use(settings, "p1", "globex", "prediction", "acme.churn", quantity=600_000)
        use(settings, "i1", "initech", "install_period", "acme.churn", quantity=MONTH)
        close_period(settings, "2026-05", caused_by="test")
        run_payouts(settings, caused_by="test", rail=FileRail(tmp_path / "rail"), now=JUNE)
        use(settings, "p2", "globex", "prediction", "acme.churn", quantity=9_000, at=JUNE)
        close_period(settings, "2026-06", caused_by="test")
        use(settings, "p3", "globex", "prediction", "acme.churn", quantity=7, at=JULY)
        with session(settings) as s:
            report = reconciliation(s)
        assert report["ok"], {c: report[c] for c in CHECKS}
        yield settings


def tampered(settings, tmp_path, *statements: str, params=()) -> dict:
    """Reconcile a copy of ``settings``' database after running ``statements`` on it."""
    source = settings.platform_db_url.removeprefix("sqlite:///")
    copy = tmp_path / f"copy-{len(list(tmp_path.glob('copy-*')))}.db"
    raw = sqlite3.connect(copy)
    with sqlite3.connect(source) as books:  # the WAL too: the online backup API
        books.backup(raw)
    triggers = raw.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall()
    for (name,) in triggers:
        raw.execute(f"DROP TRIGGER {name}")
    for statement in statements:
        raw.execute(statement, params)
    raw.commit()
    raw.close()
    other = Settings(home=settings.home, database_url=f"sqlite:///{copy}")
    with session(other) as s:
        return reconciliation(s)


def failed(report: dict) -> set[str]:
    return {check for check in CHECKS if not report[check]}


def test_an_unbalanced_entry_fails_nets_to_zero(books, tmp_path):
    report = tampered(books, tmp_path, "UPDATE ledger_entries SET amount = amount + 1 "
                                       "WHERE id = (SELECT min(id) FROM ledger_entries)")
    assert "nets_to_zero" in failed(report)


def test_a_changed_stored_balance_fails_balances_match(books, tmp_path):
    report = tampered(books, tmp_path, "UPDATE ledger_accounts SET balance = balance + 5 "
                                       "WHERE code = 'platform_revenue:platform:USD'")
    assert "balances_match" in failed(report)


def test_a_rewritten_statement_with_a_fresh_hash_fails_the_per_account_check(books, tmp_path):
    """Everything else agrees (entries balance, balances rebuild, hash verifies): only the
    per-account check opening + activity - payouts = closing notices."""
    with session(books) as s:
        row = s.execute(text("SELECT id, body FROM ledger_statements WHERE period = '2026-05'")
                        ).one()
    body = json.loads(row.body) if isinstance(row.body, str) else row.body
    body["closing"] += 100
    report = tampered(books, tmp_path,
                      "UPDATE ledger_statements SET body = ?, content_hash = ? WHERE id = ?",
                      params=(json.dumps(body), content_hash(body), row.id))
    assert "every_account_holds" in failed(report)
    assert report["nets_to_zero"] and report["balances_match"]


def test_an_edited_statement_fails_statements_intact(books, tmp_path):
    report = tampered(books, tmp_path, "UPDATE ledger_statements SET content_hash = 'x' "
                                       "WHERE period = '2026-06'")
    assert failed(report) == {"statements_intact"}


def test_a_deleted_leg_fails_transactions_complete(books, tmp_path):
    report = tampered(books, tmp_path, "DELETE FROM ledger_entries WHERE id = "
                                       "(SELECT max(id) FROM ledger_entries)")
    assert "transactions_complete" in failed(report)


def test_a_payout_moved_to_another_period_fails_the_per_account_check(books, tmp_path):
    report = tampered(books, tmp_path,
                      "UPDATE ledger_entries SET period = '2026-05' WHERE transaction_id "
                      "LIKE 'payout:%'")
    assert "every_account_holds" in failed(report)


def _raw_insert(settings, legs, entries):
    with session(settings) as s:
        s.execute(text("INSERT INTO ledger_transactions (id, kind, period, caused_by, "
                       "source_event, rule_version, created_at, effective_at, payload_hash, "
                       "memo, legs) VALUES ('raw', 'raw', '2026-07', 'x', 'x', 'x', :t, :t, "
                       "'x', '{}', :legs)"), {"t": datetime.now(UTC), "legs": legs})
        account = s.execute(text("SELECT id FROM ledger_accounts LIMIT 1")).scalar()
        for side, amount in entries:
            s.execute(text("INSERT INTO ledger_entries (transaction_id, account_id, side, "
                           "amount, currency, period) VALUES ('raw', :a, :side, :amount, "
                           "'USD', '2026-07')"), {"a": account, "side": side,
                                                  "amount": amount})


def test_sqlite_refuses_one_leg_and_unbalanced_transactions_below_the_orm(books):
    with pytest.raises(IntegrityError, match="two or more"):
        _raw_insert(books, 1, [("D", 5)])
    with pytest.raises(IntegrityError, match="two or more"):
        _raw_insert(books, None, [("D", 5), ("C", 5)])
    with pytest.raises(IntegrityError, match="does not balance"):
        _raw_insert(books, 2, [("D", 5), ("C", 4)])
    with pytest.raises(IntegrityError, match="more entries"):
        _raw_insert(books, 2, [("D", 5), ("C", 5), ("C", 1)])
    with session(books) as s:
        assert reconciliation(s)["ok"]  # nothing stored changed
