"""Rating: a tenant's usage in a period becomes invoice lines, each split and posted once.

Rating a tenant for a period claims every unclaimed usage event of that tenant that
happened before the period's end (so late events from closed periods land here), adds the
quantities per (kind, domain), prices each line in micro-units, rounds it once, splits it
with the one split function and posts it. The invoice row, the claims, the lines and the
postings commit together; a second rating of the same tenant and period is a no-op.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BigInteger,
    Column,
    MetaData,
    String,
    Table,
    func,
    insert,
    literal,
    select,
    text,
)
from tracer.db import utcnow
from tracer.models import Tenant, UsageEvent

from tracer_registry.ledger.errors import LedgerError
from tracer_registry.ledger.models import (
    Invoice,
    InvoiceLine,
    PricePlanRow,
    TaxRate,
    UsageClaim,
    table_of,
)
from tracer_registry.ledger.money import (
    BPS,
    MICROS_PER_MAJOR,
    SPLIT_RULE_VERSION,
    exponent,
    micros_to_minor,
    split,
)
from tracer_registry.ledger.periods import period_end
from tracer_registry.ledger.plans import PricePlan
from tracer_registry.ledger.postings import (
    Leg,
    Posting,
    platform,
    post_many,
    publisher_payable,
    tenant_receivable,
)
from tracer_registry.ledger.recurring import MONTH, TIER_PREFIX

if TYPE_CHECKING:
    from sqlalchemy.orm import Session
    from tracer.settings import Settings

# the events one rating transaction picks (a temporary table, created on first use)
_PICKED = Table("ledger_rating_picked", MetaData(), Column("id", String(128)),
                Column("tenant_id", String(64)), Column("kind", String(32)),
                Column("domain", String(128)), Column("quantity", BigInteger))


@dataclass(frozen=True)
class Priced:
    kind: str
    domain: str | None
    plan: PricePlan | None  # None: first-party, the platform keeps it all
    currency: str
    quantity: int
    unit_price_micros: int
    per: int = 1  # the price is per ``per`` units (MONTH for recurring charges)

    @property
    def accrued_micros(self) -> int:
        """What the line costs, floored to a micro-unit (the one rule for every reader)."""
        return self.quantity * self.unit_price_micros // self.per


MAX_ACCRUED = 2**63 - 1  # the BIGINT column that keeps it


def _plans(s: Session, domains: set[str]) -> dict[str, PricePlan]:
    if not domains:
        return {}
    rows = s.scalars(select(PricePlanRow).where(PricePlanRow.domain.in_(sorted(domains))))
    return {r.domain: PricePlan(r.domain, r.publisher_id, r.currency, r.monthly_fee_minor,
                                r.prediction_price_micros, r.commission_bps, r.rule_version)
            for r in rows}


def price(settings: Settings, tier_name: str, usage: dict[tuple[str, str | None], int],
          plans: dict[str, PricePlan]) -> list[Priced]:
    """What a tenant's summed usage costs, line by line (before rounding and splitting)."""
    tier = settings.tiers[tier_name]
    home = settings.billing.currency
    lines: list[Priced] = []
    predictions = 0
    for (kind, domain), quantity in sorted(usage.items(), key=lambda kv: (kv[0][0],
                                                                         kv[0][1] or "")):
        plan = plans.get(domain) if domain else None
        if kind == "prediction":
            predictions += quantity
            if plan and plan.prediction_price_micros:
                lines.append(Priced(kind, domain, plan, plan.currency, quantity,
                                    plan.prediction_price_micros))
        elif kind == "install":
            pass  # the act of installing is free: each period installed is billed below
        elif kind == "install_period":
            if plan and plan.monthly_fee_minor:
                per_minor = MICROS_PER_MAJOR // 10 ** exponent(plan.currency)
                lines.append(Priced(kind, domain, plan, plan.currency, quantity,
                                    plan.monthly_fee_minor * per_minor, MONTH))
        elif kind == "subscription":
            name = domain.removeprefix(TIER_PREFIX) if domain else tier_name
            if name not in settings.tiers:
                raise LedgerError(f"subscription usage names unknown tier {name!r}")
            per_minor = MICROS_PER_MAJOR // 10 ** exponent(home)
            lines.append(Priced(kind, domain, None, home, quantity,
                                settings.tiers[name].monthly_price_cents * per_minor, MONTH))
        elif kind == "training_run":
            lines.append(Priced(kind, None, None, home, quantity,
                                settings.billing.training_run_price_micros))
        elif kind == "custom_domain":
            lines.append(Priced(kind, None, None, home, quantity,
                                settings.billing.custom_domain_price_micros))
    over = predictions - tier.predictions_per_month
    if over > 0 and tier.overage_allowed:
        lines.append(Priced("overage", None, None, home, over,
                            settings.billing.overage_price_micros))
    return lines


def rate_tenant(s: Session, settings: Settings, tenant_id: str, period: str, *,
                caused_by: str) -> bool:
    """Rate one tenant for one period in the caller's transaction; False if already rated."""
    return rate_tenants(s, settings, [tenant_id], period, caused_by=caused_by) == 1


def rate_tenants(s: Session, settings: Settings, tenant_ids: list[str], period: str, *,
                 caused_by: str) -> int:
    """Rate tenants for one period in the caller's transaction; returns how many were new.

    A few statements per group, not per tenant: one pick of the unclaimed events, one claim
    INSERT … SELECT and one aggregate over the picked set, one batch of lines and one batch
    of postings.
    """
    done = set(s.scalars(select(Invoice.tenant_id).where(
        Invoice.period == period, Invoice.tenant_id.in_(tenant_ids))))
    todo = sorted(set(tenant_ids) - done)
    if not todo:
        return 0
    # the invoice ids are the claim: a concurrent rater fails here and retries
    s.execute(insert(table_of(Invoice)), [{"id": f"{t}/{period}", "tenant_id": t,
                                           "period": period, "created_at": utcnow()}
                                          for t in todo])
    usage: dict[str, dict[tuple[str, str | None], int]] = {t: defaultdict(int) for t in todo}
    for tenant_id, kind, domain, quantity in _claim(s, todo, period):
        usage[tenant_id][(kind, domain)] += int(quantity)
    plans = _plans(s, {d for u in usage.values() for _, d in u if d})
    tiers = dict(s.execute(select(Tenant.id, Tenant.tier).where(Tenant.id.in_(todo))).all())
    taxes = dict(s.execute(select(TaxRate.tenant_id, TaxRate.tax_bps)
                           .where(TaxRate.tenant_id.in_(todo))).all())
    line_rows: list[dict[str, Any]] = []
    postings: list[Posting] = []
    for tenant_id in todo:
        _rate_one(settings, tenant_id, period, tiers[tenant_id], usage[tenant_id], plans,
                  taxes.get(tenant_id, 0), caused_by, line_rows, postings)
    if line_rows:
        s.execute(insert(table_of(InvoiceLine)), line_rows)
    post_many(s, postings)
    return len(todo)


def _claim(s: Session, tenants: list[str], period: str) -> list[tuple]:
    """Claim the tenants' unclaimed usage up to the period's end; returns its sums per
    (tenant, kind, domain).

    The events are picked once, into a temporary table, and both the claims and the sums
    come from that one set, so they cannot disagree even while usage keeps arriving. Only
    this transaction can claim these tenants' events: it holds their invoice rows.
    """
    if s.get_bind().dialect.name == "postgresql":
        s.execute(text(f"CREATE TEMP TABLE IF NOT EXISTS {_PICKED.name} (id varchar(128), "
                       "tenant_id varchar(64), kind varchar(32), domain varchar(128), "
                       "quantity bigint) ON COMMIT DROP"))
        s.execute(text(f"TRUNCATE {_PICKED.name}"))
    else:
        s.execute(text(f"CREATE TEMP TABLE IF NOT EXISTS {_PICKED.name} (id TEXT, "
                       "tenant_id TEXT, kind TEXT, domain TEXT, quantity INTEGER)"))
        s.execute(text(f"DELETE FROM {_PICKED.name}"))
    claimed = select(UsageClaim.event_id).where(UsageClaim.event_id == UsageEvent.id)
    s.execute(insert(_PICKED).from_select(
        ["id", "tenant_id", "kind", "domain", "quantity"],
        select(UsageEvent.id, UsageEvent.tenant_id, UsageEvent.kind, UsageEvent.domain,
               UsageEvent.quantity)
        .where(UsageEvent.tenant_id.in_(tenants), UsageEvent.occurred_at < period_end(period),
               ~claimed.exists())))
    p = _PICKED.c
    s.execute(insert(table_of(UsageClaim)).from_select(
        ["event_id", "invoice_id"],
        select(p.id, p.tenant_id + literal(f"/{period}")).order_by(p.id)))
    return [tuple(row) for row in s.execute(
        select(p.tenant_id, p.kind, p.domain, func.sum(p.quantity))
        .group_by(p.tenant_id, p.kind, p.domain))]


def _rate_one(settings: Settings, tenant_id: str, period: str, tier: str,
              usage: dict[tuple[str, str | None], int], plans: dict[str, PricePlan],
              tax_bps: int, caused_by: str, line_rows: list, postings: list) -> None:
    invoice_id = f"{tenant_id}/{period}"
    end = period_end(period)
    effective = end - timedelta(seconds=1)  # a line is earned by the end of its period
    for item in price(settings, tier, usage, plans):
        line_id = f"{invoice_id}/{item.kind}/{item.domain or '-'}"
        accrued = item.accrued_micros
        if accrued > MAX_ACCRUED:
            raise LedgerError(f"line {line_id}: {accrued} micro-units is beyond what the "
                              f"ledger keeps ({MAX_ACCRUED})")
        gross = micros_to_minor(accrued, item.currency)  # rounded once, here
        bps = item.plan.commission_bps if item.plan else BPS
        rule = item.plan.rule_version if item.plan else SPLIT_RULE_VERSION
        cut = split(gross, bps, tax_bps=tax_bps, rule_version=rule)
        publisher = item.plan.publisher_id if item.plan else None
        tx_id = f"charge:{line_id}" if gross else None
        line_rows.append({"id": line_id, "invoice_id": invoice_id, "tenant_id": tenant_id,
                          "period": period, "kind": item.kind, "domain": item.domain,
                          "publisher_id": publisher, "currency": item.currency,
                          "quantity": item.quantity, "unit_price_micros": item.unit_price_micros,
                          "accrued_micros": accrued, "gross": cut.gross, "tax": cut.tax,
                          "fee": cut.fee, "share": cut.share, "commission_bps": bps,
                          "rule_version": rule, "refunded": 0, "transaction_id": tx_id})
        if not gross:
            continue
        legs = [Leg(tenant_receivable(tenant_id, item.currency), "D", cut.gross)]
        if cut.tax:
            legs.append(Leg(platform("tax", item.currency), "C", cut.tax))
        if cut.fee:
            legs.append(Leg(platform("revenue", item.currency), "C", cut.fee))
        if cut.share and publisher is not None:  # only a plan's listing has a share
            legs.append(Leg(publisher_payable(publisher, item.currency), "C", cut.share))
        postings.append(Posting(
            id=f"charge:{line_id}", kind="charge", legs=legs, effective_at=effective, period=period,
            caused_by=caused_by, source_event=line_id, rule_version=rule, tenant_id=tenant_id,
            publisher_id=publisher, domain=item.domain, line_id=line_id,
            memo={"net": cut.net, "fee": cut.fee, "commission_bps": bps, "tax_bps": tax_bps,
                  "quantity": item.quantity, "accrued_micros": accrued}))
