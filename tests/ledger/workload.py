"""One fixed marketplace month-and-a-bit, replayable in any order, by any number of writers.

Phase one: May usage; close May; payouts. Phase two: June usage plus late May events,
refunds and a chargeback; close June; payouts. The final state (balances, statement
totals, rail transfers) must not depend on order, duplicates, writers or crashes.
"""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from tracer.db import session
from tracer.models import Tenant
from tracer.tenancy import create_tenant
from tracer_registry.ledger.adjustments import refund
from tracer_registry.ledger.closing import close_period
from tracer_registry.ledger.concurrency import run_in_transaction
from tracer_registry.ledger.errors import LedgerError
from tracer_registry.ledger.intake import ingest, ingest_many
from tracer_registry.ledger.models import Account, Period, Statement, UsageClaim
from tracer_registry.ledger.payouts import FileRail, run_payouts
from tracer_registry.ledger.plans import PricePlan, set_price_plan

TENANTS = ("globex", "initech", "umbrella")
PLANS = (PricePlan("acme.churn", "acme", "USD", 2_000, 4_000, 3_000),
         PricePlan("blue.fraud", "blue", "USD", 999, 12_345, 3_000))
MAY = datetime(2026, 5, 3, tzinfo=UTC)
JUNE = datetime(2026, 6, 3, tzinfo=UTC)


def _events(prefix: str, start: datetime, n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        kind = rng.choice(("prediction", "prediction", "prediction", "install",
                           "training_run"))
        domain = rng.choice(("acme.churn", "blue.fraud", "tracer.lol")) \
            if kind != "training_run" else None
        out.append({"id": f"{prefix}-{i}", "tenant_id": rng.choice(TENANTS), "kind": kind,
                    "domain": domain, "quantity": rng.randint(1, 900),
                    "occurred_at": start + timedelta(minutes=rng.randint(0, 30_000))})
    return out


PHASE_ONE = _events("may", MAY, 120, 1)
PHASE_TWO = _events("june", JUNE, 120, 2) + _events("late-may", MAY, 20, 3)
REFUNDS = [("r1", "globex/2026-05/prediction/acme.churn", 7, "refund"),
           ("r2", "globex/2026-05/prediction/acme.churn", 13, "refund"),
           ("r3", "initech/2026-05/prediction/blue.fraud", 101, "refund"),
           ("cb1", "umbrella/2026-05/prediction/acme.churn", 55, "chargeback")]


def setup(settings) -> None:
    with session(settings) as s:
        for tenant in TENANTS:
            if s.get(Tenant, tenant) is None:
                create_tenant(s, tenant, tenant, "starter", settings.tiers)
        for plan in PLANS:
            set_price_plan(s, plan)


def _closed(settings, period: str) -> bool:
    return run_in_transaction(settings, lambda s: (s.get(Period, period) or Period()).status
                              == "closed")


def _deliver(settings, events: list[dict], writers: int, seed: int | None,
             duplicate: bool, bulk: bool = False) -> None:
    batch = list(events) + (list(events) if duplicate else [])
    if seed is not None:
        random.Random(seed).shuffle(batch)
    if bulk:  # each writer imports an overlapping slice in small chunks
        size = -(-len(batch) // writers)
        slices = [batch[max(0, i * size - 7):(i + 1) * size] for i in range(writers)]
        with ThreadPoolExecutor(writers) as pool:
            list(pool.map(lambda part: ingest_many(settings, part, chunk=16), slices))
        return
    if writers == 1:
        for event in batch:
            ingest(settings, event)
        return
    with ThreadPoolExecutor(writers) as pool:
        list(pool.map(lambda e: ingest(settings, e), batch))


def _refund(settings, item) -> None:
    refund_id, line, amount, kind = item
    run_in_transaction(settings, lambda s: refund(s, refund_id, line, amount, caused_by="w",
                                                  kind=kind, effective_at=JUNE))


def _close(settings, period: str, writers: int) -> None:
    def attempt(_):
        try:
            close_period(settings, period, caused_by="w", chunk=1)
        except LedgerError as error:  # another writer closed it first
            if "already closed" not in str(error):
                raise
    if writers == 1:
        if not _closed(settings, period):
            attempt(None)
        return
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(attempt, range(4)))


def play(settings, rail: FileRail, *, writers: int = 1, seed: int | None = None,
         duplicate: bool = False, bulk: bool = False) -> None:
    setup(settings)
    if not _closed(settings, "2026-05"):
        _deliver(settings, PHASE_ONE, writers, seed, duplicate, bulk)
    _close(settings, "2026-05", writers)
    run_payouts(settings, caused_by="w", rail=rail, now=JUNE)
    _deliver(settings, PHASE_TWO, writers, None if seed is None else seed + 1, duplicate,
             bulk)
    refunds = REFUNDS + (REFUNDS if duplicate else [])
    if writers == 1:
        for item in refunds:
            _refund(settings, item)
    else:
        with ThreadPoolExecutor(writers) as pool:
            list(pool.map(lambda i: _refund(settings, i), refunds))
    _close(settings, "2026-06", writers)
    run_payouts(settings, caused_by="w", rail=rail, now=JUNE + timedelta(days=30))


def snapshot(settings, rail: FileRail) -> dict:
    with session(settings) as s:
        balances = {a.code: a.balance for a in s.scalars(select(Account))}
        statements = {(r.publisher_id, r.currency, r.period): {
            k: v for k, v in r.body.items() if k not in ("lines",)}
            for r in s.scalars(select(Statement))}
        claims = s.query(UsageClaim).count()
    transfers = sorted((t["payout"], t["amount"]) for t in rail.transfers())
    return {"balances": balances, "statements": statements, "claims": claims,
            "transfers": transfers}
