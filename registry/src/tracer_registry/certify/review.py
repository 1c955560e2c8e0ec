"""Human review: the queue, claims, approvals with reviewer signatures, rejections.

A release whose automated report passed is ``queued``; a reviewer ``claim``s it, reads the
report and the diff from the previous certified version, and approves or rejects with
notes the publisher sees. Only the reviewer holding the claim approves or rejects; an
approval short of the M needed puts the review back in the queue for another reviewer
to claim (one who approved already cannot claim it again). The statement every approver
signs is fixed when the review is first claimed (a write), so M reviewers sign the same
bytes and reading it (``statement``) changes nothing; when the M-th signature arrives the
registry key signs too, the attestation is stored and the catalog shows ``certified``
until it expires.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from packaging.utils import canonicalize_name
from packaging.version import Version
from sqlalchemy import select
from tracer.db import utcnow
from tracer.errors import ConflictError, ForbiddenError, NotFoundError, ValidationError

from tracer_registry.certify import attestation as att
from tracer_registry.certify import registry_link
from tracer_registry.certify.diff import diff_wheels
from tracer_registry.certify.levels import CERTIFIED
from tracer_registry.certify.models import (
    Attestation,
    CertificationApproval,
    CertificationReport,
    CertificationReview,
    ReviewerKey,
    StaticAllowanceRow,
)
from tracer_registry.certify.policy import REGISTRY_POLICY, Policy
from tracer_registry.certify.runs import state
from tracer_registry.certify.static_checks import RULES, Allowance

if TYPE_CHECKING:
    from pathlib import Path

    from sqlalchemy.orm import Session
    from tracer.settings import Settings

    from tracer_registry.certify.report import Report

REGISTRY_KEY_FILE = "certification-registry.pem"


# -- keys ---------------------------------------------------------------------------------

def registry_key(settings: Settings):
    """The registry's certification key (created on first use, readable by its owner only)."""
    path = settings.home.resolve() / "keys" / REGISTRY_KEY_FILE
    if not path.exists():
        att.save_private(att.generate_key(), path)
    return att.load_private(path)


def register_reviewer_key(s: Session, reviewer: str, public_pem: str) -> ReviewerKey:
    kid = att.keyid(att.load_public(public_pem))
    existing = s.get(ReviewerKey, kid)
    if existing is not None:
        if existing.reviewer != reviewer:
            raise ConflictError(f"key {kid[:12]} is registered to {existing.reviewer}")
        return existing
    row = ReviewerKey(keyid=kid, reviewer=reviewer, public_pem=public_pem, created_at=utcnow())
    s.add(row)
    return row


def trust_policy(s: Session, settings: Settings, policy: Policy = REGISTRY_POLICY
                 ) -> att.TrustPolicy:
    key = registry_key(settings)
    reviewers = {k.keyid: (k.reviewer, k.public_pem)
                 for k in s.scalars(select(ReviewerKey).where(ReviewerKey.revoked_at.is_(None)))}
    return att.TrustPolicy(registry_keys={att.keyid(key): att.public_pem(key)},
                           reviewer_keys=reviewers, threshold=policy.reviewers_required)


# -- allowances ---------------------------------------------------------------------------

def allow(s: Session, *, plugin: str, rule: str, file: str, symbol: str, reason: str,
          reviewer: str) -> StaticAllowanceRow:
    if rule not in RULES:
        raise ValidationError(f"unknown static rule {rule!r} (rules: {', '.join(RULES)})",
                              field="rule")
    if len(reason.strip()) < 10:
        raise ValidationError("an allowance needs a reason of at least 10 characters: "
                              "publishers and other reviewers read it", field="reason")
    row = StaticAllowanceRow(plugin=canonicalize_name(plugin), rule=rule, file=file,
                             symbol=symbol, reason=reason.strip(), granted_by=reviewer,
                             created_at=utcnow())
    s.add(row)
    return row


def allowances_for(s: Session, plugin: str) -> list[Allowance]:
    rows = s.scalars(select(StaticAllowanceRow)
                     .where(StaticAllowanceRow.plugin == canonicalize_name(plugin)))
    return [Allowance(r.plugin, r.rule, r.file, r.symbol, r.reason, r.granted_by)
            for r in rows]


# -- reports and the queue ----------------------------------------------------------------

def submit(s: Session, settings: Settings, report: Report, wheel_bytes: bytes,
           publisher: dict[str, Any] | None = None) -> CertificationReview:
    """Store a validator report with the release and put the release in the queue."""
    if hashlib.sha256(wheel_bytes).hexdigest() != report.wheel_sha256:
        raise ValidationError("the wheel does not match the report's sha256")
    registry_link.store_wheel(settings, wheel_bytes)
    plugin = canonicalize_name(report.plugin)
    row = CertificationReport(id=str(uuid.uuid4()), plugin=plugin, version=report.version,
                              wheel=report.wheel, wheel_sha256=report.wheel_sha256,
                              policy_version=report.policy_version, passed=report.passed,
                              report=report.as_dict(), created_at=utcnow())
    s.add(row)
    publisher = publisher or registry_link.publisher_of(s, plugin, report.version) or {}
    review = CertificationReview(
        id=str(uuid.uuid4()), report_id=row.id, plugin=plugin, version=report.version,
        wheel_sha256=report.wheel_sha256, publisher=publisher,
        status="queued" if report.passed else "changes-requested",
        notes=None if report.passed else "the automated checks failed: "
        + "; ".join(f"{c.id}: {c.message}" for c in report.checks if c.blocking)[:2000],
        created_at=utcnow())
    s.add(review)
    s.flush()
    registry_link.record_level(s, settings, plugin, report.version,
                               level=publisher.get("level"), report=report.as_dict())
    return review


def queue(s: Session) -> list[CertificationReview]:
    rows = s.scalars(select(CertificationReview)
                     .where(CertificationReview.status.in_(("queued", "claimed")))
                     .order_by(CertificationReview.created_at))
    return list(rows)


def get_review(s: Session, review_id: str) -> CertificationReview:
    row = s.get(CertificationReview, review_id)
    if row is None:
        raise NotFoundError(f"no certification review {review_id!r}", review=review_id)
    return row


def claim(s: Session, review_id: str, reviewer: str,
          policy: Policy = REGISTRY_POLICY) -> CertificationReview:
    review = get_review(s, review_id)
    if review.status == "claimed" and review.claimed_by == reviewer:
        return review
    if review.status != "queued":
        who = f" by {review.claimed_by}" if review.claimed_by else ""
        raise ConflictError(f"review {review_id} is {review.status}{who}; only a queued "
                            "release can be claimed", review=review_id)
    if _approved_by(s, review_id, reviewer):
        raise ConflictError(f"{reviewer} already approved review {review_id}; another "
                            "reviewer claims it for the next approval", review=review_id)
    review.status, review.claimed_by, review.claimed_at = "claimed", reviewer, utcnow()
    if review.statement is None:  # fixed once, here: every approver signs these bytes
        review.statement = _build_statement(s, review, policy)
    return review


def _approved_by(s: Session, review_id: str, reviewer: str) -> bool:
    return s.scalars(select(CertificationApproval).where(
        CertificationApproval.review_id == review_id,
        CertificationApproval.reviewer == reviewer)).first() is not None


def _require_claimer(review: CertificationReview, reviewer: str, action: str) -> None:
    if review.status != "claimed":
        raise ConflictError(f"review {review.id} is {review.status}; claim it first",
                            review=review.id)
    if review.claimed_by != reviewer:
        raise ForbiddenError(f"review {review.id} is claimed by {review.claimed_by}; only "
                             f"the reviewer holding the claim may {action} it",
                             review=review.id)


def report_of(s: Session, review: CertificationReview) -> dict[str, Any]:
    return s.get_one(CertificationReport, review.report_id).report


def previous_certified(s: Session, review: CertificationReview) -> CertificationReview | None:
    rows = s.scalars(select(CertificationReview).where(
        CertificationReview.plugin == review.plugin, CertificationReview.status == "approved"))
    older = [r for r in rows if Version(r.version) < Version(review.version)]
    return max(older, key=lambda r: Version(r.version), default=None)


def diff_from_previous(s: Session, settings: Settings, review: CertificationReview
                       ) -> dict[str, Any]:
    previous = previous_certified(s, review)
    if previous is None:
        return {"previous": None, "note": "no earlier certified version: review every file"}
    return {"previous": previous.version,
            **diff_wheels(registry_link.load_wheel(settings, previous.wheel_sha256),
                          registry_link.load_wheel(settings, review.wheel_sha256))}


def statement(s: Session, review_id: str, policy: Policy = REGISTRY_POLICY) -> dict[str, Any]:
    """The statement approvers sign (fixed at the first claim); reading changes nothing."""
    review = get_review(s, review_id)
    if review.statement is None:
        raise ConflictError(f"review {review_id} is {review.status}; its statement is fixed "
                            "when a reviewer claims it", review=review_id)
    return review.statement


def _build_statement(s: Session, review: CertificationReview,
                     policy: Policy) -> dict[str, Any]:
    report = s.get_one(CertificationReport, review.report_id)
    return att.build_statement(
        wheel=report.wheel, wheel_sha256=review.wheel_sha256, plugin=review.plugin,
        version=review.version, policy_version=report.policy_version,
        publisher={k: review.publisher.get(k) for k in ("bundle_sha256", "identity",
                                                        "issuer", "level")},
        checks=report.report["checks"], report_sha256=hashlib.sha256(
            att.canonical(report.report)).hexdigest(),
        reviewers=[], threshold=policy.reviewers_required, reviewed_at=datetime.now(UTC))


def sign_statement(stmt: dict[str, Any], key_path: Path) -> tuple[str, str]:
    """A reviewer's offline signature over the statement: (keyid, base64 signature)."""
    key = att.load_private(key_path)
    env = att.sign(att.envelope(att.canonical(stmt)), key)
    return env["signatures"][0]["keyid"], env["signatures"][0]["sig"]


def approve(s: Session, settings: Settings, review_id: str, reviewer: str, *, keyid: str,
            signature: str, notes: str = "", policy: Policy = REGISTRY_POLICY
            ) -> CertificationReview:
    review = get_review(s, review_id)
    _require_claimer(review, reviewer, "approve")
    stmt = statement(s, review_id, policy)
    key = s.get(ReviewerKey, keyid)
    if key is None or key.revoked_at is not None or key.reviewer != reviewer:
        raise ForbiddenError(f"key {keyid[:12]} is not an active key of reviewer {reviewer}")
    env = att.envelope(att.canonical(stmt))
    if not att.signature_valid(env, {"keyid": keyid, "sig": signature},
                               att.load_public(key.public_pem)):
        raise ValidationError("the signature does not verify over this review's statement; "
                              "sign the statement returned by `statement` unchanged")
    if _approved_by(s, review_id, reviewer):
        raise ConflictError(f"{reviewer} already approved review {review_id}")
    s.add(CertificationApproval(review_id=review_id, reviewer=reviewer, keyid=keyid,
                                signature=signature, notes=notes, created_at=utcnow()))
    s.flush()
    approvals = list(s.scalars(select(CertificationApproval)
                               .where(CertificationApproval.review_id == review_id)))
    if len(approvals) >= policy.reviewers_required:
        _finalize(s, settings, review, stmt, approvals)
    else:  # back to the queue: the next approval is another reviewer's claim
        review.status, review.claimed_by, review.claimed_at = "queued", None, None
    return review


def _finalize(s: Session, settings: Settings, review: CertificationReview,
              stmt: dict[str, Any], approvals: list[CertificationApproval]) -> Attestation:
    env = att.envelope(att.canonical(stmt))
    env["signatures"] = [{"keyid": a.keyid, "sig": a.signature} for a in approvals]
    att.sign(env, registry_key(settings))
    predicate = stmt["predicate"]
    row = Attestation(id=str(uuid.uuid4()), review_id=review.id, plugin=review.plugin,
                      version=review.version, wheel_sha256=review.wheel_sha256,
                      level=CERTIFIED, envelope=env,
                      reviewed_at=att.parse_time(predicate["reviewed_at"]),
                      expires_at=att.parse_time(predicate["expires_at"]), created_at=utcnow())
    s.add(row)
    review.status, review.decided_at = "approved", utcnow()
    review.notes = "\n".join(f"{a.reviewer}: {a.notes}" for a in approvals if a.notes) or None
    report = s.get_one(CertificationReport, review.report_id).report
    registry_link.record_level(s, settings, review.plugin, review.version, level=CERTIFIED,
                               report=report, expires_at=row.expires_at)
    return row


def approve_with_key(s: Session, settings: Settings, review_id: str, reviewer: str,
                     key_path: Path, notes: str = "", policy: Policy = REGISTRY_POLICY
                     ) -> CertificationReview:
    keyid, signature = sign_statement(statement(s, review_id, policy), key_path)
    return approve(s, settings, review_id, reviewer, keyid=keyid, signature=signature,
                   notes=notes, policy=policy)


def reject(s: Session, review_id: str, reviewer: str, notes: str) -> CertificationReview:
    review = get_review(s, review_id)
    _require_claimer(review, reviewer, "reject")
    if not notes.strip():
        raise ValidationError("a rejection needs notes: the publisher reads them to fix "
                              "the release", field="notes")
    review.status, review.decided_at = "rejected", utcnow()
    review.notes = f"{reviewer}: {notes.strip()}"
    return review


# -- what publishers, the catalog and hosts see -------------------------------------------

def latest_attestation(s: Session, plugin: str, version: str) -> Attestation | None:
    return s.scalars(select(Attestation).where(
        Attestation.plugin == canonicalize_name(plugin), Attestation.version == version)
        .order_by(Attestation.created_at.desc())).first()


def status_of(s: Session, plugin: str, version: str, now: datetime | None = None
              ) -> dict[str, Any]:
    """The publisher's (and catalog's) view: review state, notes, level, expiry."""
    plugin = canonicalize_name(plugin)
    review = s.scalars(select(CertificationReview).where(
        CertificationReview.plugin == plugin, CertificationReview.version == version)
        .order_by(CertificationReview.created_at.desc())).first()
    automated = state(s, plugin, version)
    if review is None:
        if automated is None:
            raise NotFoundError(f"{plugin} {version} has no certification report",
                                plugin=plugin)
        # published and queued: the validator has not produced a report yet
        level = (registry_link.publisher_of(s, plugin, version) or {}).get("level")
        return {"plugin": plugin, "version": version, "review": None,
                "status": f"checks-{automated['status']}", "notes": automated["error"],
                "report_passed": None, "counts": None, "level": level or "community",
                "certified_until": None, "expired": False, "needs_recertification": False,
                "automated": automated}
    report = report_of(s, review)
    found = latest_attestation(s, plugin, version)
    now = now or datetime.now(UTC)
    expires = found.expires_at.replace(tzinfo=found.expires_at.tzinfo or UTC) if found else None
    publisher_level = review.publisher.get("level") or "community"
    return {
        "plugin": plugin, "version": version, "review": review.id, "status": review.status,
        "notes": review.notes, "report_passed": report["passed"], "counts": report["counts"],
        "level": CERTIFIED if expires and now < expires else publisher_level,
        "certified_until": att.iso(expires) if expires else None,
        "expired": bool(expires and now >= expires),
        "needs_recertification": bool(expires and now >= expires),
        "automated": automated,
    }
