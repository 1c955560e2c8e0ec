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
        states = host().plugin_states()
        if as_json:
            console.print_json(json.dumps(states))
            return
        table = Table(title="Plugins")
        for column in ("plugin", "distribution", "version", "status", "trust", "runner",
                       "domains", "error"):
            table.add_column(column)
        for r in states:
            status = {"loaded": "[green]loaded[/]", "failed": "[red]failed[/]"}.get(
                r["status"], r["status"])
            runner = "in-process" if r["trust"] != "third-party" else (
                ", ".join(f"{x['tenant']} pid {x['pid']}" for x in r["runners"])
                or "confined (none running)")
            table.add_row(r["name"], r["distribution"] or "", r["version"] or "", status,
                          r["trust"], runner, ", ".join(r["domains"]), r["error"] or "")
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
