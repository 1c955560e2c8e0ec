"""Ledger fixtures: a migrated platform database on SQLite, and on PostgreSQL when
TRACER_TEST_POSTGRES_URL names a server (``source .ci/postgres`` starts one)."""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parents[2]
NO_POSTGRES = ("PostgreSQL ledger tests need TRACER_TEST_POSTGRES_URL "
               "(run `source .ci/postgres` to start a throwaway server)")


def migrated(settings):
    from tracer import db
    from tracer_registry.ledger import migration_tree

    db.upgrade(settings, extra=[migration_tree()])
    return settings


@contextmanager
def database(engine: str, home):
    """Settings for a fresh, migrated database of ``engine`` (sqlite | postgres)."""
    from tracer.settings import Settings

    home.mkdir(parents=True, exist_ok=True)
    if engine == "sqlite":
        yield migrated(Settings(home=home, database_url=f"sqlite:///{home.resolve()}/t.db"))
        return
    base = os.environ.get("TRACER_TEST_POSTGRES_URL")
    if not base:
        pytest.skip(NO_POSTGRES)
    name = f"ledger_{uuid.uuid4().hex[:16]}"
    admin = create_engine(make_url(base).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    try:
        yield migrated(Settings(home=home, database_url=url))
    finally:
        from tracer.db import engine_for

        engine_for(url).dispose()
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def engine_of(settings) -> str:
    return "postgres" if settings.platform_db_url.startswith("postgresql") else "sqlite"


@contextmanager
def fresh_database(settings, home):
    """Another fresh database on the same engine as ``settings``."""
    with database(engine_of(settings), home) as other:
        yield other


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def ledger_db(request, settings):
    """Settings whose platform database has the core and ledger tables (both engines)."""
    with database(request.param, settings.home) as migrated_settings:
        yield migrated_settings
