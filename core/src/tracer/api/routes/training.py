"""Training jobs (run in a worker process), model versions, promotion and rollback."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from tracer.api.auth import TenantPrincipal, require_tenant
from tracer.api.deps import platform_of
from tracer.api.idempotency import check_key, once
from tracer.api.metering import tenant_tier
from tracer.api.responses import Champion, JobList, JobOut, ModelVersions
from tracer.api.routes.domains import _jsonable
from tracer.api.schemas import JobIn
from tracer.bounds import check_job
from tracer.datasets import get_dataset
from tracer.db import session
from tracer.errors import ConflictError
from tracer.installs import require_enabled
from tracer.jobs import active_job, cancel_job, create_job, get_job, launch
from tracer.lifecycle import model_name_for, promote, rollback
from tracer.models import TrainingJob
from tracer.quota import check_training_runs

router = APIRouter(tags=["training"])
Tenant = Annotated[TenantPrincipal, Depends(require_tenant)]


def start_job(request: Request, principal: TenantPrincipal, domain: str, options: dict[str, Any],
              trigger: str, key: str | None = None) -> tuple[dict[str, Any], int]:
    """Create a queued job (quota-checked, one active per domain) and launch its worker."""
    p = platform_of(request)
    dom = p.host.domain(domain)

    def act(s: Session) -> tuple[int, dict[str, Any]]:
        require_enabled(s, principal.tenant_id, dom.name)
        tenant, tier = tenant_tier(s, p.settings, principal.tenant_id)
        check_training_runs(s, principal.tenant_id, tenant.tier, tier)
        for dataset_id in options.get("dataset_ids") or []:
            get_dataset(s, principal.tenant_id, dataset_id)
        check_job(s, p.settings, principal.tenant_id, dom.name, options)
        running = active_job(s, principal.tenant_id, dom.name)
        if running is not None:
            raise ConflictError(f"training job {running.id} for {dom.name} is still "
                                f"{running.status}; wait for it", job=running.id)
        return 202, _jsonable(create_job(s, principal.tenant_id, dom.name, options,
                                         trigger).as_dict())

    answer = once(p.settings, principal.tenant_id, key, f"train {dom.name}", options, act)
    if answer.replayed:  # the job as it is now, not as it was queued
        with session(p.settings) as s:
            job = get_job(s, principal.tenant_id, answer.body["id"])
            return _jsonable(job.as_dict()), answer.status_code
    launch(p.settings, answer.body["id"])
    return answer.body, answer.status_code


@router.post("/v1/domains/{domain:path}/jobs", status_code=202, response_model=JobOut,
             summary="Start a training job (returns at once; poll the job)")
def post_job(domain: str, body: JobIn, request: Request, response: Response, principal: Tenant,
             idempotency_key: Annotated[str | None, Header()] = None) -> Any:
    """Trains on reference data + your datasets + your feedback in a worker process. The
    new version becomes champion only if a paired bootstrap on the same evaluation records
    says it beats the current one beyond noise. A job that fails or crashes leaves the
    champion as it was."""
    job, status = start_job(request, principal, domain, body.model_dump(), "manual",
                            check_key(idempotency_key))
    response.status_code = status
    return job


@router.get("/v1/jobs", response_model=JobList, summary="Your training jobs, newest first")
def jobs(request: Request, principal: Tenant) -> dict[str, Any]:
    p = platform_of(request)
    with session(p.settings) as s:
        rows = s.scalars(select(TrainingJob).where(
            TrainingJob.tenant_id == principal.tenant_id).order_by(
            TrainingJob.created_at.desc()).limit(200))
        return {"jobs": [_jsonable(j.as_dict()) for j in rows]}


@router.get("/v1/jobs/{job_id}", response_model=JobOut,
            summary="A training job: status, stage, progress, result")
def job(job_id: str, request: Request, principal: Tenant) -> dict[str, Any]:
    p = platform_of(request)
    with session(p.settings) as s:
        return _jsonable(get_job(s, principal.tenant_id, job_id).as_dict())


@router.post("/v1/jobs/{job_id}/cancel", response_model=JobOut,
             summary="Cancel a queued or running job")
def cancel(job_id: str, request: Request, principal: Tenant) -> dict[str, Any]:
    """Stops the job's worker; the champion stays as it was and nothing is registered or
    metered. Cancelling a cancelled job answers it again; a job already registering its
    model, or finished, answers 409."""
    p = platform_of(request)
    return _jsonable(cancel_job(p.settings, principal.tenant_id, job_id).as_dict())


@router.get("/v1/domains/{domain:path}/models", response_model=ModelVersions,
            summary="Your model versions of a domain")
def models(domain: str, request: Request, principal: Tenant) -> dict[str, Any]:
    p = platform_of(request)
    dom = p.host.domain(domain)
    name = model_name_for(dom, principal.tenant_id)
    versions = p.store.versions(name)
    return {"model": name, "versions": [
        {"version": v.version, "aliases": v.aliases,
         "primary_metric": v.tags.get("tracer.primary_metric"),
         "metrics": v.metrics, "decision": v.tags.get("tracer.decision")} for v in versions]}


@router.post("/v1/domains/{domain:path}/models/{version}/promote", response_model=Champion,
             summary="Make a version the champion")
def promote_version(domain: str, version: int, request: Request, principal: Tenant) -> Any:
    p = platform_of(request)
    dom = p.host.domain(domain)
    promote(p.store, model_name_for(dom, principal.tenant_id), version)
    p.champions.invalidate(dom, principal.tenant_id)
    return {"model": model_name_for(dom, principal.tenant_id), "champion": version}


@router.post("/v1/domains/{domain:path}/rollback", response_model=Champion,
             summary="Put the previous champion back")
def rollback_champion(domain: str, request: Request, principal: Tenant) -> Any:
    p = platform_of(request)
    dom = p.host.domain(domain)
    version = rollback(p.store, model_name_for(dom, principal.tenant_id))
    p.champions.invalidate(dom, principal.tenant_id)
    return {"model": model_name_for(dom, principal.tenant_id), "champion": version}
