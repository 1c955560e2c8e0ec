"""Payout pages: a publisher's statements per period with a chart (earnings, refunds, fees,
payouts) and CSV/JSON downloads; the admin's platform commission report.

A publisher sees only its own statements: the session's subject is the publisher id, and
another publisher's statement answers 404 like one that does not exist (as the API does).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse, Response
from tracer.db import session
from tracer.tenancy import Principal
from tracer.ui import page_for, render
from tracer.ui.charts import grouped_columns

from tracer_registry.ledger import exports
from tracer_registry.ledger.periods import parse_period
from tracer_registry.ledger.reports import platform_report
from tracer_registry.ledger.statements import statement, statements_of

router = APIRouter()
PublisherPage = Annotated[Principal, Depends(page_for("publisher"))]
AdminPage = Annotated[Principal, Depends(page_for("admin"))]
SHOWN = (("earnings", "gross"), ("fees", "fees"), ("refunds", "refunds"),
         ("payouts", "payouts"))


def _major(amount: int, exponent: int) -> float:
    return amount / 10 ** exponent


def _chart(rows, currency: str):
    groups = [(r.period, {label: _major(r.body[key], r.body["exponent"])
                          for label, key in SHOWN}) for r in rows if r.currency == currency]
    return grouped_columns(f"Earnings, fees, refunds and payouts per period ({currency})",
                           groups)


@router.get("/payouts")
def statements_page(request: Request, who: PublisherPage) -> Response:
    with session(request.app.state.settings) as s:
        rows = statements_of(s, who.subject)
        currencies = sorted({r.currency for r in rows})
        listed = [{"period": r.period, "currency": r.currency, "body": r.body} for r in rows]
        charts = [_chart(rows, c) for c in currencies]
    return render(request, "payouts.html", title="Payouts", statements=listed, charts=charts,
                  money=exports.money)


@router.get("/payouts/{period}/{currency}.{fmt}")
def download(period: str, currency: str, fmt: str, request: Request,
             who: PublisherPage) -> Response:
    parse_period(period)
    with session(request.app.state.settings) as s:
        row = statement(s, who.subject, period, currency)
        name = f"statement-{who.subject}-{period}-{currency}.{fmt}"
        headers = {"Content-Disposition": f'attachment; filename="{name}"'}
        if fmt == "csv":
            return PlainTextResponse(exports.as_csv(row), media_type="text/csv",
                                     headers=headers)
        if fmt == "json":
            return Response(exports.as_json(row), media_type="application/json",
                            headers=headers)
    from tracer.errors import NotFoundError

    raise NotFoundError(f"no download format {fmt!r} (csv or json)")


@router.get("/payouts/{period}/{currency}")
def statement_page(period: str, currency: str, request: Request,
                   who: PublisherPage) -> Response:
    parse_period(period)
    with session(request.app.state.settings) as s:
        row = statement(s, who.subject, period, currency)
        body = row.body
        chart = _chart([row], currency)
    return render(request, "statement.html", title=f"Statement {period} {currency}",
                  body=body, chart=chart, money=exports.money)


@router.get("/admin/commission")
def commission(request: Request, who: AdminPage) -> Response:
    with session(request.app.state.settings) as s:
        report = platform_report(s)
    from tracer_registry.ledger.money import exponent

    return render(request, "commission.html", title="Platform commission", report=report,
                  money=exports.money, exponent=exponent)


def spend_section(request: Request, who: Principal):
    """The tenant dashboard's *spend this period*: this month's usage so far, priced by the
    ledger's own ``price`` (the rule the period close applies), before rounding."""
    from collections import Counter

    from markupsafe import Markup
    from sqlalchemy import inspect
    from tracer.db import utcnow
    from tracer.models import Tenant
    from tracer.quota import month_start, period_of
    from tracer.usage import usage_for

    from tracer_registry.ledger.rating import _plans, price

    settings = request.app.state.settings
    now = utcnow()
    with session(settings) as s:
        if not inspect(s.connection()).has_table("ledger_price_plans"):
            return None
        tenant = s.get(Tenant, who.tenant_id) if who.tenant_id else None
        if tenant is None:
            return None
        tier = tenant.tier
        usage: Counter = Counter()
        for event in usage_for(s, tenant.id, month_start(now)):
            usage[(event.kind, event.domain)] += event.quantity
        lines = price(settings, tier, dict(usage), _plans(s, {d for _, d in usage if d}))
    totals: Counter = Counter()
    for line in lines:
        totals[line.currency] += line.accrued_micros
    template = request.app.state.console.env.get_template("spend.html")
    return Markup(template.render(period=period_of(now), lines=lines, totals=dict(totals),
                                  tier=tier))


def register(app: Any) -> None:
    """The ledger's pages (payouts, commission) and the dashboard's spend section.

    Here rather than in the package: the ledger imports nothing else of the registry, and
    the package's other pages belong to the catalog and certification.
    """
    console = getattr(app.state, "console", None)
    if console is None:
        return
    from pathlib import Path

    from tracer.ui import NavLink

    console.add_pages(router, templates=Path(__file__).parent / "templates", nav=[
        NavLink("Payouts", "/ui/payouts", ("publisher",)),
        NavLink("Commission", "/ui/admin/commission", ("admin",))])
    console.add_section("dashboard", spend_section)
