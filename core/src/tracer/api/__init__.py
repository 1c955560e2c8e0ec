"""The Tracer HTTP API (FastAPI): tenants call it for predictions with reasons.

``create_app()`` builds the app; ``tracer serve`` runs it with uvicorn. Plugins add routes
through ``tracer_routes(app)`` and protect them with ``tracer.api.auth.require_roles``.
"""

from __future__ import annotations

__all__ = ["create_app"]


def create_app(*args, **kwargs):
    from tracer.api.app import create_app as _create_app

    return _create_app(*args, **kwargs)
