"""Platform administration: tenants and keys of every role (admin keys only)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select

from tracer.api.auth import require_roles
from tracer.api.deps import platform_of
from tracer.api.responses import KeyList, TenantList, TenantOut
from tracer.api.routes.account import key_out
from tracer.api.routes.domains import _jsonable
from tracer.api.schemas import KeyIn, KeyOut, TenantIn
from tracer.db import session
from tracer.models import ApiKey, Tenant
from tracer.tenancy import Principal, create_tenant, issue_key, revoke_key

router = APIRouter(prefix="/v1/admin", tags=["admin"])
Admin = Annotated[Principal, Depends(require_roles("admin"))]


def tenant_out(t: Tenant) -> dict[str, Any]:
    return _jsonable({"id": t.id, "name": t.name, "tier": t.tier, "active": t.active,
                      "created_at": t.created_at})


@router.post("/tenants", status_code=201, response_model=TenantOut,
             summary="Create a tenant on a tier")
def new_tenant(body: TenantIn, request: Request, principal: Admin) -> dict[str, Any]:
    p = platform_of(request)
    with session(p.settings) as s:
        return tenant_out(create_tenant(s, body.id, body.name, body.tier, p.settings.tiers,
                                        p.settings))


@router.get("/tenants", response_model=TenantList, summary="All tenants")
def tenants(request: Request, principal: Admin) -> dict[str, Any]:
    with session(platform_of(request).settings) as s:
        return {"tenants": [tenant_out(t) for t in s.scalars(select(Tenant).order_by(Tenant.id))]}


@router.post("/keys", status_code=201, response_model=KeyOut,
             summary="Issue a key of any role (shown once)")
def new_key(body: KeyIn, request: Request, principal: Admin) -> Any:
    settings = platform_of(request).settings
    with session(settings) as s:
        key, plaintext = issue_key(s, body.role, tenant_id=body.tenant_id,
                                   subject=body.subject, name=body.name, settings=settings)
        return key_out(key, plaintext)


@router.get("/keys", response_model=KeyList,
            summary="Keys (never the secrets), optionally of one tenant")
def keys(request: Request, principal: Admin, tenant_id: str | None = None) -> dict[str, Any]:
    with session(platform_of(request).settings) as s:
        query = select(ApiKey).order_by(ApiKey.created_at)
        if tenant_id:
            query = query.where(ApiKey.tenant_id == tenant_id)
        return {"keys": [key_out(k) for k in s.scalars(query)]}


@router.delete("/keys/{key_id}", response_model=KeyOut, summary="Revoke any key")
def drop_key(key_id: str, request: Request, principal: Admin) -> Any:
    with session(platform_of(request).settings) as s:
        return key_out(revoke_key(s, key_id))
