"""The ledger's hooks: its migration tree, ``tracer payouts …``, API routes, a demo step."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tracer.hookspecs import MigrationTree, hookimpl

if TYPE_CHECKING:
    import typer
    from fastapi import FastAPI
    from rich.console import Console
    from tracer.settings import Settings

from tracer_registry.ledger import migration_tree


@hookimpl
def tracer_migrations() -> list[MigrationTree]:
    return [migration_tree()]


@hookimpl
def tracer_cli(cli: typer.Typer) -> None:
    from tracer_registry.ledger import billing_cli
    from tracer_registry.ledger.cli import app as payouts

    cli.add_typer(payouts, name="payouts")
    cli.add_typer(billing_cli.app)  # unnamed: ``tracer invoices``, ``tracer payments``


@hookimpl
def tracer_routes(app: FastAPI) -> None:
    from tracer.api.openapi_links import register

    from tracer_registry.console.payouts import register as register_payouts
    from tracer_registry.ledger.api import routes
    from tracer_registry.ledger.links import LEDGER

    app.include_router(routes)
    register(app, LEDGER)
    register_payouts(app)


@hookimpl
def tracer_demo(settings: Settings, console: Console) -> None:
    from tracer_registry.ledger.demo import run

    run(settings, console)
