"""Certification tables (own Alembic tree, version table ``alembic_version_certification``).

A report is stored for every validator run; a release whose report passed enters the
review queue; approvals collect reviewer signatures over one fixed statement; the
attestation is the signed envelope, with its window. Allowances are reviewers' visible
exceptions to static findings.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column
from tracer.db import utcnow
from tracer.models import Base

#: review states; ``changes-requested`` means the automated report failed
REVIEW_STATES = ("changes-requested", "queued", "claimed", "approved", "rejected")


class CertificationReport(Base):
    __tablename__ = "certification_reports"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    plugin: Mapped[str] = mapped_column(String(128), index=True)  # normalized name
    version: Mapped[str] = mapped_column(String(64))
    wheel: Mapped[str] = mapped_column(String(300))
    wheel_sha256: Mapped[str] = mapped_column(String(64), index=True)
    policy_version: Mapped[str] = mapped_column(String(32))
    passed: Mapped[bool] = mapped_column(Boolean)
    report: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CertificationReview(Base):
    __tablename__ = "certification_reviews"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    report_id: Mapped[str] = mapped_column(ForeignKey("certification_reports.id"), index=True)
    plugin: Mapped[str] = mapped_column(String(128), index=True)
    version: Mapped[str] = mapped_column(String(64))
    wheel_sha256: Mapped[str] = mapped_column(String(64))
    publisher: Mapped[dict[str, Any]]  # bundle_sha256, identity, issuer, level
    status: Mapped[str] = mapped_column(String(24), index=True)
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    claimed_at: Mapped[datetime | None]
    notes: Mapped[str | None] = mapped_column(Text)  # what the publisher sees
    statement: Mapped[dict[str, Any] | None]  # fixed at the first approval
    decided_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CertificationApproval(Base):
    __tablename__ = "certification_approvals"
    __table_args__ = (UniqueConstraint("review_id", "reviewer"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    review_id: Mapped[str] = mapped_column(ForeignKey("certification_reviews.id"), index=True)
    reviewer: Mapped[str] = mapped_column(String(200))
    keyid: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(Text)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReviewerKey(Base):
    __tablename__ = "certification_reviewer_keys"

    keyid: Mapped[str] = mapped_column(String(64), primary_key=True)
    reviewer: Mapped[str] = mapped_column(String(200), index=True)
    public_pem: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]


class StaticAllowanceRow(Base):
    __tablename__ = "certification_allowances"
    __table_args__ = (UniqueConstraint("plugin", "rule", "file", "symbol"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    plugin: Mapped[str] = mapped_column(String(128), index=True)
    rule: Mapped[str] = mapped_column(String(64))
    file: Mapped[str] = mapped_column(String(300))
    symbol: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    granted_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Attestation(Base):
    __tablename__ = "certification_attestations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    review_id: Mapped[str] = mapped_column(ForeignKey("certification_reviews.id"), index=True)
    plugin: Mapped[str] = mapped_column(String(128), index=True)
    version: Mapped[str] = mapped_column(String(64))
    wheel_sha256: Mapped[str] = mapped_column(String(64), index=True)
    level: Mapped[str] = mapped_column(String(32))
    envelope: Mapped[dict[str, Any]]
    reviewed_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


#: states of an automated validator run queued at publish
RUN_STATES = ("pending", "running", "done", "failed")


class CertificationRun(Base):
    """One queued run of the validator on a published release (``certify.intake``)."""

    __tablename__ = "certification_runs"
    __table_args__ = (UniqueConstraint("plugin", "version"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    plugin: Mapped[str] = mapped_column(String(128), index=True)  # normalized name
    version: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), index=True)
    review_id: Mapped[str | None] = mapped_column(String(36))
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
