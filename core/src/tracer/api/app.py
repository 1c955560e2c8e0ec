"""Building the FastAPI app: routes, limits, problem handlers, plugin routes, OpenAPI."""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi_offline import FastAPIOffline

from tracer import __version__
from tracer.api.champions import ChampionCache
from tracer.api.deps import Platform
from tracer.api.limits import BodyLimit
from tracer.api.problems import install_handlers
from tracer.host import PluginHost
from tracer.settings import Settings, get_settings
from tracer.tracking import ModelStore

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from fastapi import FastAPI

DESCRIPTION = """\
Predictions with their reasons, from small models built on pluggable domain templates.

**Start here (an agent can follow these steps):**
1. `GET /v1/domains`: the domains this platform serves; `GET /v1/domains/{domain}` gives the
   record schema (field names, types, bounds) a prediction needs.
2. `POST /v1/domains/{domain}/install`, then `POST /v1/domains/{domain}/enable`.
3. `POST /v1/domains/{domain}/jobs` trains your model (a job: poll `GET /v1/jobs/{id}`
   until `status` is `succeeded`).
4. `POST /v1/domains/{domain}/predict` with `{"record": {...}}` or `{"records": [...]}`:
   each answer has `probability`, `label`, `base_rate`, ranked `factors` with sentences, a
   `summary`, the model version and a `prediction_id`.
5. Later, `POST /v1/feedback` with what actually happened; see `/metrics` and `/drift`.

Authenticate every call with `Authorization: Bearer trk_…`. Send `Idempotency-Key` on POSTs
you may retry: a retry returns the first answer and is metered once. Errors are RFC 9457
problem documents (`application/problem+json`) saying what was wrong and where.
"""


def create_app(settings: Settings | None = None, host: PluginHost | None = None,
               store: ModelStore | None = None, *, migrate: bool = True) -> FastAPI:
    from tracer import db
    from tracer.api.routes import ROUTERS
    from tracer.dispatch import keep_dispatching
    from tracer.jobs import reap_orphans

    settings = settings or get_settings()
    host = host or PluginHost(settings)
    if migrate:
        db.upgrade(settings, extra=host.migration_trees())
    store = store or ModelStore(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        reap_orphans(settings)
        stop = host.watch()  # revocations written by any process reach this server
        dispatching = keep_dispatching(settings)  # queued jobs start, orphans fail
        sweeper = _app.state.platform.champions.watch()  # alias moves made elsewhere too
        try:
            yield
        finally:
            dispatching.set()
            stop.set()
            sweeper.set()
            host.pool.kill() if host._pool is not None else None

    app = FastAPIOffline(title="Tracer", version=__version__, description=DESCRIPTION,
                  lifespan=lifespan, openapi_tags=[
                      {"name": "predictions", "description": "Scores with reasons."},
                      {"name": "domains", "description": "Install, enable, inspect."},
                      {"name": "training", "description": "Datasets, jobs, models."},
                      {"name": "feedback", "description": "Outcomes, live metrics, drift, "
                       "retraining."},
                      {"name": "account", "description": "Usage, keys, plugins."},
                      {"name": "admin", "description": "Tenants and keys (admin keys)."}])
    app.state.settings = settings
    app.state.platform = Platform(settings, host, store,
                                  ChampionCache(host, store))
    install_handlers(app)
    app.add_middleware(BodyLimit, settings=settings)
    from tracer.api import telemetry

    telemetry.install(app, host)  # outermost: times every request, serves /metrics
    for router in ROUTERS:
        app.include_router(router)
    from tracer.ui import mount_console

    mount_console(app)  # /ui; before plugins' routes, which may add console pages
    host.broadcast("tracer_routes", app=app)
    from tracer.api.routes.domains import describe_router

    app.include_router(describe_router)  # last: its {domain:path} would shadow the others
    from tracer.api import mcp

    mcp.mount(app)  # domains as tools for agents: /mcp (Model Context Protocol)
    # FastAPI's documented way to extend the schema: replace the app's openapi method
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The generated schema plus every loaded domain's record schema and an example."""
    if app.openapi_schema:
        return app.openapi_schema
    from fastapi.openapi.utils import get_openapi

    schema = get_openapi(title=app.title, version=app.version, description=app.description,
                         routes=app.routes, tags=app.openapi_tags)
    host = app.state.platform.host
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    examples = {}
    for name, domain in sorted(host.domains.items()):
        key = "Record_" + name.replace("/", "_").replace("-", "_").replace(".", "_")
        record_schema = domain.record.model_json_schema(ref_template="#/components/schemas/{model}")
        for sub, definition in record_schema.pop("$defs", {}).items():
            components.setdefault(sub, definition)
        record_schema["description"] = (f"One record of {name}: {domain.title}. "
                                        + (record_schema.get("description") or ""))
        components[key] = record_schema
        examples[name] = {"summary": f"{name}: {domain.title}",
                          "description": f"Record schema: #/components/schemas/{key}"}
    predict = schema["paths"].get("/v1/domains/{domain}/predict", {}).get("post")
    if predict is not None:
        from tracer.records import example_record

        content = predict["requestBody"]["content"]["application/json"]
        content["examples"] = {}
        for name, domain in sorted(host.domains.items()):
            record = example_record(domain)
            content["examples"][f"{name}: one record"] = {
                "summary": f"One {name} record ({domain.title})", "value": {"record": record}}
            content["examples"][f"{name}: batch"] = {
                "summary": f"A batch of {name} records (at most api.max_batch_rows)",
                "value": {"records": [record, record]}}
        predict["description"] = (predict.get("description", "") + "\n\nRecord schemas of the "
                                  "loaded domains: " + ", ".join(
                                      f"`{n}` → `{e['description'].split(': ')[1]}`"
                                      for n, e in examples.items()))
    from tracer.api.openapi_errors import document_errors

    app.openapi_schema = document_errors(schema, getattr(app.state, "openapi_links", None))
    return schema
