"""Response bodies of the registry routes (``routes.py``): each route returns through one of
these, so FastAPI checks every answer and the OpenAPI document says what it holds (the
schema fuzzing in CI validates answers against it).

The shapes are those the routes answered before they were typed: the fields named here
are always present; ``extra="allow"`` (from core's :class:`tracer.api.responses.Out`)
keeps anything a later version adds, which a client ignores.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field
from tracer.api.responses import Out


class Price(Out):
    listing: str
    currency: str
    monthly_fee_minor: int
    per_prediction_micros: int
    commission_bps: int
    first_party: bool


class CatalogEntry(Out):
    name: str
    version: str = Field(description="The newest installable release.")
    summary: str
    domains: list[str] | None
    certification_level: str
    publisher: str
    price: Price


class ListingVersion(Out):
    version: str
    status: str = Field(description="active, yanked, quarantined or revoked.")
    reason: str | None
    sha256: str
    published_at: str | None
    certification_level: str
    license: str | None
    requires_tracer: str | None


class ListingPublisher(Out):
    id: str
    name: str
    first_party: bool
    identity: dict[str, Any] | None = Field(
        description="How the shown release was signed: method, signer, issuer.")


class Listing(Out):
    name: str
    summary: str
    readme: str
    domains: list[str] | None
    tags: list[str] | None
    metrics: dict[str, Any] | None
    publisher: ListingPublisher
    certification: dict[str, Any] | None = Field(
        description="The shown release's level, report, expiry and automated run.")
    price: Price
    versions: list[ListingVersion]


class PublisherOut(Out):
    id: str
    name: str
    first_party: bool


class PublisherKeyOut(Out):
    key_id: str
    publisher: str
    namespace: str


class DomainClaimOut(Out):
    publisher: str
    prefix: str


class TrustedPublisherOut(Out):
    publisher: str
    namespace: str
    issuer: str
    repository: str
    workflow: str
    environment: str | None


class AutomatedRun(Out):
    run: str
    status: str
    review: str | None
    error: str | None
    queued_at: str
    finished_at: str | None


class PublishedRelease(Out):
    listing: str
    version: str
    sha256: str
    signer: str | None
    method: str | None
    level: str
    certification: AutomatedRun | None = Field(
        description="The queued automated certification run.")


class InstalledOut(Out):
    listing: str
    version: str
    sha256: str
    previous: str | None = Field(description="The version installed before, if any.")
    domains: list[str]
    plugins: list[str]


class TenantPolicyOut(Out):
    tenant: str | None
    min_level: str


class ReleaseStatusOut(Out):
    listing: str
    version: str
    status: str
    reason: str | None
    unloaded: Any = Field(default=None, description=(
        "What this server stopped serving (quarantine and revoke only)."))
