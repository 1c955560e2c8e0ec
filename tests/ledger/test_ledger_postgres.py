"""What PostgreSQL enforces below the application: balance at commit, append-only rows,
and row locks that keep prepaid credit from being overspent by concurrent writers."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from tracer.db import engine_for, session
from tracer_registry.ledger.adjustments import apply_credit, grant_credit
from tracer_registry.ledger.concurrency import run_in_transaction
from tracer_registry.ledger.errors import LedgerError
from tracer_registry.ledger.postings import accounts, platform

from .conftest import database
from .marketplace import open_market

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg(tmp_path):
    with database("postgres", tmp_path / "home") as settings:
        yield settings


def _raw_transaction(conn, tx_id: str) -> None:
    conn.execute(text(
        "INSERT INTO ledger_transactions (id, kind, period, caused_by, source_event, "
        "rule_version, created_at, effective_at, payload_hash, memo) VALUES (:id, 'raw', "
        "'2026-05', 'sql', 'x', 'v', now(), now(), 'h', '{}')"), {"id": tx_id})


def test_unbalanced_transaction_is_refused_at_commit_below_the_orm(pg):
    with session(pg) as s:
        ids = accounts(s, [platform("cash", "USD"), platform("revenue", "USD")])
    cash, revenue = ids[platform("cash", "USD")].id, ids[platform("revenue", "USD")].id
    insert = text("INSERT INTO ledger_entries (transaction_id, account_id, side, amount, "
                  "currency, period) VALUES (:t, :a, :s, :m, 'USD', '2026-05')")
    engine = engine_for(pg.platform_db_url)
    with pytest.raises(DBAPIError, match="does not balance in USD"), engine.begin() as conn:
        _raw_transaction(conn, "raw-1")
        conn.execute(insert, {"t": "raw-1", "a": cash, "s": "D", "m": 500})
        conn.execute(insert, {"t": "raw-1", "a": revenue, "s": "C", "m": 499})
    with pytest.raises(DBAPIError, match="needs two or more"), engine.begin() as conn:
        _raw_transaction(conn, "raw-2")
        conn.execute(insert, {"t": "raw-2", "a": cash, "s": "D", "m": 500})
    with engine.begin() as conn:  # balanced: the deferred check lets it commit
        _raw_transaction(conn, "raw-3")
        conn.execute(insert, {"t": "raw-3", "a": cash, "s": "D", "m": 500})
        conn.execute(insert, {"t": "raw-3", "a": revenue, "s": "C", "m": 500})
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM ledger_entries")).scalar() == 2
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text("TRUNCATE ledger_entries CASCADE"))


def test_entry_in_another_currency_than_its_account_is_refused(pg):
    with session(pg) as s:
        cash = accounts(s, [platform("cash", "USD")])[platform("cash", "USD")].id
    with pytest.raises(DBAPIError, match="fk_ledger_entries_account_currency"), \
            engine_for(pg.platform_db_url).begin() as conn:
        _raw_transaction(conn, "raw-4")
        conn.execute(text("INSERT INTO ledger_entries (transaction_id, account_id, side, "
                          "amount, currency, period) VALUES ('raw-4', :a, 'D', 5, 'EUR', "
                          "'2026-05')"), {"a": cash})


def test_sixteen_concurrent_spenders_cannot_overspend_prepaid_credit(pg):
    open_market(pg)
    with session(pg) as s:
        grant_credit(s, "promo", "globex", "USD", 1_000, caused_by="sales", reason="promo",
                     effective_at=datetime(2026, 5, 2, tzinfo=UTC))
    outcomes: list[str] = []
    start = threading.Barrier(16)

    def spend(i: int) -> None:
        start.wait()
        try:
            run_in_transaction(pg, lambda s: apply_credit(
                s, f"use-{i}", "globex", "USD", 300, caused_by="billing",
                effective_at=datetime(2026, 5, 3, tzinfo=UTC)))
            outcomes.append("spent")
        except LedgerError:
            outcomes.append("refused")

    threads = [threading.Thread(target=spend, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["refused"] * 13 + ["spent"] * 3
    with session(pg) as s:
        balance = s.execute(text("SELECT balance FROM ledger_accounts WHERE code = "
                                 "'tenant_credit:globex:USD'")).scalar()
    assert balance == 100
