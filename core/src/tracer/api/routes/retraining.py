"""The retraining policy (PUT replaces, PATCH merges), on-demand retraining and the
decisions with their numbers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request, Response
from sqlalchemy import select

from tracer.api.auth import TenantPrincipal, require_tenant
from tracer.api.deps import platform_of
from tracer.api.idempotency import check_key
from tracer.api.responses import DecisionList, DecisionOut, JobOut, PolicyOut
from tracer.api.routes.domains import _jsonable
from tracer.api.routes.training import start_job
from tracer.api.schemas import PolicyIn, PolicyPatch
from tracer.db import session, utcnow
from tracer.errors import NotFoundError, ValidationError
from tracer.lifecycle import model_name_for
from tracer.models import RetrainingDecision, RetrainingPolicy

router = APIRouter(tags=["feedback"])
Tenant = Annotated[TenantPrincipal, Depends(require_tenant)]
#: fields a policy cannot be without (PATCH may not set them to null)
REQUIRED = ("enabled", "drift_window", "use_reference")


def _save_policy(request: Request, principal: TenantPrincipal, domain: str,
                 fields: dict[str, Any], replace: bool) -> dict[str, Any]:
    p = platform_of(request)
    dom = p.host.domain(domain)
    nulls = [f for f in REQUIRED if f in fields and fields[f] is None]
    if nulls:
        raise ValidationError(f"{nulls[0]}: may not be null (leave it out to keep it)",
                              field=nulls[0])
    with session(p.settings) as s:
        row = s.get(RetrainingPolicy, (principal.tenant_id, dom.name))
        if row is None:
            row = RetrainingPolicy(tenant_id=principal.tenant_id, domain=dom.name)
            s.add(row)
            fields = {**PolicyIn().model_dump(), **fields}
        elif replace:
            fields = {**PolicyIn().model_dump(), **fields}
        for name, value in fields.items():
            setattr(row, name, value)
        row.updated_at = utcnow()
        s.flush()
        return _jsonable(row.as_dict())


@router.put("/v1/domains/{domain:path}/retraining-policy", response_model=PolicyOut,
            summary="Replace the retraining policy (fields left out take their defaults)")
def put_policy(domain: str, body: PolicyIn, request: Request, principal: Tenant) -> Any:
    """A full replace: every field left out is reset to its default. To change some fields
    and keep the others, use `PATCH`."""
    return _save_policy(request, principal, domain, body.model_dump(), replace=True)


@router.patch("/v1/domains/{domain:path}/retraining-policy", response_model=PolicyOut,
              summary="Change some fields of the retraining policy, keep the rest")
def patch_policy(domain: str, body: PolicyPatch, request: Request, principal: Tenant) -> Any:
    """Only the fields sent change; `null` turns a trigger off (`min_new_outcomes`,
    `drift_threshold`) or restores a default (`cooldown_hours`, `tenant_weight`). Without a
    policy yet, the fields sent are applied to the defaults."""
    return _save_policy(request, principal, domain, body.model_dump(exclude_unset=True),
                        replace=False)


@router.get("/v1/domains/{domain:path}/retraining-policy", response_model=PolicyOut,
            summary="The retraining policy")
def get_policy(domain: str, request: Request, principal: Tenant) -> Any:
    p = platform_of(request)
    dom = p.host.domain(domain)
    with session(p.settings) as s:
        row = s.get(RetrainingPolicy, (principal.tenant_id, dom.name))
        if row is None:
            raise NotFoundError(f"no retraining policy for {dom.name}", domain=dom.name)
        return _jsonable(row.as_dict())


@router.post("/v1/domains/{domain:path}/retrain", status_code=202, response_model=JobOut,
             summary="Train a challenger now (on demand)")
def retrain(domain: str, request: Request, response: Response, principal: Tenant,
            idempotency_key: Annotated[str | None, Header()] = None) -> Any:
    p = platform_of(request)
    dom = p.host.domain(domain)
    with session(p.settings) as s:
        policy = s.get(RetrainingPolicy, (principal.tenant_id, dom.name))
        use_reference = policy.use_reference if policy else True
        weight = (policy.tenant_weight if policy else None) or p.settings.training.tenant_row_weight
    job, status = start_job(request, principal, dom.name,
                            {"use_reference": use_reference, "include_feedback": True,
                             "tenant_weight": weight, "why": "on demand"},
                            "on_demand", check_key(idempotency_key))
    response.status_code = status
    return job


@router.get("/v1/domains/{domain:path}/retraining-decisions", response_model=DecisionList,
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


@router.get("/v1/retraining-decisions/{decision_id}", response_model=DecisionOut,
            summary="One retraining decision")
def decision(decision_id: str, request: Request, principal: Tenant) -> dict[str, Any]:
    p = platform_of(request)
    with session(p.settings) as s:
        row = s.get(RetrainingDecision, decision_id)
        if row is None or row.tenant_id != principal.tenant_id:
            raise NotFoundError(f"retraining decision {decision_id} not found",
                                decision=decision_id)
        return _jsonable(row.as_dict())
