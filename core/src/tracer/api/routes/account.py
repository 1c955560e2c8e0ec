"""A tenant's own account: usage, its keys; and the plugins this platform loaded."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import select

from tracer.api.auth import TenantPrincipal, current_principal, require_tenant
from tracer.api.deps import platform_of
from tracer.api.metering import tenant_tier, usage_dict
from tracer.api.responses import KeyList, PluginList, UsageOut
from tracer.api.schemas import KeyOut, OwnKeyIn
from tracer.db import session, utcnow
from tracer.models import ApiKey
from tracer.quota import month_start, predictions_used
from tracer.spend import spend_for
from tracer.tenancy import Principal, issue_key, revoke_key
from tracer.usage import usage_for

router = APIRouter(tags=["account"])
Tenant = Annotated[TenantPrincipal, Depends(require_tenant)]
Anyone = Annotated[Principal, Depends(current_principal)]


def key_out(key: ApiKey, plaintext: str | None = None) -> dict[str, Any]:
    return KeyOut(id=key.id, prefix=key.prefix, role=key.role, tenant_id=key.tenant_id,
                  subject=key.subject, name=key.name, created_at=key.created_at,
                  revoked_at=key.revoked_at, key=plaintext).model_dump(mode="json")


@router.get("/v1/usage", response_model=UsageOut,
            summary="Your metered usage: totals this month and the events")
def usage(request: Request, principal: Tenant,
          since: Annotated[datetime | None, Query(description="Events from (ISO 8601); "
                                                  "default: start of this month.")] = None,
          until: Annotated[datetime | None, Query()] = None,
          limit: Annotated[int, Query(ge=1, le=10_000)] = 1000) -> dict[str, Any]:
    """Every billable act you caused (predicted rows, training runs, installs), each once
    with the id its producer made; the ledger rates this stream. `spend` is this month so
    far at the platform's prices (tier fee, training runs, custom domains, overage; micro-units
    of `currency`), before publishers' price plans and tax, which the invoice adds."""
    p = platform_of(request)
    now = utcnow()
    with session(p.settings) as s:
        tenant, tier = tenant_tier(s, p.settings, principal.tenant_id)
        events = usage_for(s, principal.tenant_id, since or month_start(now), until)
        used = predictions_used(s, principal.tenant_id, now)
        spend = spend_for(s, p.settings, principal.tenant_id, now)
    totals: dict[str, int] = {}
    for event in events:
        totals[event.kind] = totals.get(event.kind, 0) + event.quantity
    return {"tenant": tenant.id, "tier": tenant.tier,
            "allowance": {"predictions_per_month": tier.predictions_per_month,
                          "training_runs_per_month": tier.training_runs_per_month,
                          "overage_allowed": tier.overage_allowed},
            "predictions_this_month": used,
            "overage_predictions": max(0, used - tier.predictions_per_month),
            "spend": spend.as_dict() if spend is not None else None,
            "totals": totals, "events": [usage_dict(e) for e in events[-limit:]]}


@router.get("/v1/plugins", response_model=PluginList,
            summary="Plugins the platform loaded, and those that failed")
def plugins(request: Request, principal: Anyone) -> dict[str, Any]:
    states = platform_of(request).host.plugin_states()
    return {"plugins": sorted(states, key=lambda r: r["name"])}


@router.get("/v1/keys", response_model=KeyList, summary="Your API keys (never the secrets)")
def keys(request: Request, principal: Tenant) -> dict[str, Any]:
    p = platform_of(request)
    with session(p.settings) as s:
        rows = s.scalars(select(ApiKey).where(ApiKey.tenant_id == principal.tenant_id)
                         .order_by(ApiKey.created_at))
        return {"keys": [key_out(k) for k in rows]}


@router.post("/v1/keys", status_code=201, response_model=KeyOut,
             summary="Issue another key for yourself (shown once)")
def new_key(body: OwnKeyIn, request: Request, principal: Tenant) -> Any:
    p = platform_of(request)
    with session(p.settings) as s:
        key, plaintext = issue_key(s, "tenant", tenant_id=principal.tenant_id, name=body.name,
                                   settings=p.settings)
        return key_out(key, plaintext)


@router.delete("/v1/keys/{key_id}", response_model=KeyOut, summary="Revoke one of your keys")
def drop_key(key_id: str, request: Request, principal: Tenant) -> Any:
    p = platform_of(request)
    with session(p.settings) as s:
        return key_out(revoke_key(s, key_id, tenant_id=principal.tenant_id))
