"""The Tracer HTTP API (FastAPI): tenants call it for predictions with reasons.

``create_app()`` builds the app; ``tracer serve`` runs it with uvicorn. Plugins add routes
through ``tracer_routes(app)`` and protect them with ``tracer.api.auth.require_roles``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI

    from tracer.host import PluginHost
    from tracer.settings import Settings
    from tracer.tracking import ModelStore

__all__ = ["create_app"]


def create_app(settings: Settings | None = None, host: PluginHost | None = None,
               store: ModelStore | None = None, *, migrate: bool = True) -> FastAPI:
    """``tracer.api.app.create_app``, imported when called: importing ``tracer.api.auth``
    (as every route module does) then never imports the app and its routes first."""
    from tracer.api.app import create_app as _create_app

    return _create_app(settings, host, store, migrate=migrate)
