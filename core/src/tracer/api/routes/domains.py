"""The catalog of loaded domains, and each tenant's installs (installed is not enabled)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from tracer.api.app import platform_of
from tracer.api.auth import current_principal, require_tenant
from tracer.api.idempotency import check_key, remember, replay, request_hash, settled
from tracer.api.metering import announce, usage_dict
from tracer.db import session
from tracer.errors import ConflictError
from tracer.installs import DomainInstall, install, set_enabled
from tracer.tenancy import Principal
from tracer.usage import UsageEvent

router = APIRouter(tags=["domains"])
describe_router = APIRouter(tags=["domains"])
Tenant = Annotated[Principal, Depends(require_tenant)]
Anyone = Annotated[Principal, Depends(current_principal)]


@router.get("/v1/domains", summary="Domains this platform serves")
def list_domains(request: Request, principal: Anyone) -> dict[str, Any]:
    """Every domain the loaded plugins provide; for a tenant key, whether it is installed
    and enabled for you."""
    p = platform_of(request)
    installs: dict[str, DomainInstall] = {}
    if principal.tenant_id:
        with session(p.settings) as s:
            installs = {i.domain: i for i in s.scalars(select(DomainInstall).where(
                DomainInstall.tenant_id == principal.tenant_id))}
    out = []
    for name, domain in sorted(p.host.domains.items()):
        row = installs.get(name)
        out.append({"name": name, "version": domain.version, "title": domain.title,
                    "description": domain.description, "outcome": domain.outcome,
                    "primary_metric": domain.primary_metric, "tags": list(domain.tags),
                    "installed": row is not None, "enabled": bool(row and row.enabled)})
    return {"domains": out}


@router.post("/v1/domains/{domain:path}/install", status_code=201,
             summary="Install a domain (billable; it stays disabled until enabled)")
def install_domain(domain: str, request: Request, principal: Tenant,
                   idempotency_key: Annotated[str | None, Header()] = None) -> Any:
    p = platform_of(request)
    dom = p.host.domain(domain)
    key = check_key(idempotency_key)
    route = f"install {dom.name}"
    digest = request_hash(route, None)
    def act() -> tuple[dict[str, Any], int, dict[str, Any] | None]:
        with session(p.settings) as s:
            stored = replay(s, principal.tenant_id, key, route, digest)
            if stored is not None:
                return stored.response, stored.status_code, None
            row = install(s, principal.tenant_id, dom.name, dom.version)
            body = _jsonable(row.as_dict())
            remember(s, principal.tenant_id, key, route, digest, 201, body)
            return body, 201, usage_dict(s.get(UsageEvent, f"install:{row.id}"))

    try:
        body, status, published = settled(act)
    except IntegrityError:
        raise ConflictError(f"domain {dom.name} is already installed", domain=dom.name) from None
    if published is not None:
        announce(p.host, [published])
    return JSONResponse(body, status_code=status)


def _toggle(request: Request, principal: Principal, domain: str, enabled: bool) -> Any:
    p = platform_of(request)
    dom = p.host.domain(domain)
    with session(p.settings) as s:
        row = set_enabled(s, principal.tenant_id, dom.name, enabled)
        body = _jsonable(row.as_dict())
    p.predictions.forget(principal.tenant_id, dom.name)
    return body


@router.post("/v1/domains/{domain:path}/enable", summary="Enable an installed domain")
def enable_domain(domain: str, request: Request, principal: Tenant) -> Any:
    return _toggle(request, principal, domain, True)


@router.post("/v1/domains/{domain:path}/disable",
             summary="Disable a domain (predictions and training stop; data stays)")
def disable_domain(domain: str, request: Request, principal: Tenant) -> Any:
    return _toggle(request, principal, domain, False)


@describe_router.get("/v1/domains/{domain:path}", summary="A domain and its record schema")
def describe_domain(domain: str, request: Request, principal: Anyone) -> dict[str, Any]:
    """Name, version, outcome, metrics and the JSON schema of one record: the fields a
    prediction request must carry."""
    return platform_of(request).host.domain(domain).describe()


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in row.items()}
