"""The registry's, certification's and the ledger's commands are module-level Typer apps the
``tracer_cli`` hooks mount: each command appears once, however often the CLI is built."""

import typer
from tracer.cli import build_app


def test_every_command_is_mounted_once_however_often_the_cli_is_built(settings):
    from tracer_registry import cli as registry_cli
    from tracer_registry.certify import cli as certify_cli
    from tracer_registry.ledger import billing_cli
    from tracer_registry.ledger import cli as payouts_cli

    build_app()
    command = typer.main.get_command(build_app())
    for app in (registry_cli.app, certify_cli.app, payouts_cli.app, billing_cli.app):
        names = [c.name for c in app.registered_commands]
        assert len(names) == len(set(names)), names
    assert {"publish", "install", "yank", "catalog", "publisher", "certify", "review",
            "payouts", "invoices", "payments"} <= set(command.commands)
    assert "admin" in command.commands["payouts"].commands
    assert "record" in command.commands["payments"].commands
    assert {"search", "show"} <= set(command.commands["catalog"].commands)
