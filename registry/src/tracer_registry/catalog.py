"""The catalog: listings and releases, search, price plans, certification fields, the index.

``price_plan(session, domain_name)`` is the ledger's way in: it answers for a listing name
(``tracer-esports``) or for a domain a listing provides (``esports/lol-10min``).
``set_certification`` is the certification engineer's: it records the level and report of
one release and re-signs the index so hosts see the new level.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from packaging.utils import canonicalize_name
from packaging.version import Version
from sqlalchemy import select
from tracer.errors import NotFoundError, ValidationError

from tracer_registry.index import IndexClient, IndexRepository
from tracer_registry.models import LEVELS, Listing, Publisher, Release

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.orm import Session
    from tracer.settings import Settings

INSTALLABLE = ("active",)


@dataclass(frozen=True)
class PricePlan:
    """What a tenant pays for a listing: integers only (see ``models``)."""

    listing: str
    currency: str
    monthly_fee_minor: int
    per_prediction_micros: int
    commission_bps: int
    first_party: bool

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def repository(settings: Settings) -> IndexRepository:
    return IndexRepository(settings.home.resolve() / "registry" / "index")


def client(settings: Settings) -> IndexClient:
    from datetime import timedelta

    from tracer_registry.config import pinned_root_path, registry_config

    lifetime = timedelta(seconds=registry_config().timestamp_lifetime_seconds)
    return IndexClient(repository(settings).root, settings.home.resolve() / "registry" / "trusted",
                       pinned_root=pinned_root_path(settings), lifetime=lifetime)


def level_rank(level: str) -> int:
    if level not in LEVELS:
        raise ValidationError(f"unknown certification level {level!r} (levels: "
                              f"{', '.join(LEVELS)})", field="level")
    return LEVELS.index(level)


def get_listing(s: Session, name_or_domain: str) -> Listing:
    name = canonicalize_name(name_or_domain)
    listing = s.get(Listing, name)
    if listing is None:  # a domain: only its owner's listing answers for it
        from tracer_registry.domains import domain_owner

        owner = domain_owner(s, name_or_domain)
        listing = next((row for row in s.scalars(select(Listing).order_by(Listing.name))
                        if name_or_domain in (row.domains or [])
                        and row.publisher_id == owner), None)
    if listing is None:
        raise NotFoundError(f"no listing {name_or_domain!r} in the catalog",
                            listing=name_or_domain)
    return listing


def releases(s: Session, listing: str) -> list[Release]:
    rows = s.scalars(select(Release).where(Release.listing_name == listing))
    return sorted(rows, key=lambda r: Version(r.version), reverse=True)


def get_release(s: Session, listing: str, version: str) -> Release:
    row = s.scalars(select(Release).where(Release.listing_name == listing,
                                          Release.version == version)).first()
    if row is None:
        raise NotFoundError(f"{listing} has no release {version}", listing=listing)
    return row


def latest(s: Session, listing: str) -> Release | None:
    return next((r for r in releases(s, listing) if r.status in INSTALLABLE), None)


def price_plan(s: Session, domain_name: str) -> PricePlan | None:
    """The price plan of the listing named ``domain_name`` or providing that domain."""
    try:
        listing = get_listing(s, domain_name)
    except NotFoundError:
        return None
    return listing_price(s, listing)


def listing_price(s: Session, listing: Listing) -> PricePlan:
    """What a listing costs: the ledger's plan when it bills one, else the listing's own
    prices (nothing for a first-party publisher)."""
    publisher = s.get(Publisher, listing.publisher_id)
    first_party = bool(publisher and publisher.first_party)
    billed = None if first_party else _ledger_plan(s, listing)
    if billed is not None:  # what the ledger bills is what the catalog shows
        return PricePlan(listing=listing.name, currency=billed.currency,
                         monthly_fee_minor=billed.monthly_fee_minor,
                         per_prediction_micros=billed.prediction_price_micros,
                         commission_bps=billed.commission_bps, first_party=False)
    return PricePlan(listing=listing.name, currency=listing.currency,
                     monthly_fee_minor=0 if first_party else listing.monthly_fee_minor,
                     per_prediction_micros=0 if first_party else listing.per_prediction_micros,
                     commission_bps=10_000 if first_party else listing.commission_bps,
                     first_party=first_party)


def _ledger_plan(s: Session, listing: Listing):
    """The ledger's plan for the listing's first priced domain (None without the ledger)."""
    from sqlalchemy import inspect

    if not listing.domains or not inspect(s.connection()).has_table("ledger_price_plans"):
        return None
    from tracer_registry.ledger.plans import price_plan as ledger_price_plan

    for domain in listing.domains:
        plan = ledger_price_plan(s, domain)
        if plan is not None:
            return plan
    return None


def set_price_plan(s: Session, name: str, *, currency: str, monthly_fee_minor: int = 0,
                   per_prediction_micros: int = 0) -> Listing:
    if len(currency) != 3 or not currency.isalpha() or not currency.isupper():
        raise ValidationError(f"currency {currency!r}: an ISO 4217 code such as USD",
                              field="currency")
    for field, value in (("monthly_fee_minor", monthly_fee_minor),
                         ("per_prediction_micros", per_prediction_micros)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValidationError(f"{field} must be a whole number ≥ 0, got {value!r}",
                                  field=field)
    listing = get_listing(s, name)
    listing.currency = currency
    listing.monthly_fee_minor = monthly_fee_minor
    listing.per_prediction_micros = per_prediction_micros
    _bill_through_ledger(s, listing)
    return listing


def _bill_through_ledger(s: Session, listing: Listing) -> None:
    """Hand a third-party listing's prices to the ledger, per domain it provides.

    Usage events name domains, so the ledger rates by domain. First-party listings keep
    100 % for the platform and get no plan. The ledger is its own plugin: when its tables
    are absent (not installed, or blocked), there is nothing to tell it.
    """
    from sqlalchemy import inspect

    publisher = s.get(Publisher, listing.publisher_id)
    if publisher is None or publisher.first_party or not listing.domains:
        return
    if not inspect(s.connection()).has_table("ledger_price_plans"):
        return
    from tracer_registry.ledger.plans import PricePlan as LedgerPlan
    from tracer_registry.ledger.plans import set_price_plan as set_ledger_plan

    for domain in listing.domains:
        set_ledger_plan(s, LedgerPlan(domain, listing.publisher_id, listing.currency,
                                      listing.monthly_fee_minor, listing.per_prediction_micros,
                                      listing.commission_bps))


def describe_listing(s: Session, name: str, *, domains: list[str] | None = None,
                     tags: list[str] | None = None, metrics: dict[str, Any] | None = None,
                     readme: str | None = None) -> Listing:
    listing = get_listing(s, name)
    if domains is not None:
        from tracer_registry.domains import check_owned

        check_owned(s, listing.publisher_id, listing.name, domains)
        listing.domains = list(domains)
    if tags is not None:
        listing.tags = list(tags)
    if metrics is not None:
        listing.metrics = dict(metrics)
    if readme is not None:
        listing.readme = readme
    if domains is not None:
        _bill_through_ledger(s, listing)
    return listing


def set_certification(s: Session, settings: Settings, listing: str, version: str, *,
                      level: str, report: dict[str, Any] | None,
                      expires_at: datetime | None = None) -> Release:
    """Record a release's certification level and report, and re-sign the index."""
    level_rank(level)
    release = get_release(s, canonicalize_name(listing), version)
    release.certification_level = level
    release.certification_report = report
    release.certification_expires_at = expires_at
    s.flush()
    sign_index(s, settings)
    return release


def _matches(listing: Listing, text: str) -> bool:
    haystack = " ".join([listing.name, listing.summary, listing.readme,
                         *(listing.domains or []), *(listing.tags or [])]).lower()
    return all(word in haystack for word in text.lower().split())


def _has_domain(listing: Listing, domain: str) -> bool:
    """An exact domain or tag, or a domain family (``esports`` finds ``esports/lol-10min``)."""
    domains, tags = listing.domains or [], listing.tags or []
    return (domain in domains or domain in tags
            or any(d.startswith(domain.rstrip("/") + "/") for d in domains))


def search(s: Session, text: str | None = None, *, domain: str | None = None,
           level: str | None = None, publisher: str | None = None,
           max_monthly_fee_minor: int | None = None,
           max_per_prediction_micros: int | None = None) -> list[dict[str, Any]]:
    """Listings with an installable release, filtered by words, domain/tag, level,
    publisher and price (at most this monthly fee / price per prediction)."""
    minimum = level_rank(level) if level else 0
    found = []
    for listing in s.scalars(select(Listing).order_by(Listing.name)):
        current = latest(s, listing.name)
        if current is None:
            continue
        if text and not _matches(listing, text):
            continue
        if domain and not _has_domain(listing, domain):
            continue
        if level_rank(current.certification_level) < minimum:
            continue
        if publisher and listing.publisher_id != publisher:
            continue
        if max_monthly_fee_minor is not None and listing.monthly_fee_minor > max_monthly_fee_minor:
            continue
        if (max_per_prediction_micros is not None
                and listing.per_prediction_micros > max_per_prediction_micros):
            continue
        found.append({"name": listing.name, "version": current.version,
                      "summary": listing.summary, "domains": listing.domains,
                      "certification_level": current.certification_level,
                      "publisher": listing.publisher_id,
                      "price": listing_price(s, listing).as_dict()})
    return found


def show(s: Session, name: str) -> dict[str, Any]:
    listing = get_listing(s, name)
    publisher = s.get(Publisher, listing.publisher_id)
    rows = releases(s, listing.name)
    current = latest(s, listing.name)
    shown = current or (rows[0] if rows else None)
    return {
        "name": listing.name, "summary": listing.summary, "readme": listing.readme,
        "domains": listing.domains, "tags": listing.tags, "metrics": listing.metrics,
        "publisher": {"id": listing.publisher_id, "name": publisher.name if publisher else "",
                      "first_party": bool(publisher and publisher.first_party),
                      "identity": {"method": shown.method, "signer": shown.signer,
                                   "issuer": shown.issuer} if shown else None},
        "certification": {"level": shown.certification_level,
                          "report": shown.certification_report,
                          "expires_at": _iso(shown.certification_expires_at)}
        if shown else None,
        "price": listing_price(s, listing).as_dict(),
        "versions": [{"version": r.version, "status": r.status, "reason": r.status_reason,
                      "sha256": r.wheel_sha256, "published_at": _iso(r.published_at),
                      "certification_level": r.certification_level, "license": r.license,
                      "requires_tracer": r.requires_tracer} for r in rows],
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def export_json(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True, default=str)


# the signed index lives in ``signed_index``; these names are the catalog's public surface
from tracer_registry.signed_index import index_entry, sign_index  # noqa: E402, F401
