"""Outcomes for earlier predictions, live metrics, drift, and the retraining policy."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select

from tracer.api.app import platform_of
from tracer.api.auth import require_tenant
from tracer.api.idempotency import check_key, remember, replay, request_hash, settled
from tracer.api.monitoring import drift_report, maybe_retrain
from tracer.api.routes.domains import _jsonable
from tracer.api.routes.training import start_job
from tracer.api.schemas import FeedbackIn, PolicyIn
from tracer.db import session, utcnow
from tracer.errors import NotFoundError
from tracer.feedback import ReportedOutcome, get_outcome, live_metrics, record_outcomes
from tracer.lifecycle import model_name_for
from tracer.retraining import RetrainingDecision, RetrainingPolicy
from tracer.tenancy import Principal

router = APIRouter(tags=["feedback"])
Tenant = Annotated[Principal, Depends(require_tenant)]


@router.post("/v1/feedback", summary="Report observed outcomes of earlier predictions")
def post_feedback(body: FeedbackIn, request: Request, principal: Tenant,
                  idempotency_key: Annotated[str | None, Header()] = None) -> Any:
    """All or nothing: an unknown `prediction_id` (or one that is not yours) is a 404 naming
    its index, and nothing is stored. Then each domain's retraining policy is applied."""
    p = platform_of(request)
    key = check_key(idempotency_key)
    route = "feedback"
    digest = request_hash(route, body.model_dump(mode="json"))

    def record() -> tuple[dict[str, Any], list[str], int]:
        with session(p.settings) as s:
            stored = replay(s, principal.tenant_id, key, route, digest)
            if stored is not None:
                return stored.response, [], stored.status_code
            created, repeats = record_outcomes(s, principal.tenant_id, [
                ReportedOutcome(o.prediction_id, o.outcome, o.observed_at)
                for o in body.outcomes])
            response = {"recorded": len(created), "repeats": repeats,
                        "outcome_ids": [o.id for o in created]}
            remember(s, principal.tenant_id, key, route, digest, 200, response)
        return response, sorted({o.domain for o in created}), 0

    response, domains, replayed = settled(record)
    if replayed:
        return JSONResponse(response, status_code=replayed)
    started = [job for name in domains if name in p.host.domains
               and (job := maybe_retrain(p, p.host.domain(name), principal.tenant_id))]
    return {**response, "retraining_jobs": started}


@router.get("/v1/outcomes/{outcome_id}", summary="One reported outcome")
def outcome(outcome_id: str, request: Request, principal: Tenant) -> dict[str, Any]:
    p = platform_of(request)
    with session(p.settings) as s:
        return _jsonable(get_outcome(s, principal.tenant_id, outcome_id).as_dict())


@router.get("/v1/domains/{domain:path}/metrics",
            summary="Live metrics over the feedback window next to the champion's evaluation")
def metrics(domain: str, request: Request, principal: Tenant,
            window: Annotated[int, Query(ge=1, le=100_000,
                                         description="Latest outcomes to score.")] = 1000,
            ) -> dict[str, Any]:
    p = platform_of(request)
    dom = p.host.domain(domain)
    scorer = p.champions.scorer(dom, principal.tenant_id)
    info = p.store.version(scorer.name, scorer.version)
    with session(p.settings) as s:
        live = live_metrics(s, principal.tenant_id, dom.name, window)
    keys = ("accuracy", "roc_auc", "log_loss", "brier")
    return {"model": {"name": scorer.name, "version": scorer.version},
            "primary_metric": dom.primary_metric, "live": live,
            "evaluation": {k: info.metrics.get(k) for k in (*keys, dom.primary_metric)}}


@router.get("/v1/domains/{domain:path}/drift",
            summary="Drift per feature (PSI) of recent predictions against training data")
def drift(domain: str, request: Request, principal: Tenant,
          window: Annotated[int, Query(ge=10, le=100_000)] = 500) -> dict[str, Any]:
    p = platform_of(request)
    return drift_report(p, p.host.domain(domain), principal.tenant_id, window)


@router.put("/v1/domains/{domain:path}/retraining-policy",
            summary="Set when a challenger is trained automatically")
def put_policy(domain: str, body: PolicyIn, request: Request, principal: Tenant) -> Any:
    p = platform_of(request)
    dom = p.host.domain(domain)
    with session(p.settings) as s:
        row = s.get(RetrainingPolicy, (principal.tenant_id, dom.name))
        if row is None:
            row = RetrainingPolicy(tenant_id=principal.tenant_id, domain=dom.name)
            s.add(row)
        for field, value in body.model_dump().items():
            setattr(row, field, value)
        row.updated_at = utcnow()
        s.flush()
        return _jsonable(row.as_dict())


@router.get("/v1/domains/{domain:path}/retraining-policy", summary="The retraining policy")
def get_policy(domain: str, request: Request, principal: Tenant) -> Any:
    p = platform_of(request)
    dom = p.host.domain(domain)
    with session(p.settings) as s:
        row = s.get(RetrainingPolicy, (principal.tenant_id, dom.name))
        if row is None:
            raise NotFoundError(f"no retraining policy for {dom.name}", domain=dom.name)
        return _jsonable(row.as_dict())


@router.post("/v1/domains/{domain:path}/retrain", status_code=202,
             summary="Train a challenger now (on demand)")
def retrain(domain: str, request: Request, principal: Tenant,
            idempotency_key: Annotated[str | None, Header()] = None) -> Any:
    p = platform_of(request)
    dom = p.host.domain(domain)
    with session(p.settings) as s:
        policy = s.get(RetrainingPolicy, (principal.tenant_id, dom.name))
        use_reference = policy.use_reference if policy else True
    job, status = start_job(request, principal, dom.name,
                            {"use_reference": use_reference, "include_feedback": True},
                            "on_demand", check_key(idempotency_key))
    return JSONResponse(job, status_code=status)


@router.get("/v1/domains/{domain:path}/retraining-decisions",
            summary="Every retraining decision with its numbers, newest first")
def decisions(domain: str, request: Request, principal: Tenant) -> dict[str, Any]:
    p = platform_of(request)
    dom = p.host.domain(domain)
    with session(p.settings) as s:
        rows = s.scalars(select(RetrainingDecision).where(
            RetrainingDecision.tenant_id == principal.tenant_id,
            RetrainingDecision.domain == dom.name).order_by(
            RetrainingDecision.created_at.desc()).limit(500))
        return {"model": model_name_for(dom, principal.tenant_id),
                "decisions": [_jsonable(r.as_dict()) for r in rows]}


@router.get("/v1/retraining-decisions/{decision_id}", summary="One retraining decision")
def decision(decision_id: str, request: Request, principal: Tenant) -> dict[str, Any]:
    p = platform_of(request)
    with session(p.settings) as s:
        row = s.get(RetrainingDecision, decision_id)
        if row is None or row.tenant_id != principal.tenant_id:
            raise NotFoundError(f"retraining decision {decision_id} not found",
                                decision=decision_id)
        return _jsonable(row.as_dict())
