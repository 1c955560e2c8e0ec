"""``tracer usage TENANT``: a tenant's month so far against its tier (operators' view of
what ``GET /v1/usage`` shows the tenant)."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from tracer.cli.context import console, migrated


def _money(micros: int, currency: str) -> str:
    return f"{micros / 1_000_000:,.2f} {currency}"


def register(app: typer.Typer) -> None:
    @app.command("usage")
    def usage(tenant: str = typer.Argument(..., help="The tenant's id."),
              as_json: bool = typer.Option(False, "--json", help="Print the figures as "
                                           "JSON (micro-units of currency).")) -> None:
        """A tenant's usage and spend so far this month against its tier's allowance."""
        from tracer.db import session
        from tracer.errors import NotFoundError
        from tracer.spend import spend_for

        settings = migrated().settings
        with session(settings) as s:
            spend = spend_for(s, settings, tenant)
        if spend is None:
            raise NotFoundError(f"no tenant {tenant!r} (tracer admin create-tenant makes one)")
        if as_json:
            typer.echo(json.dumps(spend.as_dict(), sort_keys=True))
            return
        c = spend.currency
        table = Table(title=f"{tenant}: {spend.period}, tier {spend.tier}")
        for column in ("", "used", "included", "spend"):
            table.add_column(column, justify="left" if not column else "right")
        over = f" ({spend.overage_predictions:,} over)" if spend.overage_predictions else ""
        table.add_row("tier fee", "", "", _money(spend.subscription_micros, c))
        table.add_row("predictions", f"{spend.predictions:,}{over}",
                      f"{spend.predictions_allowance:,}", _money(spend.overage_micros, c))
        table.add_row("training runs", f"{spend.training_runs:,}",
                      f"{spend.training_runs_allowance:,}", _money(spend.training_micros, c))
        table.add_row("custom domains", f"{spend.custom_domains:,}", "",
                      _money(spend.custom_domain_micros, c))
        table.add_row("so far", "", "", _money(spend.total_micros, c))
        console.print(table)
        console.print("At the platform's prices; publishers' price plans and tax are added "
                      "on the invoice (tracer invoices).")
