"""Closing a period: produce its recurring charges, rate every tenant, then freeze
statements and mark the period closed.

Rating runs in chunks of tenants, each chunk one database transaction, so a crash mid-way
loses nothing: the next run rates only the tenants without an invoice for the period.
Freezing the statements and marking the period closed is one transaction that holds the
period row exclusively.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from sqlalchemy import select
from tracer.db import utcnow
from tracer.models import Tenant, UsageEvent

from tracer_registry.ledger import crashpoints
from tracer_registry.ledger.concurrency import run_in_transaction
from tracer_registry.ledger.errors import LedgerError
from tracer_registry.ledger.models import Invoice, Period, UsageClaim
from tracer_registry.ledger.periods import (
    last_closed,
    lock_for_close,
    next_period,
    parse_period,
    period_end,
    refuse_unfinished,
)
from tracer_registry.ledger.rating import rate_tenants
from tracer_registry.ledger.recurring import produce
from tracer_registry.ledger.statements import freeze_statements

if TYPE_CHECKING:
    from sqlalchemy.orm import Session
    from tracer.settings import Settings


@dataclass(frozen=True)
class CloseResult:
    period: str
    tenants_rated: int
    statements: int


def tenants_to_rate(s: Session, period: str) -> list[str]:
    """Tenants with unclaimed usage before the period's end and no invoice for it yet.

    Asked per tenant (EXISTS over the usage table's tenant index), so each tenant costs one
    index probe to its first unclaimed event instead of a scan of every event.
    """
    claimed = select(UsageClaim.event_id).where(UsageClaim.event_id == UsageEvent.id)
    pending = select(UsageEvent.id).where(UsageEvent.tenant_id == Tenant.id,
                                          UsageEvent.occurred_at < period_end(period),
                                          ~claimed.exists())
    rated = select(Invoice.tenant_id).where(Invoice.period == period)
    return list(s.scalars(select(Tenant.id).where(pending.exists(), Tenant.id.not_in(rated))
                          .order_by(Tenant.id)))


def close_period(settings: Settings, period: str, *, caused_by: str,
                 chunk: int = 100, progress=None) -> CloseResult:
    """Produce the period's recurring charges, rate every tenant, freeze, close.

    Refused for a period that has not ended by the platform clock (``tracer.clock``).
    """
    parse_period(period)
    refuse_unfinished(settings, period)

    def check_order(s: Session) -> None:
        last = last_closed(s)
        if last is not None and period <= last:
            raise LedgerError(f"period {period} is already closed (last closed: {last})")
        if last is not None and period != next_period(last):
            raise LedgerError(f"close {next_period(last)} before {period}: periods close in "
                              "order")

    run_in_transaction(settings, check_order)
    run_in_transaction(settings, lambda s: produce(s, period))
    tenants = run_in_transaction(settings, lambda s: tenants_to_rate(s, period))
    rated = 0
    for start in range(0, len(tenants), chunk):
        group = tenants[start:start + chunk]
        rated += run_in_transaction(settings, partial(
            rate_tenants, settings=settings, tenant_ids=group, period=period,
            caused_by=caused_by))
        if progress is not None:
            progress(len(group))
        crashpoints.reached("close.mid_rating")
    crashpoints.reached("close.after_rating_before_statements")

    def freeze(s: Session) -> int:
        previous = lock_for_close(s, period)
        count = freeze_statements(s, period, previous)
        row = s.get_one(Period, period)  # lock_for_close made sure it is there
        row.status, row.closed_at = "closed", utcnow()
        return count

    return CloseResult(period, rated, run_in_transaction(settings, freeze))
