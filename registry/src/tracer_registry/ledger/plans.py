"""Price plans (agreements) of third-party listings, tax rates and payout thresholds.

The commission rate is data, per listing: the registry sets a listing's plan with
``set_price_plan`` when the listing is published or repriced. A domain without a plan is
first-party: the platform keeps 100 % and prices it through the tenant's tier.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select
from tracer.db import utcnow
from tracer.errors import ValidationError

from tracer_registry.ledger.models import PayoutThreshold, PricePlanRow, TaxRate
from tracer_registry.ledger.money import BPS, MAX_AMOUNT, SPLIT_RULE_VERSION, exponent

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

DEFAULT_COMMISSION_BPS = 3_000
# Ten major units: below this a payout costs more than it is worth; it carries forward.
DEFAULT_THRESHOLD_MAJOR = 10


@dataclass(frozen=True)
class PricePlan:
    domain: str
    publisher_id: str
    currency: str
    monthly_fee_minor: int = 0
    prediction_price_micros: int = 0
    commission_bps: int = DEFAULT_COMMISSION_BPS
    rule_version: str = SPLIT_RULE_VERSION


def _non_negative_int(name: str, value: object) -> int:
    if type(value) is not int or value < 0:
        raise ValidationError(f"{name} must be a non-negative integer, got {value!r}", field=name)
    return value


def _third_party(s: Session, plan: PricePlan) -> None:
    """Rule 11: plans are for third-party listings of existing publishers only.

    Refused: a publisher the registry does not know, a first-party publisher, and a domain
    a first-party listing (or another publisher's listing) provides. Checked against the
    registry's tables, which every platform with the ledger has (both ship in
    tracer-registry); a database with the ledger's tables alone has no publishers to ask.
    """
    from sqlalchemy import MetaData, Table, inspect

    connection = s.connection()
    if not inspect(connection).has_table("registry_publishers"):
        return
    # read by name, not through the catalog's models: the ledger imports nothing else of
    # the registry (its import contract), so it could ship on its own
    tables = MetaData()
    publishers = Table("registry_publishers", tables, autoload_with=connection)
    listings = Table("registry_listings", tables, autoload_with=connection)
    first_party = dict(s.execute(select(publishers.c.id, publishers.c.first_party)).all())
    if plan.publisher_id not in first_party:
        raise ValidationError(f"publisher {plan.publisher_id!r} does not exist: price plans "
                              "are for listings of registered publishers", field="publisher_id")
    if first_party[plan.publisher_id]:
        raise ValidationError(f"publisher {plan.publisher_id!r} is first-party: its domains "
                              "keep 100 % for the platform and take no price plan",
                              field="publisher_id")
    for listing in s.execute(select(listings.c.name, listings.c.publisher_id,
                                    listings.c.domains)):
        if plan.domain not in (listing.domains or []):
            continue
        if first_party.get(listing.publisher_id):
            raise ValidationError(f"domain {plan.domain!r} is first-party (listing "
                                  f"{listing.name}): it keeps 100 % for the platform",
                                  field="domain")
        if listing.publisher_id != plan.publisher_id:
            raise ValidationError(f"domain {plan.domain!r} is provided by {listing.name}, a "
                                  f"listing of {listing.publisher_id!r}, not of "
                                  f"{plan.publisher_id!r}", field="publisher_id")


def _bounded(name: str, value: object, limit: int) -> int:
    checked = _non_negative_int(name, value)
    if checked > limit:
        raise ValidationError(f"{name} of {value} is beyond the ledger's limit of {limit}",
                              field=name)
    return checked


def set_price_plan(s: Session, plan: PricePlan) -> PricePlan:
    """Create or replace the plan of ``plan.domain``; takes effect for lines rated later.

    The one place prices are set: the catalog's ``set_price_plan`` and ``tracer payouts
    plan`` both come here, and the catalog shows what is stored here.
    """
    exponent(plan.currency)
    _bounded("monthly_fee_minor", plan.monthly_fee_minor, MAX_AMOUNT)
    _bounded("prediction_price_micros", plan.prediction_price_micros, MAX_AMOUNT)
    if _non_negative_int("commission_bps", plan.commission_bps) > BPS:
        raise ValidationError(f"commission_bps must be at most {BPS}, got {plan.commission_bps}",
                              field="commission_bps")
    if not plan.publisher_id:
        raise ValidationError("a price plan needs the listing's publisher", field="publisher_id")
    _third_party(s, plan)
    row = s.get(PricePlanRow, plan.domain) or PricePlanRow(domain=plan.domain)
    row.publisher_id, row.currency = plan.publisher_id, plan.currency
    row.monthly_fee_minor = plan.monthly_fee_minor
    row.prediction_price_micros = plan.prediction_price_micros
    row.commission_bps, row.rule_version = plan.commission_bps, plan.rule_version
    row.updated_at = utcnow()
    s.add(row)
    s.flush()
    return plan


def price_plan(s: Session, domain: str | None) -> PricePlan | None:
    """The plan of a third-party listing, or None for a first-party domain."""
    row = s.get(PricePlanRow, domain) if domain else None
    if row is None:
        return None
    return PricePlan(row.domain, row.publisher_id, row.currency, row.monthly_fee_minor,
                     row.prediction_price_micros, row.commission_bps, row.rule_version)


def set_tax_rate(s: Session, tenant_id: str, tax_bps: int) -> None:
    _bounded("tax_bps", tax_bps, 10 * BPS)  # up to 100 % on top of the net
    row = s.get(TaxRate, tenant_id) or TaxRate(tenant_id=tenant_id)
    row.tax_bps = tax_bps
    s.add(row)
    s.flush()


def tax_rate(s: Session, tenant_id: str) -> int:
    row = s.get(TaxRate, tenant_id)
    return row.tax_bps if row else 0


def set_payout_threshold(s: Session, publisher_id: str, currency: str, minimum: int) -> None:
    exponent(currency)
    _bounded("minimum", minimum, MAX_AMOUNT)
    row = s.get(PayoutThreshold, (publisher_id, currency)) or PayoutThreshold(
        publisher_id=publisher_id, currency=currency)
    row.minimum = minimum
    s.add(row)
    s.flush()


def payout_threshold(s: Session, publisher_id: str, currency: str) -> int:
    row = s.get(PayoutThreshold, (publisher_id, currency))
    return row.minimum if row else DEFAULT_THRESHOLD_MAJOR * 10 ** exponent(currency)


def payout_thresholds(s: Session, pairs: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """``payout_threshold`` for many (publisher, currency) pairs, one query per 5,000."""
    owners = sorted({publisher for publisher, _ in pairs})
    found: dict[tuple[str, str], int] = {}
    for start in range(0, len(owners), 5000):
        for row in s.scalars(select(PayoutThreshold).where(
                PayoutThreshold.publisher_id.in_(owners[start:start + 5000]))):
            found[(row.publisher_id, row.currency)] = row.minimum
    return {(publisher, currency): found.get((publisher, currency),
                                             DEFAULT_THRESHOLD_MAJOR * 10 ** exponent(currency))
            for publisher, currency in pairs}
