"""The review queue (reviewer keys): claim, read the report by severity with its evidence
and the diff from the previous certified version, approve with a signature made offline,
or reject with notes; the attestation once approved.

A reviewer's private key never reaches the server: the page offers the statement to sign
(the same bytes as ``GET /v1/certification/reviews/{id}/statement``) and accepts the
``keyid`` and ``sig`` that ``tracer review sign statement.json --key reviewer.pem`` prints.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from tracer.db import session
from tracer.tenancy import Principal
from tracer.ui import PostForm, page_for, render, see_other

from tracer_registry.certify import review as service
from tracer_registry.certify.api import Approval, Rejection, _review_out

router = APIRouter()
ReviewerPage = Annotated[Principal, Depends(page_for("reviewer"))]
SEVERITIES = ("error", "warning")


@router.get("/reviews")
def queue(request: Request, who: ReviewerPage) -> Response:
    with session(request.app.state.settings) as s:
        rows = [_review_out(r) for r in service.queue(s)]
    return render(request, "reviews.html", title="Review queue", reviews=rows)


def _grouped(report: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    """Checks by severity, failures first within each."""
    order = {"failed": 0, "skipped": 1, "passed": 2}
    return [(sev, sorted((c for c in report.get("checks", []) if c["severity"] == sev),
                         key=lambda c: (order.get(c["status"], 3), c["id"])))
            for sev in SEVERITIES]


@router.get("/reviews/{review_id}/statement.json")
def statement_file(review_id: str, request: Request, who: ReviewerPage) -> Response:
    """The statement to sign, as a file for ``tracer review sign``."""
    with session(request.app.state.settings) as s:
        stmt = service.statement(s, review_id)
    return Response(json.dumps(stmt, indent=1, sort_keys=True), media_type="application/json",
                    headers={"Content-Disposition":
                             f'attachment; filename="statement-{review_id[:8]}.json"'})


@router.get("/reviews/{review_id}")
def review_page(review_id: str, request: Request, who: ReviewerPage) -> Response:
    from tracer_registry.certify import attestation as att

    settings = request.app.state.settings
    with session(settings) as s:
        row = service.get_review(s, review_id)
        report = service.report_of(s, row)
        diff = service.diff_from_previous(s, settings, row)
        stmt = row.statement
        found = service.latest_attestation(s, row.plugin, row.version)
        envelope = found.envelope if found else None
        out = _review_out(row)
    pae = None
    if stmt is not None:
        import base64

        pae = base64.b64encode(att.pae(att.PAYLOAD_TYPE, att.canonical(stmt))).decode()
    return render(request, "review.html", title=f"Review of {out['plugin']} {out['version']}",
                  review=out, report=report, groups=_grouped(report), diff=diff,
                  statement=json.dumps(stmt, indent=1, sort_keys=True) if stmt else None,
                  pae=pae, mine=out["claimed_by"] == who.subject,
                  attestation=json.dumps(envelope, indent=1, sort_keys=True)
                  if envelope else None)


@router.post("/reviews/{review_id}/claim")
def claim(review_id: str, request: Request, who: ReviewerPage, form: PostForm) -> Response:
    with session(request.app.state.settings) as s:
        service.claim(s, review_id, who.subject)
    return see_other(f"/ui/reviews/{review_id}")


@router.post("/reviews/{review_id}/approve")
def approve(review_id: str, request: Request, who: ReviewerPage, form: PostForm) -> Response:
    from pydantic import ValidationError as PydanticError
    from tracer.errors import ValidationError

    try:
        body = Approval(keyid=form.get("keyid", "").strip(), sig=form.get("sig", "").strip(),
                        notes=form.get("notes", ""))
    except PydanticError:
        raise ValidationError("paste the keyid (64 hex digits) and the base64 signature "
                              "that `tracer review sign` printed", field="sig") from None
    settings = request.app.state.settings
    with session(settings) as s:
        service.approve(s, settings, review_id, who.subject, keyid=body.keyid,
                        signature=body.sig, notes=body.notes)
    return see_other(f"/ui/reviews/{review_id}")


@router.post("/reviews/{review_id}/reject")
def reject(review_id: str, request: Request, who: ReviewerPage, form: PostForm) -> Response:
    from pydantic import ValidationError as PydanticError
    from tracer.errors import ValidationError

    try:
        body = Rejection(notes=form.get("notes", ""))
    except PydanticError:
        raise ValidationError("a rejection needs notes: the publisher reads them",
                              field="notes") from None
    with session(request.app.state.settings) as s:
        service.reject(s, review_id, who.subject, body.notes)
    return see_other(f"/ui/reviews/{review_id}")
