"""Core's tables are ``tracer.models``, and the migrations build exactly them.

A database migrated to head is compared with the models the way Alembic's autogenerate
compares them (tables, columns, types, nullability, indexes, unique and foreign keys): a
table or column changed without its migration, or a migration without its model, fails here
rather than on a deployed database.
"""

from __future__ import annotations

from tests.api.conftest import settings  # noqa: F401 -- SQLite and PostgreSQL

#: SQLite's INTEGER is already 64-bit: migration 0006 widens the column on PostgreSQL only
SQLITE_ONLY = {("modify_type", "usage_events", "quantity")}


def _core_tables() -> set[str]:
    from tracer.models import Base

    return {mapper.local_table.name for mapper in Base.registry.mappers
            if mapper.class_.__module__ == "tracer.models"}


def _differences(target) -> list[tuple]:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from tracer import db
    from tracer.models import Base

    db.upgrade(target)  # core's tree only: the registry's tables are not migrated here
    core = _core_tables()

    def include(obj, name, type_, reflected, compare_to) -> bool:
        if type_ != "table":
            return True
        return name != "alembic_version" if reflected else name in core

    engine = db.engine_for(target.platform_db_url, target.sqlite_synchronous)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={
            "compare_type": True, "include_object": include})
        found = compare_metadata(context, Base.metadata)
    flat: list[tuple] = []
    for diff in found:  # column changes come grouped in lists
        flat.extend(diff if isinstance(diff, list) else [diff])
    return flat


def test_every_core_table_is_in_models():
    assert _core_tables() == {
        "tenants", "api_keys", "usage_events", "prediction_counters", "call_windows",
        "idempotency_keys", "predictions", "outcomes", "outcome_corrections", "datasets",
        "domain_installs", "training_runs", "training_jobs", "feature_profiles",
        "retraining_policies", "retraining_decisions"}


def test_the_migrations_build_exactly_the_models(settings):  # noqa: F811 -- the fixture
    differences = _differences(settings)
    if settings.platform_db_url.startswith("sqlite"):
        differences = [d for d in differences if (d[0], *d[2:4]) not in SQLITE_ONLY]
    assert differences == []
