"""Domains as tools for AI agents: the Model Context Protocol endpoint at ``/mcp``.

``mount(app)`` adds it to the FastAPI app ``tracer serve`` runs (same process, same port,
same keys, same prediction service): see :mod:`tracer.api.mcp.server`.
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = ["mount"]


def mount(app: FastAPI) -> None:
    """Serve ``/mcp`` from ``app``, its transport running within the app's lifespan."""
    from tracer.api.mcp.server import PATH, McpEndpoint

    endpoint = McpEndpoint(app.state.platform)
    app.state.mcp = endpoint
    # an ASGI app, not a request handler: Starlette's Route serves a non-function endpoint
    # as one (its stubs type only the function form)
    app.router.add_route(PATH, endpoint, methods=["GET", "POST", "DELETE"],  # type: ignore[arg-type]
                         include_in_schema=False)
    outer = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(a: Any) -> Any:
        async with outer(a) as state, endpoint.running():
            yield state

    app.router.lifespan_context = lifespan
