"""Per-tenant telemetry: Prometheus metrics of every request, served at ``/metrics``.

One ASGI middleware times each request and counts it by route, method, status class,
tenant, domain and model version (one histogram observation and one counter increment); the
prediction service adds one call per answered request (:func:`predicted`), which counts the
rows and names the model version the middleware labels the request with. Spend so far this
period, allowance use and training runs are read from the database at scrape time
(:mod:`tracer.api.scrape`), so every worker answers a scrape with the same figures.

``tracer serve --workers N`` runs prometheus-client's multiprocess mode: the supervisor
gives the workers one directory (``PROMETHEUS_MULTIPROC_DIR``, emptied at start), each
worker writes its samples there, a scrape of any worker sums them all, and a dead worker's
files are marked dead. ``/metrics`` is for operators: an admin key, or the bearer token in
``telemetry.metrics_token``; tenants' keys get 403.

Label values are bounded: the route is its template (``/v1/domains/{domain}/predict``), an
unknown path is ``unmatched``, a domain is named only when this host loaded it, the tenant
only once its key was verified.
"""

from __future__ import annotations

import hmac
import os
import time
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Header, Request
from prometheus_client import Counter, Histogram
from starlette.responses import Response

from tracer.errors import AuthError, ForbiddenError

if TYPE_CHECKING:
    from fastapi import FastAPI
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from tracer.host import PluginHost
    from tracer.settings import Settings

#: latency buckets, seconds: fine below 100 ms where predictions answer, coarse above
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
LABELS = ("route", "method", "tenant", "domain", "model_version")

REQUESTS = Counter("tracer_http_requests", "HTTP requests answered, by status class "
                   "(code: 2xx, 4xx, 5xx)", (*LABELS, "code"))
LATENCY = Histogram("tracer_http_request_duration_seconds", "Time from the request's "
                    "arrival to its last response byte", LABELS, buckets=BUCKETS)
PREDICTIONS = Counter("tracer_predictions", "Records answered and metered (replays of an "
                      "Idempotency-Key are not counted again)",
                      ("tenant", "domain", "model_version"))

#: the request being served: [domain, model version], set by :func:`predicted`
_CURRENT: ContextVar[list[str] | None] = ContextVar("tracer_telemetry", default=None)


def predicted(tenant: str, domain: str, version: int | str, rows: int) -> None:
    """The prediction service's one call: ``rows`` records of ``domain`` answered by
    ``version`` of the tenant's model."""
    PREDICTIONS.labels(tenant, domain, str(version)).inc(rows)
    current = _CURRENT.get()
    if current is not None:
        current[0], current[1] = domain, str(version)


class Telemetry:
    """The ASGI middleware: one timing and two metric updates per HTTP request."""

    def __init__(self, app: ASGIApp, host: PluginHost) -> None:
        self.app, self.host = app, host

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = [500]
        current = ["", ""]
        token = _CURRENT.set(current)
        state = scope.setdefault("state", {})

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            _CURRENT.reset(token)
            self._record(scope, state, current, status[0], time.perf_counter() - start)

    def _record(self, scope: Scope, state: dict[str, Any], current: list[str], status: int,
                seconds: float) -> None:
        template = getattr(scope.get("route"), "path", None)
        if template is None:  # a plain Starlette route (/openapi.json, /docs): its own path
            matched = "endpoint" in scope and not scope.get("path_params")
            template = scope["path"] if matched and len(scope["path"]) <= 64 else "unmatched"
        principal = state.get("principal")
        tenant = (getattr(principal, "tenant_id", None) or "") if principal else ""
        domain = current[0]
        if not domain:
            named = (scope.get("path_params") or {}).get("domain")
            domain = named if named in self.host.domains else ""
        labels = (template, scope["method"], tenant, domain, current[1])
        LATENCY.labels(*labels).observe(seconds)
        REQUESTS.labels(*labels, f"{status // 100}xx").inc()


def check_reader(settings: Settings, authorization: str | None) -> None:
    """Who may read ``/metrics``: an admin key, or ``Bearer <telemetry.metrics_token>``."""
    from tracer.api.auth import verify_key

    scheme, _, presented = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not presented:
        raise AuthError("/metrics needs an admin key or the metrics token "
                        "(Authorization: Bearer …)")
    token = settings.telemetry.metrics_token
    if token and hmac.compare_digest(presented.encode(), token.encode()):
        return
    principal = verify_key(settings, presented)  # 401 for anything else
    if principal.role != "admin":
        raise ForbiddenError("/metrics is for operators: an admin key or the metrics token",
                             required=["admin"])


def multiprocess_dir() -> str | None:
    """The directory of multiprocess mode, when the supervisor set one up."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


router = APIRouter()


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request, authorization: str | None = Header(None)) -> Response:
    """The Prometheus exposition of this platform (every worker's samples)."""
    from tracer.api.scrape import exposition

    settings = request.app.state.settings
    check_reader(settings, authorization)
    body, content_type = exposition(settings)
    return Response(body, media_type=content_type)


def install(app: FastAPI, host: PluginHost) -> None:
    """Add the middleware and the ``/metrics`` route to ``app``."""
    app.add_middleware(Telemetry, host=host)
    app.include_router(router)
