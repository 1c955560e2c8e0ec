"""Training jobs (run in a worker process), model versions, promotion and rollback."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select

from tracer.api.app import Platform, platform_of
from tracer.api.auth import require_tenant
from tracer.api.idempotency import check_key, remember, replay, request_hash, settled
from tracer.api.metering import tenant_tier
from tracer.api.routes.domains import _jsonable
from tracer.api.schemas import JobIn
from tracer.datasets import get_dataset
from tracer.db import session
from tracer.errors import ConflictError
from tracer.installs import require_enabled
from tracer.jobs import TrainingJob, active_job, create_job, get_job, launch
from tracer.lifecycle import model_name_for, promote, rollback
from tracer.quota import check_training_runs
from tracer.tenancy import Principal

router = APIRouter(tags=["training"])
Tenant = Annotated[Principal, Depends(require_tenant)]


def start_job(request: Request, principal: Principal, domain: str, options: dict[str, Any],
              trigger: str, key: str | None = None) -> tuple[dict[str, Any], int]:
    """Create a queued job (quota-checked, one active per domain) and launch its worker."""
    p = platform_of(request)
    dom = p.host.domain(domain)
    route = f"train {dom.name}"
    digest = request_hash(route, options)
    return settled(lambda: _start(p, principal, dom.name, options, trigger, key, route, digest))


def _start(p: Platform, principal: Principal, domain: str, options: dict[str, Any],
           trigger: str, key: str | None, route: str, digest: str
           ) -> tuple[dict[str, Any], int]:
    dom = p.host.domain(domain)
    with session(p.settings) as s:
        stored = replay(s, principal.tenant_id, key, route, digest)
        if stored is not None:
            return _jsonable(get_job(s, principal.tenant_id, stored.response["id"]).as_dict()), \
                stored.status_code
        require_enabled(s, principal.tenant_id, dom.name)
        tenant, tier = tenant_tier(s, p.settings, principal.tenant_id)
        check_training_runs(s, principal.tenant_id, tenant.tier, tier)
        for dataset_id in options.get("dataset_ids") or []:
            get_dataset(s, principal.tenant_id, dataset_id)
        running = active_job(s, principal.tenant_id, dom.name)
        if running is not None:
            raise ConflictError(f"training job {running.id} for {dom.name} is still "
                                f"{running.status}; wait for it", job=running.id)
        job = create_job(s, principal.tenant_id, dom.name, options, trigger)
        body = _jsonable(job.as_dict())
        remember(s, principal.tenant_id, key, route, digest, 202, body)
    launch(p.settings, job.id)
    return body, 202


@router.post("/v1/domains/{domain:path}/jobs", status_code=202,
             summary="Start a training job (returns at once; poll the job)")
def post_job(domain: str, body: JobIn, request: Request, principal: Tenant,
             idempotency_key: Annotated[str | None, Header()] = None) -> Any:
    """Trains on reference data + your datasets + your feedback in a worker process. The
    new version becomes champion only if a paired bootstrap on the same evaluation records
    says it beats the current one beyond noise. A job that fails or crashes leaves the
    champion as it was."""
    job, status = start_job(request, principal, domain, body.model_dump(), "manual",
                            check_key(idempotency_key))
    return JSONResponse(job, status_code=status)


@router.get("/v1/jobs", summary="Your training jobs, newest first")
def jobs(request: Request, principal: Tenant) -> dict[str, Any]:
    p = platform_of(request)
    with session(p.settings) as s:
        rows = s.scalars(select(TrainingJob).where(
            TrainingJob.tenant_id == principal.tenant_id).order_by(
            TrainingJob.created_at.desc()).limit(200))
        return {"jobs": [_jsonable(j.as_dict()) for j in rows]}


@router.get("/v1/jobs/{job_id}", summary="A training job: status, stage, progress, result")
def job(job_id: str, request: Request, principal: Tenant) -> dict[str, Any]:
    p = platform_of(request)
    with session(p.settings) as s:
        return _jsonable(get_job(s, principal.tenant_id, job_id).as_dict())


@router.get("/v1/domains/{domain:path}/models", summary="Your model versions of a domain")
def models(domain: str, request: Request, principal: Tenant) -> dict[str, Any]:
    p = platform_of(request)
    dom = p.host.domain(domain)
    name = model_name_for(dom, principal.tenant_id)
    versions = p.store.versions(name)
    return {"model": name, "versions": [
        {"version": v.version, "aliases": v.aliases,
         "primary_metric": v.tags.get("tracer.primary_metric"),
         "metrics": v.metrics, "decision": v.tags.get("tracer.decision")} for v in versions]}


@router.post("/v1/domains/{domain:path}/models/{version}/promote",
             summary="Make a version the champion")
def promote_version(domain: str, version: int, request: Request, principal: Tenant) -> Any:
    p = platform_of(request)
    dom = p.host.domain(domain)
    promote(p.store, model_name_for(dom, principal.tenant_id), version)
    p.champions.invalidate(dom, principal.tenant_id)
    return {"model": model_name_for(dom, principal.tenant_id), "champion": version}


@router.post("/v1/domains/{domain:path}/rollback",
             summary="Put the previous champion back")
def rollback_champion(domain: str, request: Request, principal: Tenant) -> Any:
    p = platform_of(request)
    dom = p.host.domain(domain)
    version = rollback(p.store, model_name_for(dom, principal.tenant_id))
    p.champions.invalidate(dom, principal.tenant_id)
    return {"model": model_name_for(dom, principal.tenant_id), "champion": version}
