"""``tracer invoices`` and ``tracer payments``: what tenants are billed and what they paid."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from tracer_registry.ledger.cli import WHO, _console, _settings

#: merged into ``tracer`` by the ledger's ``tracer_cli`` hook: ``tracer invoices`` and the
#: ``payments`` group
app = typer.Typer()

payments = typer.Typer(name="payments", no_args_is_help=True,
                       help="Tenant payments: record one (idempotent by its id).")
app.add_typer(payments, name="payments")


@app.command("invoices")
def invoices_command(tenant: Annotated[str, typer.Argument(help="tenant id")],
                     period: Annotated[str | None, typer.Option(help="YYYY-MM")] = None,
                     as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """A tenant's invoices: lines, tax and totals per currency, and what is still due."""
    from tracer.db import session

    from tracer_registry.ledger.invoices import invoices

    with session(_settings()) as s:
        found = invoices(s, tenant, period)
    if as_json:
        typer.echo(json.dumps(found, indent=2))
        return
    for invoice in found["invoices"]:
        table = Table("line", "qty", "months", "gross", "tax", "net", "refunded",
                      title=f"Invoice {invoice['id']}")
        for line in invoice["lines"]:
            table.add_row(f"{line['kind']} {line['domain'] or ''}".strip(),
                          str(line["quantity"]), line.get("months", ""), str(line["gross"]),
                          str(line["tax"]), str(line["net"]), str(line["refunded"]))
        for currency, t in invoice["totals"].items():
            table.add_row(f"total {currency}", "", "", str(t["gross"]), str(t["tax"]),
                          str(t["net"]), str(t["refunded"]))
        _console().print(table)
    for currency, account in found["account"].items():
        _console().print(f"{currency}: due {account['due']}, credit {account['credit']}")
    if not found["invoices"]:
        _console().print(f"tenant {tenant} has no invoices yet")


@payments.command("record")
def record(payment_id: Annotated[str, typer.Argument(help="the provider's payment id")],
           tenant: Annotated[str, typer.Option()],
           amount: Annotated[int, typer.Option(help="minor units")],
           currency: Annotated[str, typer.Option()] = "USD",
           source: Annotated[str, typer.Option(help="stripe, bank, manual …")] = "manual",
           received_at: Annotated[str | None, typer.Option(help="ISO 8601; default now")]
           = None) -> None:
    """Record a tenant's payment: settles what is due, any excess becomes credit."""
    from tracer.db import session

    from tracer_registry.ledger.payments import notice_from_json, receive_payment

    notice = notice_from_json({"id": payment_id, "tenant": tenant, "currency": currency,
                               "amount": amount, "source": source,
                               "received_at": received_at or datetime.now(UTC).isoformat()})
    with session(_settings()) as s:
        row = receive_payment(s, notice, caused_by=WHO)
    _console().print(f"payment {row.id}: {row.settled} {row.currency} settled, "
                     f"{row.credited} to credit")
