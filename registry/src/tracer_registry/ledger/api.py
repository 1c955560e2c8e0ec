"""Payout routes: publishers read their own statements and balances; admins read and run all.

A publisher key's ``subject`` is its publisher id. Asking for another publisher's statement
answers 404, exactly like a statement that does not exist.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from tracer.api.auth import require_roles, settings_of
from tracer.db import session
from tracer.errors import NotFoundError
from tracer.tenancy import Principal

from tracer_registry.ledger import billing_api, exports
from tracer_registry.ledger import responses as R
from tracer_registry.ledger.closing import close_period
from tracer_registry.ledger.payouts import available, run_payouts
from tracer_registry.ledger.periods import parse_period
from tracer_registry.ledger.reports import platform_report, reconciliation
from tracer_registry.ledger.statements import statement, statements_of

router = APIRouter(prefix="/v1/payouts", tags=["payouts"])
Reader = Annotated[Principal, Depends(require_roles("publisher", "admin"))]
Admin = Annotated[Principal, Depends(require_roles("admin"))]


def _publisher_in_scope(who: Principal, publisher: str) -> None:
    if who.role == "publisher" and who.subject != publisher:
        raise NotFoundError(f"no statement for publisher {publisher!r}")


@router.get("/statements", response_model=list[R.StatementSummary])
def list_statements(request: Request, who: Reader,
                    publisher: str | None = None) -> list[dict]:
    if who.role == "publisher":
        publisher = who.subject
    with session(settings_of(request)) as s:
        return [{"publisher": r.publisher_id, "period": r.period, "currency": r.currency,
                 "closing": r.body["closing"], "content_hash": r.content_hash}
                for r in statements_of(s, publisher)]


@router.get("/statements/{publisher}/{period}/{currency}", responses={200: {
    "model": R.StatementOut, "description": "The statement (JSON, or CSV or HTML by format)",
    "content": {"text/csv": {"schema": {"type": "string"}},
                "text/html": {"schema": {"type": "string"}}}}})
def get_statement(request: Request, who: Reader, publisher: str, period: str, currency: str,
                  format: Annotated[str, Query(pattern="^(json|csv|html)$")] = "json",
                  ) -> Response:
    _publisher_in_scope(who, publisher)
    parse_period(period)
    with session(settings_of(request)) as s:
        row = statement(s, publisher, period, currency)
        if format == "html":
            return HTMLResponse(exports.as_html(row, statements_of(s, publisher)))
        if format == "csv":
            return PlainTextResponse(exports.as_csv(row), media_type="text/csv")
        return Response(exports.as_json(row), media_type="application/json")


@router.get("/balances/{publisher}/{currency}", response_model=R.BalanceOut)
def balance(request: Request, who: Reader, publisher: str, currency: str) -> dict:
    _publisher_in_scope(who, publisher)
    from tracer_registry.ledger.models import Account
    from tracer_registry.ledger.postings import publisher_payable

    with session(settings_of(request)) as s:
        account = s.query(Account).filter_by(code=publisher_payable(publisher, currency)).first()
        if account is None:
            raise NotFoundError(f"publisher {publisher!r} has no {currency} balance")
        return {"publisher": publisher, "currency": currency, "balance": account.balance,
                "available": available(s, publisher, currency)}


@router.get("/report", response_model=list[R.ReportRow])
def report(request: Request, who: Admin) -> list[dict]:
    with session(settings_of(request)) as s:
        return platform_report(s)


@router.get("/reconciliation", response_model=R.Reconciliation)
def reconcile(request: Request, who: Admin) -> dict:
    with session(settings_of(request)) as s:
        return reconciliation(s)


@router.post("/periods/{period}/close", response_model=R.ClosedPeriod)
def close(request: Request, who: Admin, period: str) -> dict:
    result = close_period(settings_of(request), parse_period(period),
                          caused_by=f"api:{who.key_id}")
    return {"period": result.period, "tenants_rated": result.tenants_rated,
            "statements": result.statements}


@router.post("/run", response_model=R.PayoutRun)
def run(request: Request, who: Admin) -> dict:
    return {"payouts": run_payouts(settings_of(request), caused_by=f"api:{who.key_id}")}


#: every ledger route, mounted by the ledger's ``tracer_routes`` hook: payouts (this
#: module) and tenants' invoices and payments (``billing_api``)
routes = APIRouter()
routes.include_router(router)
routes.include_router(billing_api.router)
