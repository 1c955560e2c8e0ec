"""Ledger fixtures: a migrated platform database on SQLite, and on PostgreSQL when
TRACER_TEST_POSTGRES_URL names a server (``source .ci/postgres`` starts one)."""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

NO_POSTGRES = ("PostgreSQL ledger tests need TRACER_TEST_POSTGRES_URL "
               "(run `source .ci/postgres` to start a throwaway server)")


def postgres_database(monkeypatch) -> tuple[str, object]:
    """A fresh database on the test server; returns (url, dropper)."""
    base = os.environ.get("TRACER_TEST_POSTGRES_URL")
    if not base:
        pytest.skip(NO_POSTGRES)
    name = f"ledger_{uuid.uuid4().hex[:16]}"
    admin = create_engine(make_url(base).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(base).set(database=name).render_as_string(hide_password=False)

    def drop() -> None:
        from tracer.db import engine_for

        engine_for(url).dispose()
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url, drop


def migrated(settings):
    from tracer import db
    from tracer_registry.ledger import migration_tree

    db.upgrade(settings, extra=[migration_tree()])
    return settings


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def ledger_db(request, settings, monkeypatch):
    """Settings whose platform database has the core and ledger tables (both engines)."""
    if request.param == "sqlite":
        yield migrated(settings)
        return
    from tracer import settings as settings_module

    url, drop = postgres_database(monkeypatch)
    monkeypatch.setenv("TRACER_DATABASE_URL", url)
    settings_module.reset_settings()
    try:
        yield migrated(settings_module.get_settings())
    finally:
        drop()


@pytest.fixture
def sqlite_ledger(settings):
    return migrated(settings)
