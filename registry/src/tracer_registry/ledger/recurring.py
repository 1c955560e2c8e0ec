"""Recurring charges: each period an install is active, and each tenant's tier subscription.

The platform is the producer of these usage events, one per (tenant, listing, period) and
per (tenant, tier, period), with the ids ``install_period:<tenant>:<domain>:<period>`` and
``subscription:<tenant>:<tier>:<period>``. Once produced, an event is never produced again
(reruns skip ids already recorded), so a rerun never double-bills.

The pro-rating rule, by UTC calendar day:

- an install is charged for every day of the period on which it was installed for any part
  of the day: from the day it was installed through the day it was uninstalled. An
  uninstall therefore stops the charge from the next day on, and no later period is charged;
- a tenant's subscription is charged for every day of the period on which the tenant
  existed, each day at the tier the tenant held at the end of that day (an upgrade counts
  from the day it happens, a downgrade from the day it happens too);
- a charge is ``monthly price × days / days in the month``. Quantities are kept in
  ``MONTH`` parts of a month (377,580 = lcm(28, 29, 30, 31)), so every day count of every
  month is an exact integer; a full month is ``MONTH``. Rating accrues
  ``quantity × monthly price in micro-units // MONTH`` and rounds to minor units once.

First-party listings have no price plan and are charged nothing per install; a subscription
is first-party: the platform keeps 100 %.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from tracer.db import utcnow
from tracer.errors import NotFoundError, ValidationError
from tracer.models import DomainInstall, Tenant, UsageEvent
from tracer.usage import record_usage

from tracer_registry.ledger.models import TierChange
from tracer_registry.ledger.periods import period_end, period_start

if TYPE_CHECKING:
    from sqlalchemy.orm import Session
    from tracer.settings import Settings

MONTH = 377_580  # lcm(28, 29, 30, 31): every day of every month is a whole number of parts
TIER_PREFIX = "tier:"
DAY = timedelta(days=1)


def days_in(period: str) -> int:
    return (period_end(period) - period_start(period)).days


def month_parts(days: int, period: str) -> int:
    """``days`` of ``period`` as parts of a month (exact: MONTH divides by every length)."""
    return days * (MONTH // days_in(period))


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _midnight(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def days_touched(start: datetime, end: datetime | None, period: str) -> int:
    """Calendar days of ``period`` that ``[start, end)`` touches (end None: still going)."""
    first, stop = period_start(period), period_end(period)
    start, end = _aware(start), None if end is None else _aware(end)
    if start >= stop or (end is not None and (end <= first or end < start)):
        return 0
    low = max(start, first)
    high = stop if end is None or end >= stop else end  # exclusive
    last = high - timedelta(microseconds=1) if high > low else low
    return (_midnight(last) - _midnight(low)).days + 1


def tier_days(created_at: datetime, current: str, changes: list[TierChange],
              period: str) -> dict[str, int]:
    """{tier: days of ``period`` billed at it}: each day at the tier held at its end."""
    changes = sorted(changes, key=lambda c: (_aware(c.at), c.id))
    found: dict[str, int] = defaultdict(int)
    day = period_start(period)
    created = _aware(created_at)
    while day < period_end(period):
        end_of_day = day + DAY
        if created < end_of_day:
            before = [c for c in changes if _aware(c.at) < end_of_day]
            tier = before[-1].tier_to if before else (changes[0].tier_from if changes
                                                      else current)
            found[tier] += 1
        day = end_of_day
    return dict(found)


def change_tier(s: Session, settings: Settings, tenant_id: str, tier: str, *,
                caused_by: str, at: datetime | None = None) -> TierChange:
    """Move a tenant to ``tier`` from ``at`` on (recorded; subscriptions pro-rate by it)."""
    tenant = s.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFoundError(f"tenant {tenant_id!r} does not exist")
    if tier not in settings.tiers:
        raise ValidationError(f"unknown tier {tier!r} (tiers: {', '.join(settings.tiers)})",
                              field="tier")
    if tier == tenant.tier:
        raise ValidationError(f"tenant {tenant_id!r} is already on tier {tier!r}",
                              field="tier")
    at = _aware(at or utcnow())
    last = s.scalar(select(TierChange.at).where(TierChange.tenant_id == tenant_id)
                    .order_by(TierChange.at.desc()).limit(1))
    if last is not None and at < _aware(last):
        raise ValidationError(f"a tier change at {at.isoformat()} is before the last one "
                              f"({_aware(last).isoformat()})", field="at")
    row = TierChange(tenant_id=tenant_id, at=at, tier_from=tenant.tier, tier_to=tier,
                     caused_by=caused_by)
    tenant.tier = tier
    s.add(row)
    s.flush()
    return row


def _wanted(s: Session, period: str) -> list[dict]:
    first, stop = period_start(period), period_end(period)
    events = []
    for row in s.scalars(select(DomainInstall).where(DomainInstall.installed_at < stop)
                         .order_by(DomainInstall.tenant_id, DomainInstall.domain)):
        if row.uninstalled_at is not None and _aware(row.uninstalled_at) < first:
            continue
        days = days_touched(row.installed_at, row.uninstalled_at, period)
        if days:
            events.append({"id": f"install_period:{row.tenant_id}:{row.domain}:{period}",
                           "tenant_id": row.tenant_id, "kind": "install_period",
                           "domain": row.domain, "quantity": month_parts(days, period),
                           "attrs": {"period": period, "days": days,
                                     "days_in_period": days_in(period)}})
    changes: dict[str, list[TierChange]] = defaultdict(list)
    for change in s.scalars(select(TierChange)):
        changes[change.tenant_id].append(change)
    for tenant in s.scalars(select(Tenant).where(Tenant.created_at < stop,
                                                 Tenant.active.is_(True))
                            .order_by(Tenant.id)):
        for tier, days in sorted(tier_days(tenant.created_at, tenant.tier,
                                           changes[tenant.id], period).items()):
            events.append({"id": f"subscription:{tenant.id}:{tier}:{period}",
                           "tenant_id": tenant.id, "kind": "subscription",
                           "domain": f"{TIER_PREFIX}{tier}",
                           "quantity": month_parts(days, period),
                           "attrs": {"period": period, "days": days,
                                     "days_in_period": days_in(period)}})
    return events


def produce(s: Session, period: str) -> int:
    """Record the period's recurring usage events not yet recorded; returns how many."""
    wanted = _wanted(s, period)
    ids = [e["id"] for e in wanted]
    have: set[str] = set()
    for start in range(0, len(ids), 5000):
        have.update(s.scalars(select(UsageEvent.id).where(
            UsageEvent.id.in_(ids[start:start + 5000]))))
    made = 0
    for event in wanted:
        if event["id"] in have:
            continue  # produced before: frozen, never re-made
        event_id = event.pop("id")
        record_usage(s, event_id, occurred_at=period_start(period), **event)
        made += 1
    return made
