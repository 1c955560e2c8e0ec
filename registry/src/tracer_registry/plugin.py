"""The registry's hook implementations: how it joins the platform (core never imports it)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from tracer.hookspecs import MigrationTree, hookimpl

if TYPE_CHECKING:
    import typer
    from fastapi import FastAPI
    from rich.console import Console
    from tracer.settings import Settings

MIGRATIONS = Path(__file__).parent / "migrations" / "registry"


@hookimpl
def tracer_migrations() -> list[MigrationTree]:
    return [{"script_location": str(MIGRATIONS), "version_table": "alembic_version_registry"}]


@hookimpl
def tracer_cli(cli: typer.Typer) -> None:
    from tracer_registry.cli import app

    cli.add_typer(app)  # unnamed: its commands and groups join ``tracer`` itself


@hookimpl
def tracer_routes(app: FastAPI) -> None:
    from tracer.api.openapi_links import register

    from tracer_registry.console import register as register_pages
    from tracer_registry.links import REGISTRY
    from tracer_registry.routes import RELEASES, router

    # wheels are uploads: they get api.max_upload_bytes, not the small JSON body limit
    app.state.upload_paths = {*getattr(app.state, "upload_paths", ()), RELEASES}
    app.include_router(router)
    register(app, REGISTRY)
    register_pages(app)  # catalog, releases: console pages when the console is mounted


@hookimpl
def tracer_demo(settings: Settings, console: Console) -> None:
    from tracer_registry.demo import run

    run(settings, console)
