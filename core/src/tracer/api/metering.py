"""What the API does around a metered act: the tenant's tier and the event as JSON.

Usage has one reader contract, the ``usage_events`` table (``tracer.usage``): the act and
its event commit in one transaction, and the ledger rates that table. There is no usage
hook: a broadcast after the commit is lost when the process dies between the two, which a
ledger cannot accept, and an observer that can read the table needs no broadcast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tracer.errors import NotFoundError
from tracer.models import Tenant

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from tracer.models import UsageEvent
    from tracer.settings import Settings, Tier


def tenant_tier(s: Session, settings: Settings, tenant_id: str) -> tuple[Tenant, Tier]:
    tenant = s.get(Tenant, tenant_id)
    if tenant is None:  # pragma: no cover - authenticate() checks the tenant exists
        raise NotFoundError(f"tenant {tenant_id} not found")
    return tenant, settings.tiers[tenant.tier]


def usage_dict(event: UsageEvent | dict[str, Any]) -> dict[str, Any]:
    """An event as JSON (from the model or a ``usage_row``): what `GET /v1/usage` lists."""
    row = event if isinstance(event, dict) else {
        k: getattr(event, k) for k in ("id", "tenant_id", "kind", "domain", "quantity",
                                       "occurred_at", "attrs")}
    return {"id": row["id"], "tenant_id": row["tenant_id"], "kind": row["kind"],
            "domain": row["domain"], "quantity": row["quantity"],
            "occurred_at": row["occurred_at"].isoformat(), "attrs": dict(row["attrs"] or {})}
