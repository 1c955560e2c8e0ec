"""The certification plugin: CLI commands, API routes, its migration tree, a demo step."""

from __future__ import annotations

from pathlib import Path

from tracer import hookimpl

MIGRATIONS = Path(__file__).parent / "migrations"


@hookimpl
def tracer_migrations():
    return [{"script_location": str(MIGRATIONS),
             "version_table": "alembic_version_certification"}]


@hookimpl
def tracer_cli(cli):
    from tracer_registry.certify.cli import app

    cli.add_typer(app)  # unnamed: ``tracer certify`` and ``tracer review`` join ``tracer``


@hookimpl
def tracer_routes(app):
    from tracer.api.openapi_links import register

    from tracer_registry.certify.api import router
    from tracer_registry.certify.links import CERTIFY
    from tracer_registry.console import register_reviews

    app.include_router(router)
    register(app, CERTIFY)
    register_reviews(app)


@hookimpl(trylast=True)  # after the registry's demo step has published the first-party wheels
def tracer_demo(settings, console):
    from tracer_registry.certify.demo import run_demo
    from tracer_registry.console.demo import run as console_keys

    run_demo(settings, console)
    console_keys(settings, console)  # last registry step: keys to sign in at /ui/
