"""A small marketplace for ledger tests: tenants, a third-party listing, usage events."""

from __future__ import annotations

from datetime import UTC, datetime

from tracer.db import session
from tracer.tenancy import create_tenant
from tracer.usage import record_usage
from tracer_registry.ledger.plans import PricePlan, set_price_plan

MAY = datetime(2026, 5, 10, 12, tzinfo=UTC)
JUNE = datetime(2026, 6, 10, 12, tzinfo=UTC)
JULY = datetime(2026, 7, 10, 12, tzinfo=UTC)

# $0.004 per prediction, $20.00 a month per install, 30 % commission
CHURN = PricePlan("acme.churn", "acme", "USD", monthly_fee_minor=2_000,
                  prediction_price_micros=4_000, commission_bps=3_000)
# a JPY listing (exponent 0) and a KWD listing (exponent 3)
SUSHI = PricePlan("tokyo.sushi", "tokyo", "JPY", monthly_fee_minor=1_500,
                  prediction_price_micros=70_000, commission_bps=2_500)
OIL = PricePlan("gulf.oil", "gulf", "KWD", monthly_fee_minor=5_000,
                prediction_price_micros=1_500, commission_bps=3_000)


def open_market(settings, tenants=("globex", "initech"), tier="professional",
                plans=(CHURN,)) -> None:
    with session(settings) as s:
        for tenant in tenants:
            create_tenant(s, tenant, tenant.title(), tier, settings.tiers)
        _register_publishers(s, {plan.publisher_id for plan in plans})
        for plan in plans:
            set_price_plan(s, plan)


def _register_publishers(s, publisher_ids) -> None:
    """Where the registry's tables exist (a whole platform, not a ledger-only database),
    price plans are for registered publishers (rule 11): register the plans' publishers."""
    from sqlalchemy import inspect

    if not inspect(s.connection()).has_table("registry_publishers"):
        return
    from tracer_registry.models import Publisher
    from tracer_registry.publishers import create_publisher

    for publisher_id in sorted(publisher_ids):
        if s.get(Publisher, publisher_id) is None:
            create_publisher(s, publisher_id, publisher_id.title())


def use(settings, event_id, tenant, kind, domain=None, quantity=1, at=MAY, **attrs):
    with session(settings) as s:
        record_usage(s, event_id, tenant_id=tenant, kind=kind, domain=domain,
                     quantity=quantity, occurred_at=at, attrs=attrs)
