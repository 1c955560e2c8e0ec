"""A live Tracer server on 127.0.0.1 (uvicorn, SQLite, MLflow in a temp dir) with real LoL
champions, trained once for the package, and the MCP SDK's own client talking Streamable HTTP
to it."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator
    from pathlib import Path

    import pandas as pd

LOL = "esports/lol-10min"
TOOL = "predict_esports_lol-10min"


@dataclass
class Live:
    url: str  # the server's base URL
    settings: Any
    host: Any
    store: Any
    app: Any
    alpha: str = ""  # keys of the two tenants with champions (the ``live`` fixture)
    bravo: str = ""
    reference: Any = None  # the LoL reference games

    @property
    def mcp(self) -> str:
        return f"{self.url}/mcp"

    def key(self, tenant: str, tier: str = "professional", role: str = "tenant") -> tuple[str, str]:
        """A new key (plaintext, id) for ``tenant`` (created when new)."""
        from tracer import models, tenancy
        from tracer.db import session

        with session(self.settings) as s:
            if role == "tenant" and s.get(models.Tenant, tenant) is None:
                tenancy.create_tenant(s, tenant, tenant.title(), tier, self.settings.tiers)
            row, plaintext = tenancy.issue_key(s, role, tenant_id=tenant if role == "tenant"
                                               else None, subject=tenant)
            return plaintext, row.id

    def rest(self, key: str | None):
        import httpx

        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=120)

    def enable(self, key: str, domain: str = LOL) -> None:
        with self.rest(key) as http:
            assert http.post(f"/v1/domains/{domain}/install").status_code == 201
            assert http.post(f"/v1/domains/{domain}/enable").status_code == 200

    def train(self, tenant: str, frame: pd.DataFrame, candidates: list[str] | None = None):
        from tracer import lifecycle

        params = {"candidates": candidates} if candidates else None
        return lifecycle.train(self.host, self.store, LOL, data=frame, tenant=tenant,
                               params=params)


@contextmanager
def live_server(home: Path) -> Iterator[Live]:
    """Settings in ``home``, the app ``tracer serve`` runs, uvicorn on a free loopback port."""
    import uvicorn
    from tracer.api import create_app
    from tracer.cli import context
    from tracer.host import PluginHost
    from tracer.settings import get_settings, reset_settings
    from tracer.tracking import ModelStore

    patch = pytest.MonkeyPatch()
    for name in list(os.environ):
        if name.startswith("TRACER_") and name != "TRACER_TEST_POSTGRES_URL":
            patch.delenv(name)
    patch.setenv("TRACER_HOME", str(home))
    patch.setenv("TRACER_TRAINING__BOOTSTRAP_SAMPLES", "100")
    reset_settings()
    context.reset()
    settings = get_settings()
    settings.ensure_home()
    host = PluginHost(settings)
    store = ModelStore(settings)
    app = create_app(settings, host, store)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                                           lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True, name="mcp-test-server")
    thread.start()
    for _ in range(600):  # bounded by count: at most 600 polls
        if server.started or not thread.is_alive():
            break
        time.sleep(0.05)
    assert server.started, "the test server did not start"
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield Live(f"http://127.0.0.1:{port}", settings, host, store, app)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        patch.undo()
        reset_settings()
        context.reset()


@asynccontextmanager
async def connect(url: str, key: str | None, mode: str = "auto") -> AsyncIterator[Any]:
    """The SDK's client over Streamable HTTP, the key as bearer token."""
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    headers = {"Authorization": f"Bearer {key}"} if key else {}
    async with httpx2.AsyncClient(headers=headers, timeout=120) as http, Client(
            streamable_http_client(url, http_client=http), mode=mode) as client:
        yield client


def call(url: str, key: str | None, *steps: tuple[str, dict[str, Any]], mode: str = "auto"
         ) -> list[Any]:
    """Call tools in one client session; a step ``("tools/list", {})`` lists the tools."""

    async def run() -> list[Any]:
        async with connect(url, key, mode) as client:
            out = []
            for name, arguments in steps:
                if name == "tools/list":
                    out.append((await client.list_tools()).tools)
                else:
                    out.append(await client.call_tool(name, arguments))
            return out

    return asyncio.run(run())


def records_of(frame: pd.DataFrame) -> list[dict]:
    return frame.drop(columns=["blueWins"]).to_dict(orient="records")


@pytest.fixture(scope="package")
def lol_reference() -> pd.DataFrame:
    from tracer_esports.lol import load_reference

    return load_reference()


@pytest.fixture(scope="package")
def live(tmp_path_factory, lol_reference) -> Iterator[Live]:
    """One server for tests/mcp, trained once: tenant alpha's champion is a booster, bravo's
    a linear model (both on the first 600 reference games)."""
    with live_server(tmp_path_factory.mktemp("mcp") / "tracer-home") as server:
        server.reference = lol_reference
        server.alpha, _ = server.key("alpha")
        server.bravo, _ = server.key("bravo")
        for key in (server.alpha, server.bravo):
            server.enable(key)
        frame = lol_reference.head(600)
        server.train("alpha", frame, ["small XGBoost"])
        server.train("bravo", frame, ["logistic regression C=1"])
        yield server
