"""Certification routes: the reviewer queue, decisions, and what publishers and hosts read.

Reviewers are API keys with role ``reviewer`` (their key's subject is the reviewer's
name); approvals carry a signature the reviewer made offline over the statement from
``GET …/statement``, so the server never holds reviewer keys.
"""

from __future__ import annotations

import base64
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from tracer.api.auth import require_roles, settings_of
from tracer.db import session
from tracer.errors import NotFoundError
from tracer.tenancy import Principal

from tracer_registry.certify import attestation as att
from tracer_registry.certify import responses as R
from tracer_registry.certify import review as service

Reviewer = Annotated[Principal, Depends(require_roles("reviewer"))]
Admin = Annotated[Principal, Depends(require_roles("admin"))]
Anyone = Annotated[Principal, Depends(require_roles("tenant", "publisher", "reviewer",
                                                    "admin"))]


class Approval(BaseModel):
    """One DSSE signature (``keyid``, base64 ``sig``) over the statement's PAE."""

    keyid: str = Field(min_length=64, max_length=64)
    sig: str = Field(min_length=1, max_length=400)
    notes: str = Field(default="", max_length=4000)


class Rejection(BaseModel):
    notes: str = Field(min_length=1, max_length=4000)


class ReviewerKeyIn(BaseModel):
    reviewer: str = Field(min_length=1, max_length=200)
    public_pem: str = Field(min_length=1, max_length=2000)


class AllowanceIn(BaseModel):
    plugin: str
    rule: str
    file: str
    symbol: str
    reason: str = Field(max_length=2000)


def _review_out(row) -> dict[str, Any]:
    return {"id": row.id, "plugin": row.plugin, "version": row.version,
            "status": row.status, "claimed_by": row.claimed_by, "notes": row.notes,
            "wheel_sha256": row.wheel_sha256, "created_at": row.created_at.isoformat()}


#: mounted by certification's ``tracer_routes`` hook
router = APIRouter(prefix="/v1/certification", tags=["certification"])

@router.get("/queue", response_model=list[R.ReviewOut])
def queue(request: Request, who: Reviewer) -> list[dict[str, Any]]:
    with session(settings_of(request)) as s:
        return [_review_out(row) for row in service.queue(s)]

@router.post("/reviews/{review_id}/claim", response_model=R.ReviewDetail)
def claim(review_id: str, request: Request, who: Reviewer) -> dict[str, Any]:
    settings = settings_of(request)
    with session(settings) as s:
        row = service.claim(s, review_id, who.subject)
        return {**_review_out(row), "report": service.report_of(s, row),
                "diff": service.diff_from_previous(s, settings, row)}

@router.get("/reviews/{review_id}", response_model=R.ReviewDetail)
def show(review_id: str, request: Request, who: Reviewer) -> dict[str, Any]:
    settings = settings_of(request)
    with session(settings) as s:
        row = service.get_review(s, review_id)
        return {**_review_out(row), "report": service.report_of(s, row),
                "diff": service.diff_from_previous(s, settings, row)}

@router.get("/reviews/{review_id}/statement", response_model=R.StatementOut)
def statement(review_id: str, request: Request, who: Reviewer) -> dict[str, Any]:
    with session(settings_of(request)) as s:
        stmt = service.statement(s, review_id)
    payload = att.canonical(stmt)
    return {"statement": stmt, "payload_type": att.PAYLOAD_TYPE,
            "pae_base64": base64.b64encode(att.pae(att.PAYLOAD_TYPE, payload)).decode()}

@router.post("/reviews/{review_id}/approve", response_model=R.ReviewOut)
def approve(review_id: str, body: Approval, request: Request,
            who: Reviewer) -> dict[str, Any]:
    settings = settings_of(request)
    with session(settings) as s:
        row = service.approve(s, settings, review_id, who.subject, keyid=body.keyid,
                              signature=body.sig, notes=body.notes)
        return _review_out(row)

@router.post("/reviews/{review_id}/reject", response_model=R.ReviewOut)
def reject(review_id: str, body: Rejection, request: Request,
           who: Reviewer) -> dict[str, Any]:
    with session(settings_of(request)) as s:
        return _review_out(service.reject(s, review_id, who.subject, body.notes))

@router.post("/allowances", status_code=201, response_model=R.AllowanceOut)
def allow(body: AllowanceIn, request: Request, who: Reviewer) -> dict[str, Any]:
    with session(settings_of(request)) as s:
        row = service.allow(s, plugin=body.plugin, rule=body.rule, file=body.file,
                            symbol=body.symbol, reason=body.reason, reviewer=who.subject)
        return {"plugin": row.plugin, "rule": row.rule, "file": row.file,
                "symbol": row.symbol, "reason": row.reason, "granted_by": row.granted_by}

@router.post("/reviewer-keys", status_code=201, response_model=R.ReviewerKeyOut)
def add_key(body: ReviewerKeyIn, request: Request, who: Admin) -> dict[str, Any]:
    with session(settings_of(request)) as s:
        row = service.register_reviewer_key(s, body.reviewer, body.public_pem)
        return {"keyid": row.keyid, "reviewer": row.reviewer}

@router.get("/releases/{plugin}/{version}", response_model=R.CertificationStatus,
            response_model_exclude_unset=True)
def release_status(plugin: str, version: str, request: Request,
                   who: Anyone) -> dict[str, Any]:
    with session(settings_of(request)) as s:
        status = service.status_of(s, plugin, version)
        if who.role not in ("reviewer", "admin") and not _owns(s, who, plugin):
            status.pop("notes")
        return status

@router.get("/releases/{plugin}/{version}/attestation", response_model=R.Envelope)
def attestation(plugin: str, version: str, request: Request,
                who: Anyone) -> dict[str, Any]:
    with session(settings_of(request)) as s:
        row = service.latest_attestation(s, plugin, version)
        if row is None:
            raise NotFoundError(f"{plugin} {version} has no certification attestation")
        return row.envelope

@router.get("/trust", response_model=R.TrustOut)
def trust(request: Request, who: Anyone) -> dict[str, Any]:
    settings = settings_of(request)
    with session(settings) as s:
        policy = service.trust_policy(s, settings)
    return {"registry_keys": policy.registry_keys,
            "reviewer_keys": {k: list(v) for k, v in policy.reviewer_keys.items()},
            "threshold": policy.threshold}



def _owns(s, who: Principal, plugin: str) -> bool:
    """Review notes are for the plugin's publisher (and reviewers), not other callers."""
    if who.role != "publisher":
        return False
    from packaging.utils import canonicalize_name

    from tracer_registry.models import Listing

    listing = s.get(Listing, canonicalize_name(plugin))
    return listing is not None and listing.publisher_id == who.subject
