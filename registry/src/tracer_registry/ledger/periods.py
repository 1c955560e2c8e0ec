"""Accounting periods: calendar months (UTC), closed in order, never reopened.

A posting lands in the period of its ``effective_at`` unless that period is closed; then it
lands in the first open period after it (late events keep their ``effective_at``). Posting
takes a shared lock on the period row and closing takes an exclusive one, so on PostgreSQL
nothing can slip into a period while its statements are being frozen.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from tracer.errors import ValidationError

from tracer_registry.ledger.errors import LedgerError
from tracer_registry.ledger.models import Period, table_of
from tracer_registry.ledger.postings import insert_ignoring_duplicates

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def parse_period(text: str) -> str:
    if not _PERIOD.match(text or ""):
        raise ValidationError(f"period {text!r}: use YYYY-MM, e.g. 2026-05", field="period")
    return text


def period_of(moment: datetime) -> str:
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return f"{moment.year:04d}-{moment.month:02d}"


def next_period(period: str) -> str:
    year, month = int(period[:4]), int(period[5:])
    return f"{year + month // 12:04d}-{month % 12 + 1:02d}"


def period_start(period: str) -> datetime:
    return datetime(int(period[:4]), int(period[5:]), 1, tzinfo=UTC)


def period_end(period: str) -> datetime:
    return period_start(next_period(period))


def refuse_unfinished(settings, period: str) -> None:
    """Only past periods close: refuse one that has not ended by the platform clock."""
    from tracer import clock

    now = clock.now(settings)
    if period_end(period) > now:
        raise LedgerError(f"period {period} has not ended yet (platform clock "
                          f"{now.isoformat(timespec='seconds')}); only past periods close")


def last_closed(s: Session) -> str | None:
    return s.scalar(select(func.max(Period.id)).where(Period.status == "closed"))


def open_period(s: Session, effective_at: datetime) -> str:
    """The open period a posting effective at ``effective_at`` lands in (share-locked)."""
    period = period_of(effective_at)
    last = last_closed(s)
    if last is not None and period <= last:
        period = next_period(last)
    while True:
        insert_ignoring_duplicates(s, table_of(Period), [{"id": period, "status": "open"}])
        status = s.scalar(select(Period.status).where(Period.id == period)
                          .with_for_update(read=True))
        if status == "open":
            return period
        period = next_period(period)


def lock_for_close(s: Session, period: str) -> str | None:
    """Take the period row exclusively, then refuse closing out of order or twice.

    Returns the last closed period before this one (None for the first close).
    """
    parse_period(period)
    insert_ignoring_duplicates(s, table_of(Period), [{"id": period, "status": "open"}])
    s.execute(select(Period.id).where(Period.id == period).with_for_update())
    last = last_closed(s)
    if last is not None and period <= last:
        raise LedgerError(f"period {period} is already closed (last closed: {last})")
    if last is not None and period != next_period(last):
        raise LedgerError(f"close {next_period(last)} before {period}: periods close in order")
    return last
