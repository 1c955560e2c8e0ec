"""Spend so far this period: what the platform's own prices make of a tenant's month.

The tier's monthly fee, every training run and custom domain at their settings prices, and
the predictions above the allowance at ``billing.overage_price_micros`` (tiers with overage) — the
same rules the ledger rates at period close (``tracer_registry.ledger.rating.price``).
Publishers' price plans are the registry's and are rated by its ledger; they are not in
this estimate. Three queries for any number of tenants: ``/metrics`` computes it at every
scrape, ``tracer usage``, ``GET /v1/usage`` and the dashboard show it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from tracer.db import utcnow
from tracer.models import PredictionCounter, Tenant, UsageEvent
from tracer.quota import month_start, period_of

if TYPE_CHECKING:
    from collections.abc import Iterable
    from datetime import datetime

    from sqlalchemy.orm import Session

    from tracer.settings import Settings

MICROS_PER_CENT = 10_000  # 1 USD = 1_000_000 micro-units = 100 cents


@dataclass(frozen=True)
class Spend:
    tenant_id: str
    tier: str
    period: str
    currency: str
    subscription_micros: int
    predictions: int
    predictions_allowance: int
    overage_predictions: int
    overage_micros: int
    training_runs: int
    training_runs_allowance: int
    training_micros: int
    custom_domains: int
    custom_domain_micros: int

    @property
    def total_micros(self) -> int:
        return (self.subscription_micros + self.overage_micros + self.training_micros
                + self.custom_domain_micros)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "total_micros": self.total_micros,
                "total": self.total_micros / 1_000_000}


def spend_of(s: Session, settings: Settings, tenant_ids: Iterable[str] | None = None,
             when: datetime | None = None) -> list[Spend]:
    """Each tenant's spend so far in the month of ``when`` (default now); all tenants when
    ``tenant_ids`` is None."""
    when = when or utcnow()
    period, start = period_of(when), month_start(when)
    tenants = select(Tenant.id, Tenant.tier)
    ids = None if tenant_ids is None else sorted(set(tenant_ids))
    if ids is not None:
        tenants = tenants.where(Tenant.id.in_(ids))
    tiers = dict(s.execute(tenants.order_by(Tenant.id)).all())
    counted = select(PredictionCounter.tenant_id, PredictionCounter.rows).where(
        PredictionCounter.period == period)
    events = select(UsageEvent.tenant_id, UsageEvent.kind,
                    func.coalesce(func.sum(UsageEvent.quantity), 0)).where(
        UsageEvent.kind.in_(("training_run", "custom_domain")),
        UsageEvent.occurred_at >= start).group_by(UsageEvent.tenant_id, UsageEvent.kind)
    if ids is not None:
        counted = counted.where(PredictionCounter.tenant_id.in_(ids))
        events = events.where(UsageEvent.tenant_id.in_(ids))
    predictions = dict(s.execute(counted).all())
    metered: dict[tuple[str, str], int] = {(t, k): int(q) for t, k, q in s.execute(events)}
    out = []
    for tenant_id, tier_name in tiers.items():
        tier = settings.tiers.get(tier_name)
        if tier is None:  # a tier removed from the settings: nothing to price it with
            continue
        used = int(predictions.get(tenant_id, 0))
        over = max(0, used - tier.predictions_per_month) if tier.overage_allowed else 0
        runs = metered.get((tenant_id, "training_run"), 0)
        customs = metered.get((tenant_id, "custom_domain"), 0)
        out.append(Spend(
            tenant_id=tenant_id, tier=tier_name, period=period, currency=settings.billing.currency,
            subscription_micros=tier.monthly_price_cents * MICROS_PER_CENT,
            predictions=used, predictions_allowance=tier.predictions_per_month,
            overage_predictions=over, overage_micros=over * settings.billing.overage_price_micros,
            training_runs=runs, training_runs_allowance=tier.training_runs_per_month,
            training_micros=runs * settings.billing.training_run_price_micros,
            custom_domains=customs,
            custom_domain_micros=customs * settings.billing.custom_domain_price_micros))
    return out


def spend_for(s: Session, settings: Settings, tenant_id: str,
              when: datetime | None = None) -> Spend | None:
    found = spend_of(s, settings, [tenant_id], when)
    return found[0] if found else None
