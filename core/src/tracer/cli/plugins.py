"""``tracer plugins`` and ``tracer domains``."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from tracer.cli.context import console, host


def register(app: typer.Typer) -> None:
    @app.command("plugins")
    def plugins(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
        """List loaded and failed plugins, with the reason a plugin failed."""
        records = sorted(host().records.values(), key=lambda r: (r.builtin, r.name))
        if as_json:
            console.print_json(json.dumps([r.as_dict() for r in records]))
            return
        table = Table(title="Plugins")
        for column in ("plugin", "distribution", "version", "status", "domains", "error"):
            table.add_column(column)
        for r in records:
            status = {"loaded": "[green]loaded[/]", "failed": "[red]failed[/]"}.get(
                r.status, r.status)
            table.add_row(r.name + (" (built-in)" if r.builtin else ""), r.distribution or "",
                          r.version or "", status, ", ".join(r.domains), r.error or "")
        console.print(table)

    @app.command("domains")
    def domains(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
        """List the domain templates the loaded plugins provide."""
        h = host()
        if as_json:
            console.print_json(json.dumps([{**{k: v for k, v in d.describe().items()
                                               if k != "record_schema"},
                                            "plugin": h.owner(d)}
                                           for d in h.domains.values()]))
            return
        table = Table(title="Domains")
        for column in ("domain", "version", "title", "metric (target)", "plugin"):
            table.add_column(column)
        for d in sorted(h.domains.values(), key=lambda d: d.name):
            table.add_row(d.name, d.version, d.title,
                          f"{d.primary_metric} ({d.certification_threshold})", h.owner(d))
        console.print(table)
