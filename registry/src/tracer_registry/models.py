"""The registry's tables (its own Alembic tree, version table ``alembic_version_registry``).

Money is integers: a monthly fee in minor units of the listing's currency and a price per
prediction in micro-units (1 USD = 1_000_000), because a prediction may cost less than a
cent and the ledger rounds once per rated line, never per event.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column
from tracer.db import utcnow
from tracer.models import Base

#: release states, most to least usable
STATUSES = ("active", "yanked", "quarantined", "revoked")
#: certification levels, lowest first (issue 7: community → verified publisher → certified)
LEVELS = ("community", "verified-publisher", "certified")


class Publisher(Base):
    __tablename__ = "registry_publishers"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    first_party: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TrustedPublisher(Base):
    """Who may publish a namespace from CI: the identity a keyless bundle must carry."""

    __tablename__ = "registry_trusted_publishers"
    __table_args__ = (UniqueConstraint("namespace", "issuer", "repository", "workflow"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    publisher_id: Mapped[str] = mapped_column(ForeignKey("registry_publishers.id"), index=True)
    namespace: Mapped[str] = mapped_column(String(128), index=True)
    issuer: Mapped[str] = mapped_column(String(300))
    repository: Mapped[str] = mapped_column(String(300))
    workflow: Mapped[str] = mapped_column(String(300))
    environment: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PublisherKey(Base):
    """An EC public key a publisher registered for air-gapped (key-signed) publishing."""

    __tablename__ = "registry_publisher_keys"

    key_id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of DER SPKI
    publisher_id: Mapped[str] = mapped_column(ForeignKey("registry_publishers.id"), index=True)
    namespace: Mapped[str] = mapped_column(String(128), index=True)
    public_pem: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]


class DomainClaim(Base):
    """A domain prefix (``acme`` owns ``acme/...``) a publisher owns, as it owns names."""

    __tablename__ = "registry_domain_claims"

    prefix: Mapped[str] = mapped_column(String(128), primary_key=True)
    publisher_id: Mapped[str] = mapped_column(ForeignKey("registry_publishers.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Listing(Base):
    """One plugin in the catalog (a distribution), with its releases below it."""

    __tablename__ = "registry_listings"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)  # normalized dist name
    publisher_id: Mapped[str] = mapped_column(ForeignKey("registry_publishers.id"), index=True)
    summary: Mapped[str] = mapped_column(Text, default="")
    readme: Mapped[str] = mapped_column(Text, default="")
    domains: Mapped[list[str]] = mapped_column(JSON, default=list)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    monthly_fee_minor: Mapped[int] = mapped_column(Integer, default=0)
    per_prediction_micros: Mapped[int] = mapped_column(Integer, default=0)
    commission_bps: Mapped[int] = mapped_column(Integer, default=3000)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Release(Base):
    """One published version: what was verified, where its blobs are, and its state."""

    __tablename__ = "registry_releases"
    __table_args__ = (UniqueConstraint("listing_name", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    listing_name: Mapped[str] = mapped_column(ForeignKey("registry_listings.name"), index=True)
    version: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(300))
    size: Mapped[int] = mapped_column(Integer)
    wheel_sha256: Mapped[str] = mapped_column(String(64), index=True)
    bundle_sha256: Mapped[str] = mapped_column(String(64))
    identity_sha256: Mapped[str] = mapped_column(String(64))
    method: Mapped[str] = mapped_column(String(16))  # keyless | pep740 | key
    signer: Mapped[str] = mapped_column(String(500))
    issuer: Mapped[str | None] = mapped_column(String(300))
    key_id: Mapped[str | None] = mapped_column(String(64))
    requires_tracer: Mapped[str] = mapped_column(String(100), default="")
    license: Mapped[str] = mapped_column(String(200), default="")
    entry_points: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="active")
    status_reason: Mapped[str | None] = mapped_column(Text)
    status_at: Mapped[datetime | None]
    certification_level: Mapped[str] = mapped_column(String(32), default="community")
    certification_report: Mapped[dict[str, Any] | None]
    certification_expires_at: Mapped[datetime | None]
    published_at: Mapped[datetime] = mapped_column(default=utcnow)


class TenantPolicy(Base):
    """The lowest certification level a tenant accepts at install."""

    __tablename__ = "registry_tenant_policies"

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    min_level: Mapped[str] = mapped_column(String(32), default="community")


class Installation(Base):
    """A release a tenant installed (installed is not enabled: the tenant enables it)."""

    __tablename__ = "registry_installations"
    __table_args__ = (UniqueConstraint("tenant_id", "listing_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    listing_name: Mapped[str] = mapped_column(ForeignKey("registry_listings.name"))
    version: Mapped[str] = mapped_column(String(64))
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    installed_at: Mapped[datetime] = mapped_column(default=utcnow)
