"""Response bodies of the certification routes (``certify/api.py``): each route returns
through one of these, so FastAPI checks every answer and the OpenAPI document says what it
holds. ``extra="allow"`` keeps fields a later version adds."""

from __future__ import annotations

from typing import Any

from pydantic import Field
from tracer.api.responses import Out


class ReviewOut(Out):
    id: str
    plugin: str
    version: str
    status: str
    claimed_by: str | None
    notes: str | None
    wheel_sha256: str
    created_at: str


class ReviewDetail(ReviewOut):
    report: Any = Field(description="The validator's report of the release.")
    diff: Any = Field(description="What changed since the previous reviewed release.")


class StatementOut(Out):
    statement: dict[str, Any] = Field(description="The in-toto statement to sign.")
    payload_type: str
    pae_base64: str = Field(description="DSSE pre-authentication encoding, base64.")


class AllowanceOut(Out):
    plugin: str
    rule: str
    file: str
    symbol: str
    reason: str
    granted_by: str


class ReviewerKeyOut(Out):
    keyid: str
    reviewer: str


class CertificationStatus(Out):
    plugin: str
    version: str
    review: str | None
    status: str
    notes: str | None = Field(default=None, description=(
        "Review notes: only for the plugin's publisher, reviewers and admins."))
    report_passed: bool | None
    counts: dict[str, Any] | None
    level: str
    certified_until: str | None
    expired: bool
    needs_recertification: bool


class Envelope(Out):
    """A DSSE envelope: the signed in-toto statement."""

    payloadType: str
    payload: str
    signatures: list[dict[str, Any]]


class TrustOut(Out):
    registry_keys: Any
    reviewer_keys: dict[str, list[Any]]
    threshold: int
