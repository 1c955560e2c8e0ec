"""``tracer payouts …``: close periods, pay publishers, print statements and reports."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from tracer.settings import Settings

app = typer.Typer(name="payouts", no_args_is_help=True,
                  help="Commission ledger: close periods, payouts, statements, reports.")

WHO = "cli"


def _settings() -> Settings:
    from tracer.cli.context import migrated

    return migrated().settings


def _console():
    from tracer.cli.context import console

    return console


@app.command("close")
def close(period: Annotated[str, typer.Argument(help="YYYY-MM")]) -> None:
    """Rate every tenant's usage for PERIOD, freeze publisher statements, close it."""
    from rich.progress import Progress

    from tracer_registry.ledger.closing import close_period

    settings = _settings()
    with Progress(console=_console(), transient=True) as bar:
        task = bar.add_task(f"rating {period}", total=None)
        result = close_period(settings, period, caused_by=WHO,
                              progress=lambda n: bar.advance(task, n))
    _console().print(f"closed {result.period}: {result.tenants_rated} tenants rated, "
                     f"{result.statements} statements frozen")


@app.command("run")
def run() -> None:
    """Pay every publisher whose available balance reaches its threshold."""
    from tracer_registry.ledger.payouts import run_payouts

    paid = run_payouts(_settings(), caused_by=WHO)
    _console().print(f"{len(paid)} payouts sent" + (f": {', '.join(paid)}" if paid else ""))


@app.command("fail")
def fail(payout_id: str, reason: Annotated[str, typer.Option(help="why it bounced")]) -> None:
    """Record a failed payout: the publisher is re-credited."""
    from tracer.db import session

    from tracer_registry.ledger.payouts import fail_payout

    with session(_settings()) as s:
        payout = fail_payout(s, payout_id, reason=reason, caused_by=WHO)
    _console().print(f"payout {payout.id} failed; {payout.amount} {payout.currency} re-credited")


@app.command("refund")
def refund(line_id: str, amount: Annotated[int, typer.Argument(help="minor units")],
           refund_id: Annotated[str, typer.Option("--id", help="the processor's refund id")],
           chargeback: Annotated[bool, typer.Option(help="a chargeback, not a refund")] = False,
           ) -> None:
    """Refund part or all of an invoice line (fee returned cumulatively)."""
    from tracer.db import session

    from tracer_registry.ledger.adjustments import refund as post_refund

    with session(_settings()) as s:
        record = post_refund(s, refund_id, line_id, amount, caused_by=WHO,
                             kind="chargeback" if chargeback else "refund")
    _console().print(f"{record.kind} {record.id}: {record.amount} on {record.line_id}")


@app.command("plan")
def plan(domain: str, publisher: Annotated[str, typer.Option()],
         currency: Annotated[str, typer.Option()] = "USD",
         monthly_fee: Annotated[int, typer.Option(help="minor units per install-month")] = 0,
         prediction_micros: Annotated[int, typer.Option(help="micro-units per prediction")] = 0,
         commission_bps: Annotated[int, typer.Option(help="3000 = 30 %")] = 3000) -> None:
    """Set the price plan (agreement) of a third-party listing."""
    from tracer.db import session

    from tracer_registry.ledger.plans import PricePlan, set_price_plan

    with session(_settings()) as s:
        set_price_plan(s, PricePlan(domain, publisher, currency, monthly_fee,
                                    prediction_micros, commission_bps))
    _console().print(f"price plan of {domain} set ({commission_bps} bps to the platform)")


@app.command("statement")
def statement(publisher: str, period: str,
              currency: Annotated[str, typer.Option()] = "USD",
              fmt: Annotated[str, typer.Option("--format", help="json | csv | html")] = "json",
              out: Annotated[Path | None, typer.Option(help="write here, not stdout")] = None,
              ) -> None:
    """A publisher's frozen payout statement."""
    from tracer.db import session
    from tracer.errors import ValidationError

    from tracer_registry.ledger import exports
    from tracer_registry.ledger.statements import statement as load
    from tracer_registry.ledger.statements import statements_of

    if fmt not in ("json", "csv", "html"):
        raise ValidationError(f"--format {fmt!r}: use json, csv or html", field="format")
    with session(_settings()) as s:
        row = load(s, publisher, period, currency)
        text = {"json": exports.as_json, "csv": exports.as_csv}[fmt](row) if fmt != "html" \
            else exports.as_html(row, statements_of(s, publisher))
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text)
        _console().print(f"wrote {out}")


@app.command("report")
def report() -> None:
    """The platform's commission and revenue per period and currency."""
    from tracer.db import session

    from tracer_registry.ledger.reports import platform_report

    with session(_settings()) as s:
        rows = platform_report(s)
    table = Table("period", "cur", "billed", "tax", "commission", "first-party",
                  "publishers", "refunds", "chargebacks", "revenue")
    for r in rows:
        table.add_row(r["period"], r["currency"], *(str(r[k]) for k in (
            "billed", "tax", "commission", "first_party", "publisher_share", "refunds",
            "chargebacks", "platform_revenue")))
    _console().print(table)


@app.command("reconcile")
def reconcile(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Reconcile every account per period and currency; exit 1 unless it nets to zero."""
    from tracer.db import session

    from tracer_registry.ledger.reconcile import CHECKS, reconciliation

    with session(_settings()) as s:
        result = reconciliation(s)
    ok = result["ok"]
    if as_json:
        typer.echo(json.dumps(result, indent=2, default=str))
    else:
        for p in result["periods"]:
            for block in p["currencies"]:
                _console().print(f"{p['period']} {block['currency']}: debits "
                                 f"{block['debits']} credits {block['credits']} net "
                                 f"{block['net']}")
        failed = [check for check in CHECKS if not result[check]]
        _console().print(f"suspense items: {len(result['suspense'])}; "
                         + ("reconciled: nets to zero" if ok else
                            f"NOT reconciled ({', '.join(failed)} failed)"))
    if not ok:
        raise typer.Exit(1)


@app.command("admin")
def admin(action: Annotated[str, typer.Argument(help="credit, apply-credit, adjust, "
                                                    "reverse-chargeback, fx, bank-return, "
                                                    "tax-rate, threshold")],
          params: Annotated[list[str] | None, typer.Argument(help="key=value …")] = None,
          operator: Annotated[str, typer.Option(help="who you are (audited)")] = "") -> None:
    """An audited operator action on the books, e.g. ``credit id=c1 tenant=acme …``."""
    from tracer.db import session
    from tracer.errors import ValidationError

    from tracer_registry.ledger.operator import perform

    pairs = {}
    for item in params or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValidationError(f"{item!r}: give parameters as key=value", field=item)
        pairs[key] = value
    with session(_settings()) as s:
        result = perform(s, action, pairs, operator=operator)
    _console().print(f"{action}: {result} (by {operator})")
