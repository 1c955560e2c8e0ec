"""Outcomes for earlier predictions (and their corrections), live metrics and drift per
model version."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy.orm import Session

from tracer.api.auth import TenantPrincipal, require_tenant
from tracer.api.deps import platform_of
from tracer.api.idempotency import check_key, once
from tracer.api.monitoring import drift_report
from tracer.api.problems import from_request_validation
from tracer.api.responses import CorrectedOutcome, DriftOut, FeedbackOut, MetricsOut, OutcomeOut
from tracer.api.restraint import accept_outcomes, retrain_after_outcomes
from tracer.api.routes.domains import _jsonable
from tracer.api.schemas import CorrectionIn, FeedbackIn
from tracer.db import session
from tracer.feedback import (
    ReportedOutcome,
    correct_outcome,
    corrections_of,
    get_outcome,
    live_metrics,
    versions_with_outcomes,
)
from tracer.lifecycle import model_name_for

router = APIRouter(tags=["feedback"])
Tenant = Annotated[TenantPrincipal, Depends(require_tenant)]
EVALUATION_KEYS = ("accuracy", "roc_auc", "log_loss", "brier")


@router.post("/v1/feedback", response_model=FeedbackOut,
             summary="Report observed outcomes of earlier predictions")
def post_feedback(body: FeedbackIn, request: Request, response: Response, principal: Tenant,
                  idempotency_key: Annotated[str | None, Header()] = None) -> Any:
    """All or nothing: an unknown `prediction_id` (or one that is not yours) is a 404 naming
    its index, and nothing is stored. An outcome is the integer 0 or 1 (`true` is a 422).
    The same outcome again is a harmless repeat; a different one is a 409 that names the
    outcome to correct (`POST /v1/outcomes/{id}/corrections`). Then each domain's retraining
    policy is applied, with restraint: `retraining` says per domain what started, or why
    nothing did."""
    p = platform_of(request)
    domains: list[str] = []

    def act(s: Session) -> tuple[int, dict[str, Any]]:
        response, of = accept_outcomes(s, principal.tenant_id, [
            ReportedOutcome(o.prediction_id, o.outcome, o.observed_at) for o in body.outcomes])
        domains.extend(of)
        return 200, response

    answer = once(p.settings, principal.tenant_id, check_key(idempotency_key), "feedback",
                  body.model_dump(mode="json"), act)
    if answer.replayed:  # the first answer applied the policies; a retry applies none
        response.status_code = answer.status_code
        return {**answer.body, "retraining_jobs": [], "retraining": []}
    return {**answer.body, **retrain_after_outcomes(p, principal.tenant_id, domains)}


def _outcome_body(s: Any, row: Any) -> dict[str, Any]:
    return _jsonable({**row.as_dict(), "history": [
        _jsonable(c.as_dict()) for c in corrections_of(s, row.id)]})


@router.get("/v1/outcomes/{outcome_id}", response_model=OutcomeOut,
            summary="One reported outcome and its corrections")
def outcome(outcome_id: str, request: Request, principal: Tenant) -> dict[str, Any]:
    p = platform_of(request)
    with session(p.settings) as s:
        return _outcome_body(s, get_outcome(s, principal.tenant_id, outcome_id))


@router.post("/v1/outcomes/{outcome_id}/corrections", response_model=CorrectedOutcome,
             summary="Correct a reported outcome (its history keeps the old value)",
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/json": {"schema": CorrectionIn.model_json_schema()}}}})
def correct(outcome_id: str, request: Request, principal: Tenant,
            body: Annotated[dict[str, Any], Body(default_factory=dict,
                                                 include_in_schema=False)]) -> dict[str, Any]:
    """Sets the outcome to `outcome` (the integer 0 or 1); the history records who (the
    key's holder and id), when, the old and new value and the reason. Live metrics and the
    next challenger's training data read the corrected value. Sending the current value
    changes nothing (`changed: false`). An outcome that is not yours is a 404 before the
    body is looked at."""
    p = platform_of(request)
    with session(p.settings) as s:
        get_outcome(s, principal.tenant_id, outcome_id)
        try:
            change = CorrectionIn.model_validate(body)
        except PydanticValidationError as exc:
            raise from_request_validation(RequestValidationError(
                [{**e, "loc": ("body", *e["loc"])} for e in exc.errors()])) from None
        row, correction = correct_outcome(s, principal.tenant_id, outcome_id, change.outcome,
                                          change.reason, principal.subject, principal.key_id)
        return {**_outcome_body(s, row), "changed": correction is not None}


def _evaluation(info: Any, primary: str) -> dict[str, Any]:
    return {k: info.metrics.get(k) for k in (*EVALUATION_KEYS, primary,
                                            f"{primary}_ci_low", f"{primary}_ci_high")}


@router.get("/v1/domains/{domain:path}/metrics", response_model=MetricsOut,
            summary="Live metrics per model version next to each version's evaluation")
def metrics(domain: str, request: Request, principal: Tenant,
            window: Annotated[int, Query(ge=1, le=100_000,
                                         description="Latest outcomes to score per version."
                                         )] = 1000,
            ) -> dict[str, Any]:
    """`live`: the champion's own served predictions that have outcomes (not those an
    earlier version answered); `versions`: the same for every version with outcomes and the
    champion, each next to its held-out evaluation; `all_versions`: every outcome, whoever
    answered it."""
    p = platform_of(request)
    dom = p.host.domain(domain)
    scorer = p.champions.scorer(dom, principal.tenant_id)
    name = model_name_for(dom, principal.tenant_id)
    with session(p.settings) as s:
        numbers = sorted({*versions_with_outcomes(s, principal.tenant_id, dom.name),
                          scorer.version}, reverse=True)
        live = {v: live_metrics(s, principal.tenant_id, dom.name, window, v) for v in numbers}
        every = live_metrics(s, principal.tenant_id, dom.name, window)
    versions = []
    for number in numbers:
        info = p.store.version(name, number)
        versions.append({"version": number, "aliases": info.aliases, "live": live[number],
                         "evaluation": _evaluation(info, dom.primary_metric)})
    champion = next(v for v in versions if v["version"] == scorer.version)
    return {"model": {"name": scorer.name, "version": scorer.version},
            "primary_metric": dom.primary_metric, "live": champion["live"],
            "evaluation": champion["evaluation"], "versions": versions,
            "all_versions": every}


@router.get("/v1/domains/{domain:path}/drift", response_model=DriftOut,
            summary="Drift per feature (PSI) of recent predictions against training data")
def drift(domain: str, request: Request, principal: Tenant,
          window: Annotated[int, Query(ge=10, le=100_000)] = 500,
          version: Annotated[int | None, Query(
              ge=1, description="Records this version served against its own training "
              "profile (default: every version's records against the champion's).")] = None,
          ) -> dict[str, Any]:
    p = platform_of(request)
    return drift_report(p, p.host.domain(domain), principal.tenant_id, window, version)
