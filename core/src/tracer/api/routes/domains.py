"""The catalog of loaded domains, and each tenant's installs (installed is not enabled)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tracer.api.auth import TenantPrincipal, current_principal, require_tenant
from tracer.api.deps import platform_of
from tracer.api.idempotency import check_key, once
from tracer.api.responses import DomainInfo, DomainList, InstallOut
from tracer.db import session
from tracer.errors import ConflictError
from tracer.installs import install, set_enabled
from tracer.models import DomainInstall
from tracer.tenancy import Principal

router = APIRouter(tags=["domains"])
describe_router = APIRouter(tags=["domains"])
Tenant = Annotated[TenantPrincipal, Depends(require_tenant)]
Anyone = Annotated[Principal, Depends(current_principal)]


@router.get("/v1/domains", response_model=DomainList, summary="Domains this platform serves")
def list_domains(request: Request, principal: Anyone) -> dict[str, Any]:
    """Every domain the loaded plugins provide; for a tenant key, whether it is installed
    and enabled for you."""
    p = platform_of(request)
    installs: dict[str, DomainInstall] = {}
    if principal.tenant_id:
        with session(p.settings) as s:
            installs = {i.domain: i for i in s.scalars(select(DomainInstall).where(
                DomainInstall.tenant_id == principal.tenant_id,
                DomainInstall.uninstalled_at.is_(None)))}
    out = []
    for name, domain in sorted(p.host.domains.items()):
        row = installs.get(name)
        out.append({"name": name, "version": domain.version, "title": domain.title,
                    "description": domain.description, "outcome": domain.outcome,
                    "primary_metric": domain.primary_metric, "tags": list(domain.tags),
                    "installed": row is not None, "enabled": bool(row and row.enabled)})
    return {"domains": out}


@router.post("/v1/domains/{domain:path}/install", status_code=201, response_model=InstallOut,
             summary="Install a domain (billable; it stays disabled until enabled)")
def install_domain(domain: str, request: Request, principal: Tenant,
                   idempotency_key: Annotated[str | None, Header()] = None) -> Any:
    p = platform_of(request)
    dom = p.host.domain(domain)

    def act(s: Session) -> tuple[int, dict[str, Any]]:
        row = install(s, principal.tenant_id, dom.name, dom.version)
        return 201, _jsonable(row.as_dict())

    try:
        answer = once(p.settings, principal.tenant_id, check_key(idempotency_key),
                      f"install {dom.name}", None, act)
    except IntegrityError:
        raise ConflictError(f"domain {dom.name} is already installed", domain=dom.name) from None
    # through the response model by hand: the console calls this function too
    body = InstallOut.model_validate(answer.body).model_dump(mode="json")
    return JSONResponse(body, status_code=answer.status_code)


def _toggle(request: Request, principal: TenantPrincipal, domain: str, enabled: bool) -> Any:
    p = platform_of(request)
    dom = p.host.domain(domain)
    with session(p.settings) as s:
        row = set_enabled(s, principal.tenant_id, dom.name, enabled)
        body = _jsonable(row.as_dict())
    p.predictions.forget(principal.tenant_id, dom.name)
    return body


@router.post("/v1/domains/{domain:path}/enable", response_model=InstallOut,
             summary="Enable an installed domain")
def enable_domain(domain: str, request: Request, principal: Tenant) -> Any:
    return _toggle(request, principal, domain, True)


@router.post("/v1/domains/{domain:path}/disable", response_model=InstallOut,
             summary="Disable a domain (predictions and training stop; data stays)")
def disable_domain(domain: str, request: Request, principal: Tenant) -> Any:
    return _toggle(request, principal, domain, False)


@describe_router.get("/v1/domains/{domain:path}", response_model=DomainInfo,
                     summary="A domain and its record schema")
def describe_domain(domain: str, request: Request, principal: Anyone) -> dict[str, Any]:
    """Name, version, outcome, metrics and the JSON schema of one record: the fields a
    prediction request must carry."""
    return platform_of(request).host.domain(domain).describe()


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in row.items()}
