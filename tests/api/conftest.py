"""API fixtures: a real app (SQLite, MLflow store in tmp, workspace plugins) behind
FastAPI's TestClient, tenants with keys, and small LoL champions trained in-process."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    import pandas as pd

LOL = "esports/lol-10min"


@dataclass
class Caller:
    tenant: str | None
    key: str
    key_id: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def settings(request, settings):
    """Every API test runs on SQLite and, when TRACER_TEST_POSTGRES_URL names a server
    (``source .ci/postgres`` starts one), again on a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield settings
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = os.environ.get("TRACER_TEST_POSTGRES_URL")
    if not base:
        pytest.skip("PostgreSQL API tests need TRACER_TEST_POSTGRES_URL "
                    "(run `source .ci/postgres` to start a throwaway server)")
    name = f"api_{uuid.uuid4().hex[:16]}"
    admin = create_engine(make_url(base).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    settings.database_url = url
    try:
        yield settings
    finally:
        from tracer.db import engine_for

        engine_for(url).dispose()
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def app(host, store):
    from tracer.api import create_app

    return create_app(store.settings, host, store)


@pytest.fixture
def client(app):
    from fastapi.testclient import TestClient

    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def make_caller(store):
    from tracer import models, tenancy
    from tracer.db import session

    def make(tenant: str | None = None, role: str = "tenant", tier: str = "professional"
             ) -> Caller:
        with session(store.settings) as s:
            if tenant is not None and s.get(models.Tenant, tenant) is None:
                tenancy.create_tenant(s, tenant, tenant.title(), tier, store.settings.tiers)
            key, plaintext = tenancy.issue_key(s, role, tenant_id=tenant,
                                               subject=tenant or f"{role}-person")
            return Caller(tenant, plaintext, key.id)

    return make


@pytest.fixture(scope="session")
def lol_reference() -> pd.DataFrame:
    from tracer_esports.lol import load_reference

    return load_reference()


def enable(client, caller: Caller, domain: str = LOL) -> None:
    assert client.post(f"/v1/domains/{domain}/install", headers=caller.headers).status_code == 201
    assert client.post(f"/v1/domains/{domain}/enable", headers=caller.headers).status_code == 200


def train_champion(host, store, tenant: str, frame: pd.DataFrame, params=None):
    from tracer import lifecycle

    return lifecycle.train(host, store, LOL, data=frame, tenant=tenant, params=params)


def records_of(frame: pd.DataFrame) -> list[dict]:
    return frame.drop(columns=["blueWins"]).to_dict(orient="records")


def api_routes(app):
    """(path, methods, dependant) of every API route, plugin routes included.

    FastAPI keeps included routers lazily (``_IncludedRouter``); walk their effective
    route contexts to see each route with its full path.
    """
    from fastapi.routing import APIRoute

    for route in app.routes:
        if isinstance(route, APIRoute):
            yield route.path, set(route.methods), route.dependant
        elif hasattr(route, "effective_route_contexts"):
            for ctx in route.effective_route_contexts():
                original = ctx.original_route
                if isinstance(original, APIRoute):
                    yield ctx.path or original.path, set(original.methods), original.dependant


def wait_for_job(client, caller, job_id: str, polls: int = 1200) -> dict:
    """Poll a job until it is no longer queued or running (bounded, not timed)."""
    import time

    for _ in range(polls):
        job = client.get(f"/v1/jobs/{job_id}", headers=caller.headers).json()
        if job["status"] not in ("queued", "running"):
            return job
        time.sleep(0.25)
    raise AssertionError(f"job {job_id} still {job['status']} after {polls} polls")


def upload(client, caller, frame: pd.DataFrame, name: str = "games.csv") -> dict:
    answer = client.post(f"/v1/domains/{LOL}/datasets", headers=caller.headers,
                         files={"file": (name, frame.to_csv(index=False), "text/csv")})
    assert answer.status_code == 201, answer.text
    return answer.json()
