"""The ledger's hooks: its migration tree, ``tracer payouts …``, API routes, a demo step."""

from __future__ import annotations

from typing import Any

from tracer.hookspecs import hookimpl

from tracer_registry.ledger import migration_tree


@hookimpl
def tracer_migrations() -> list[dict[str, str]]:
    return [migration_tree()]


@hookimpl
def tracer_cli(cli: Any) -> None:
    from tracer_registry.ledger.cli import register

    register(cli)


@hookimpl
def tracer_routes(app: Any) -> None:
    from tracer_registry.console import register_payouts
    from tracer_registry.ledger.api import register

    register(app)
    register_payouts(app)


@hookimpl
def tracer_demo(settings: Any, console: Any) -> None:
    from tracer_registry.ledger.demo import run

    run(settings, console)
