"""``tracer serve``: the API on one uvicorn process (see bench/ for why one process)."""

from __future__ import annotations

import typer

from tracer.cli.context import console


def serve_app(host: str, port: int) -> None:
    import uvicorn

    from tracer.api import create_app
    from tracer.cli.context import platform

    h, store = platform()
    app = create_app(h.settings, h, store, migrate=False)
    console.print(f"Tracer API on http://{host}:{port} (docs: http://{host}:{port}/docs)")
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve(host: str = typer.Option(None, "--host", help="Default: settings.api_host "
                                       "(127.0.0.1)."),
              port: int = typer.Option(None, "--port", help="Default: settings.api_port.")
              ) -> None:
        """Serve the HTTP API (predictions with reasons, training jobs, feedback, usage)."""
        from tracer.settings import get_settings

        settings = get_settings()
        serve_app(host or settings.api_host, port or settings.api_port)
