"""Monthly allowances per tier: predictions counted as they are metered, runs on demand.

A counter row per tenant and month is incremented in the same transaction as the usage
event, so the check is exact under concurrency (SQLite and PostgreSQL both serialise the
row update) and costs one indexed write instead of summing the month's events.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from tracer.db import utcnow
from tracer.errors import QuotaError
from tracer.models import PredictionCounter, UsageEvent

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.engine import Connection
    from sqlalchemy.orm import Session

    from tracer.settings import Tier


def period_of(when: datetime) -> str:
    return f"{when.year:04d}-{when.month:02d}"


def month_start(when: datetime) -> datetime:
    return when.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


_COUNTERS = cast("Table", PredictionCounter.__table__)
_KEY = (_COUNTERS.c.tenant_id == bindparam("b_tenant")) & (
    _COUNTERS.c.period == bindparam("b_period"))
# built once (the prediction writer charges every group); FOR UPDATE on PostgreSQL: two
# workers charging the same month never lose a count (SQLite: BEGIN IMMEDIATE serialises)
_READ = select(_COUNTERS.c.rows).where(_KEY).with_for_update()
_UPDATE = update(_COUNTERS).where(_KEY).values(rows=bindparam("b_rows"))
_INSERT = insert(_COUNTERS)


@dataclass
class _Counter:
    rows: int
    stored: int | None  # what the database holds; None: no row yet


class Allowances:
    """The month counters one transaction charges: each read once, written by
    :meth:`write` (plain SQL on the caller's connection, no ORM unit of work).

    The group-commit writer charges many requests in one transaction; a request that does
    not fit raises before its rows are counted, so the others still are.
    """

    def __init__(self, c: Connection) -> None:
        self.c = c
        self._counters: dict[tuple[str, str], _Counter] = {}

    def charge(self, tenant_id: str, tier_name: str, tier: Tier, rows: int,
               when: datetime | None = None) -> int:
        """Count ``rows`` (in memory until :meth:`write`); how many of them are overage."""
        period = period_of(when or utcnow())
        counter = self._counters.get((tenant_id, period))
        if counter is None:
            stored = self.c.execute(_READ, {"b_tenant": tenant_id, "b_period": period}
                                    ).scalar()
            counter = self._counters[(tenant_id, period)] = _Counter(stored or 0, stored)
        before = counter.rows
        after = before + rows
        allowance = tier.predictions_per_month
        if after > allowance and not tier.overage_allowed:
            left = max(0, allowance - before)
            raise QuotaError(f"the {tier_name} tier allows {allowance:,} predictions a month; "
                             f"{before:,} used in {period}, {left:,} left, this request has "
                             f"{rows:,}", limit=allowance, used=before, requested=rows,
                             period=period)
        counter.rows = after
        return max(0, after - max(before, allowance))

    def write(self) -> None:
        """The changed counters, one statement per kind (update, insert)."""
        updates, inserts = [], []
        for (tenant_id, period), counter in self._counters.items():
            if counter.stored is None:
                inserts.append({"tenant_id": tenant_id, "period": period, "rows": counter.rows})
            elif counter.rows != counter.stored:
                updates.append({"b_tenant": tenant_id, "b_period": period,
                                "b_rows": counter.rows})
            counter.stored = counter.rows
        if updates:
            self.c.execute(_UPDATE, updates)
        if inserts:
            self.c.execute(_INSERT, inserts)


def predictions_used(s: Session, tenant_id: str, when: datetime | None = None) -> int:
    counter = s.get(PredictionCounter, (tenant_id, period_of(when or utcnow())))
    return counter.rows if counter else 0


def check_training_runs(s: Session, tenant_id: str, tier_name: str, tier: Tier,
                        when: datetime | None = None) -> int:
    """Training runs metered this month; raises QuotaError when none are left (no overage)."""
    start = month_start(when or utcnow())
    used = s.scalar(select(func.coalesce(func.sum(UsageEvent.quantity), 0)).where(
        UsageEvent.tenant_id == tenant_id, UsageEvent.kind == "training_run",
        UsageEvent.occurred_at >= start)) or 0
    if used >= tier.training_runs_per_month and not tier.overage_allowed:
        raise QuotaError(f"the {tier_name} tier allows {tier.training_runs_per_month} training "
                         f"runs a month; {used} used", limit=tier.training_runs_per_month,
                         used=used)
    return int(used)
