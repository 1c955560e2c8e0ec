"""The ``tracer`` command line.

Core commands live in this package, one module per area; plugins add theirs through the
``tracer_cli`` hook. Heavy libraries (MLflow, XGBoost, scikit-learn) are imported inside
commands, so ``tracer --help`` stays fast. Every ``TracerError`` becomes a one-line
message on stderr and exit status 1.
"""

from __future__ import annotations

import sys
from typing import Any

import click
import typer

from tracer.errors import TracerError

#: modules that add core commands; each exposes ``register(app)``
CORE_COMMAND_MODULES = ("tracer.cli.lifecycle", "tracer.cli.plugins", "tracer.cli.demo",
                        "tracer.cli.serve", "tracer.cli.admin", "tracer.cli.plugin_new",
                        "tracer.cli.jobs", "tracer.cli.usage")


def build_app(load_plugins: bool = True) -> typer.Typer:
    import importlib

    app = typer.Typer(name="tracer", no_args_is_help=True, add_completion=False,
                      help="Tracer: pluggable domain templates for small predictive models "
                           "that explain themselves.")
    for name in CORE_COMMAND_MODULES:
        importlib.import_module(name).register(app)
    if load_plugins:
        from tracer.cli.context import host

        host().broadcast("tracer_cli", cli=app)
    return app


def _click_errors(name: str) -> tuple[type[Any], ...]:
    """click's exception ``name`` and the same one of the click copy newer typer vendors
    (``typer._click``): usage errors raised by either must end as a message, not a trace."""
    vendored = getattr(getattr(typer, "_click", None), "exceptions", None)
    found = [getattr(click.exceptions, name), getattr(vendored, name, None)]
    return tuple(e for e in found if isinstance(e, type))


def main(argv: list[str] | None = None) -> int:
    from rich.console import Console

    err = Console(stderr=True, highlight=False)
    try:
        command = typer.main.get_command(build_app())
        result = command.main(args=argv, prog_name="tracer", standalone_mode=False)
        return int(result or 0) if isinstance(result, int) else 0
    except TracerError as exc:
        err.print(f"[red]error:[/red] {exc}", soft_wrap=True)
        return 1
    except _click_errors("Exit") as exc:
        return int(exc.exit_code)
    except _click_errors("ClickException") as exc:
        exc.show()
        return int(exc.exit_code)
    except _click_errors("Abort"):
        err.print("aborted")
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
