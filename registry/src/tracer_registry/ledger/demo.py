"""The ledger's demo step: a third-party domain earning money for its publisher.

Tenant usage → invoice lines → 70/30 split → period close → payout → a payout statement
with its chart, written under ``settings.home`` as an HTML page.
"""

from __future__ import annotations

from datetime import timedelta

from rich.table import Table
from tracer import db
from tracer.db import session
from tracer.models import Tenant
from tracer.tenancy import create_tenant
from tracer.usage import record_usage

from tracer_registry.ledger import exports, migration_tree
from tracer_registry.ledger.adjustments import refund
from tracer_registry.ledger.closing import close_period
from tracer_registry.ledger.models import InvoiceLine, Statement
from tracer_registry.ledger.payouts import run_payouts
from tracer_registry.ledger.periods import last_closed, next_period, period_start
from tracer_registry.ledger.plans import PricePlan, set_price_plan
from tracer_registry.ledger.recurring import MONTH
from tracer_registry.ledger.statements import statements_of

PUBLISHER = "northwind"
PLAN = PricePlan("northwind.churn", PUBLISHER, "USD", monthly_fee_minor=2_000,
                 prediction_price_micros=4_000, commission_bps=3_000)
TENANTS = {"demo-globex": 182_345, "demo-initech": 64_001}  # predictions in month one


def _month(settings, period: str, scale: float, console) -> None:
    at = period_start(period) + timedelta(days=9, hours=12)
    with session(settings) as s:
        for tenant, predictions in TENANTS.items():
            base = f"demo-{tenant}-{period}"
            record_usage(s, f"{base}-install", tenant_id=tenant, kind="install_period",
                         domain=PLAN.domain, quantity=MONTH, occurred_at=at)
            record_usage(s, f"{base}-predictions", tenant_id=tenant, kind="prediction",
                         domain=PLAN.domain, quantity=int(predictions * scale), occurred_at=at)
            record_usage(s, f"{base}-subscription", tenant_id=tenant, kind="subscription",
                         domain="tier:professional", quantity=MONTH, occurred_at=at)
    close_period(settings, period, caused_by="demo")


def _register_publisher(s) -> None:
    """The demo's publisher, registered where the platform has the registry (price plans
    are for registered publishers). The demo composes the subsystems: it alone of the
    ledger may reach the registry (an ignored import in the ledger's contract)."""
    from sqlalchemy import inspect

    if not inspect(s.connection()).has_table("registry_publishers"):
        return
    from tracer_registry.models import Publisher
    from tracer_registry.publishers import create_publisher

    if s.get(Publisher, PUBLISHER) is None:
        create_publisher(s, PUBLISHER, "Northwind Analytics")


def run(settings, console) -> None:
    db.upgrade(settings, extra=[migration_tree()])
    with session(settings) as s:
        done = s.query(Statement).filter_by(publisher_id=PUBLISHER).first()
        for tenant in TENANTS:
            if s.get(Tenant, tenant) is None:
                create_tenant(s, tenant, tenant.removeprefix("demo-").title(), "professional",
                              settings.tiers)
        _register_publisher(s)
        set_price_plan(s, PLAN)
        last = last_closed(s)
        first = next_period(last) if last else "2026-04"
    if done is None:
        console.print(f"[bold]Ledger[/bold]: {PUBLISHER} lists {PLAN.domain} at $0.004 a "
                      "prediction and $20.00 a month per install; the platform keeps 30 %")
        second = next_period(first)
        during = period_start(second) + timedelta(days=14)
        _month(settings, first, 1.0, console)
        run_payouts(settings, caused_by="demo", now=during)  # pays the closed month
        with session(settings) as s:
            line = s.get_one(InvoiceLine, f"demo-initech/{first}/prediction/{PLAN.domain}")
            refund(s, f"demo-refund-{first}", line.id, line.gross // 4, caused_by="demo",
                   effective_at=during)
        _month(settings, second, 1.3, console)
    with session(settings) as s:
        history = statements_of(s, PUBLISHER)
        lines = s.query(InvoiceLine).filter(InvoiceLine.publisher_id == PUBLISHER).order_by(
            InvoiceLine.period, InvoiceLine.id).all()
        table = Table("period", "tenant", "line", "qty", "gross", "platform 30 %",
                      "publisher 70 %", title="Invoice lines of northwind.churn")
        for line in lines:
            table.add_row(line.period, line.tenant_id, line.kind, f"{line.quantity:,}",
                          exports.money(line.gross, 2, "USD"), exports.money(line.fee, 2, "USD"),
                          exports.money(line.share, 2, "USD"))
        console.print(table)
        latest = history[-1]
        page = exports.as_html(latest, history, "Northwind Analytics")
    out = settings.home / "payouts" / f"{PUBLISHER}-{latest.period}-{latest.currency}.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page)
    b = latest.body
    console.print(f"statement {latest.period}: opening {exports.money(b['opening'], 2, 'USD')}, "
                  f"sales {exports.money(b['gross'], 2, 'USD')}, commission "
                  f"{exports.money(b['fees'], 2, 'USD')}, refunds "
                  f"{exports.money(b['refunds'], 2, 'USD')}, payouts "
                  f"{exports.money(b['payouts'], 2, 'USD')}, closing "
                  f"{exports.money(b['closing'], 2, 'USD')} (hash {latest.content_hash[:12]}…)")
    console.print(f"payout statement with chart: {out.resolve()}")
