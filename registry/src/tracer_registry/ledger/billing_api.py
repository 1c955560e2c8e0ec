"""Tenant billing routes: invoices (tenant-isolated) and the payment intake.

A tenant key sees only its own tenant's invoices; an admin names the tenant. Errors are
RFC 9457 problems (the platform's handlers). ``POST /v1/payments`` takes a provider-neutral
payment notice, the shape a payment provider's webhook handler would forward.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from tracer.api.auth import require_roles, settings_of
from tracer.db import session
from tracer.errors import ValidationError
from tracer.tenancy import Principal

from tracer_registry.ledger import responses as R
from tracer_registry.ledger.invoices import invoices
from tracer_registry.ledger.payments import notice_from_json, receive_payment

router = APIRouter(tags=["billing"])
Reader = Annotated[Principal, Depends(require_roles("tenant", "admin"))]
Admin = Annotated[Principal, Depends(require_roles("admin"))]


def _tenant(who: Principal, tenant: str | None) -> str:
    if who.role == "tenant":  # a tenant key never reads another tenant's invoices
        if who.tenant_id is None:  # pragma: no cover - a tenant key always names its tenant
            raise ValidationError("this tenant key names no tenant", field="Authorization")
        return who.tenant_id
    if not tenant:
        raise ValidationError("an admin names the tenant: ?tenant=<id>", field="tenant")
    return tenant


@router.get("/v1/invoices", summary="A tenant's invoices with lines, tax and totals",
            response_model=R.Invoices)
def list_invoices(request: Request, who: Reader, tenant: str | None = None) -> dict:
    with session(settings_of(request)) as s:
        return invoices(s, _tenant(who, tenant))


@router.get("/v1/invoices/{period}", summary="A tenant's invoice for one period",
            response_model=R.Invoices)
def get_invoice(request: Request, who: Reader, period: str,
                tenant: str | None = None) -> dict:
    with session(settings_of(request)) as s:
        return invoices(s, _tenant(who, tenant), period)


@router.post("/v1/payments", summary="Record a tenant's payment (idempotent by its id)",
             status_code=201, response_model=R.PaymentOut)
async def post_payment(request: Request, who: Admin) -> dict:
    try:
        body = await request.json()
    except ValueError:
        raise ValidationError("the body is not JSON", field="body") from None
    notice = notice_from_json(body)

    def work() -> dict:
        with session(settings_of(request)) as s:
            row = receive_payment(s, notice, caused_by=f"api:{who.key_id}")
            return {"id": row.id, "tenant": row.tenant_id, "currency": row.currency,
                    "amount": row.amount, "settled": row.settled, "credited": row.credited}

    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(work)


@router.post("/v1/admin/ledger/{action}", summary="An audited operator action on the books",
             response_model=R.OperatorResult)
async def operator_action(request: Request, who: Admin, action: str) -> dict:
    from starlette.concurrency import run_in_threadpool

    from tracer_registry.ledger.operator import perform

    try:
        params = await request.json()
    except ValueError:
        raise ValidationError("the body is not JSON", field="body") from None
    if not isinstance(params, dict):
        raise ValidationError("the body is a JSON object of the action's parameters",
                              field="body")

    def work() -> str:
        with session(settings_of(request)) as s:
            return perform(s, action, params, operator=f"{who.subject} (key {who.key_id})")

    return {"action": action, "result": await run_in_threadpool(work)}


@router.get("/v1/admin/ledger/audit", summary="Who did what to the books",
            response_model=list[R.AuditEntry])
def operator_audit(request: Request, who: Admin) -> list[dict]:
    from tracer_registry.ledger.operator import audit_log

    with session(settings_of(request)) as s:
        return audit_log(s)
