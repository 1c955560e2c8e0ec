"""Usage intake for the ledger: recording producers' events, one at a time or in bulk.

Both paths write the one usage table of core (``tracer.usage``), idempotent by the
producer's event id: the same id with the same payload is a no-op, with a different payload
an error. ``ingest`` is what a producer's retry loop calls. ``ingest_many`` is for imports
and the benchmark: events are checked in Python first (fields, tenants, the same id twice
in the input), then written in chunks, one database transaction per chunk, each chunk
inserted with ``ON CONFLICT DO NOTHING`` and, when some ids were already there, their
stored payload hashes compared in bulk. A chunk whose ids clash rolls back whole, so a
crash or a refused chunk leaves every chunk either fully recorded or not at all, and
replaying the same input records each missing event once. The fast paths are per engine
(``bulk_sqlite``: executemany on the raw connection; ``bulk_postgres``: COPY into a
staging table, then one INSERT … SELECT).
"""

from __future__ import annotations

import hashlib
import random
import time
from datetime import UTC, datetime
from json.encoder import encode_basestring_ascii
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from tracer.db import engine_for, utcnow
from tracer.errors import ConflictError, NotFoundError, ValidationError
from tracer.models import Tenant
from tracer.usage import KINDS, MAX_QUANTITY, instant, payload_hash, record_usage

from tracer_registry.ledger import crashpoints
from tracer_registry.ledger.bulk_postgres import insert_usage_postgres
from tracer_registry.ledger.bulk_sqlite import insert_usage_sqlite, tuned_for_bulk
from tracer_registry.ledger.concurrency import retryable, run_in_transaction

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from sqlalchemy.engine import Connection
    from sqlalchemy.orm import Session
    from tracer.settings import Settings

COLUMNS = ("id", "tenant_id", "kind", "domain", "quantity", "occurred_at", "recorded_at",
           "payload_hash", "attrs")
CHUNK = 50_000


def ingest(settings: Settings, event: dict[str, Any]) -> bool:
    """Record one usage event in its own transaction; True if it was new."""
    event = dict(event)
    event_id = event.pop("id")
    at = event.get("occurred_at")
    if isinstance(at, datetime):
        event["occurred_at"] = at.astimezone(UTC)
    created = run_in_transaction(settings, lambda s: record_usage(s, event_id, **event)[1])
    crashpoints.reached("ingest.after_commit_before_ack")
    return created


def digest(tenant_id: str, kind: str, domain: str | None, quantity: int,
           attrs: dict[str, Any] | None, occurred_at: datetime) -> str:
    """``tracer.usage.payload_hash``, without ``json.dumps`` for the common event shape.

    Byte for byte the JSON ``payload_hash`` hashes (a test pins it over arbitrary text);
    anything but plain strings, an int and empty attrs takes the general path.
    """
    if (not attrs and type(quantity) is int and type(tenant_id) is str and type(kind) is str
            and (domain is None or type(domain) is str)):
        where = "null" if domain is None else encode_basestring_ascii(domain)
        body = (f"[{encode_basestring_ascii(tenant_id)}, {encode_basestring_ascii(kind)}, "
                f"{where}, {quantity}, {{}}, \"{instant(occurred_at)}\"]")
        return hashlib.sha256(body.encode()).hexdigest()
    return payload_hash(tenant_id, kind, domain, quantity, attrs or {}, occurred_at)


def _field_error(event_id: Any, field: str, why: str) -> ValidationError:
    name = event_id if isinstance(event_id, str) and event_id else repr(event_id)
    return ValidationError(f"usage event {name}: {field} {why}", event=str(event_id),
                           field=field)


def prepare(events: Iterable[dict[str, Any]], recorded_at: datetime) -> list[tuple]:
    """Check every event and turn it into a row (``COLUMNS``), sorted by id.

    Sorting gives concurrent bulk writers one lock order (no deadlocks on PostgreSQL) and
    the primary-key index neighbouring inserts. The same id twice in the input is kept
    once when the payloads match and refused when they differ.
    """
    rows: dict[str, tuple] = {}
    for e in events:
        event_id = e.get("id")
        if type(event_id) is not str or not 0 < len(event_id) <= 128:
            raise _field_error(event_id, "id", "must be a string of 1 to 128 characters")
        tenant_id, kind, domain = e.get("tenant_id"), e.get("kind"), e.get("domain")
        quantity, at, attrs = e.get("quantity", 1), e.get("occurred_at"), e.get("attrs") or {}
        if type(tenant_id) is not str or not tenant_id:
            raise _field_error(event_id, "tenant_id", "must be a non-empty string")
        if kind not in KINDS:
            raise _field_error(event_id, "kind", f"must be one of {', '.join(KINDS)}, "
                                                 f"got {kind!r}")
        if domain is not None and type(domain) is not str:
            raise _field_error(event_id, "domain", "must be a string or absent")
        if type(quantity) is not int or not 0 <= quantity <= MAX_QUANTITY:
            raise _field_error(event_id, "quantity", f"must be a whole number in "
                                                     f"0..{MAX_QUANTITY}, got {quantity!r}")
        if not isinstance(at, datetime) or at.tzinfo is None:
            raise _field_error(event_id, "occurred_at", "must be a timezone-aware datetime")
        if at.tzinfo is not UTC:
            at = at.astimezone(UTC)
        if type(attrs) is not dict:
            raise _field_error(event_id, "attrs", "must be an object")
        row = (event_id, tenant_id, kind, domain, quantity, at, recorded_at,
               digest(tenant_id, kind, domain, quantity, attrs, at), attrs)
        seen = rows.setdefault(event_id, row)
        if seen[7] != row[7]:
            raise ConflictError(f"usage event {event_id} appears twice in the input with "
                                "different payloads", event=event_id)
    return sorted(rows.values())  # ids are unique: tuples compare by id alone


def _check_tenants(conn: Connection, rows: list[tuple]) -> None:
    wanted = sorted({r[1] for r in rows})
    known: set[str] = set()
    for start in range(0, len(wanted), 5000):
        known.update(conn.scalars(select(Tenant.id).where(Tenant.id.in_(
            wanted[start:start + 5000]))))
    for row in rows:
        if row[1] not in known:
            raise NotFoundError(f"usage event {row[0]}: tenant {row[1]!r} does not exist",
                                event=row[0])


def write_rows(conn: Connection, rows: list[tuple]) -> int:
    """Insert prepared rows in the connection's transaction; returns how many were new.

    Raises ``ConflictError`` (the caller rolls back) when an id is already recorded with a
    different payload.
    """
    if not rows:
        return 0
    _check_tenants(conn, rows)
    if conn.dialect.name == "postgresql":
        inserted, clash = insert_usage_postgres(conn, COLUMNS, rows)
    else:
        inserted, clash = insert_usage_sqlite(conn, COLUMNS, rows)
    if clash is not None:
        raise ConflictError(f"usage event {clash} was already recorded with a different "
                            "payload", event=clash)
    return inserted


def ingest_bulk(s: Session, events: list[dict[str, Any]],
                recorded_at: datetime | None = None) -> int:
    """Record many usage events in the caller's transaction; returns how many were new."""
    return write_rows(s.connection(), prepare(events, recorded_at or utcnow()))


def ingest_many(settings: Settings, events: Iterable[dict[str, Any]], *,
                chunk: int = CHUNK, recorded_at: datetime | None = None,
                progress: Callable[[int, int], None] | None = None,
                attempts: int = 50) -> int:
    """Record many usage events, one transaction per ``chunk``; returns how many were new.

    Every event is checked before anything is written, so bad input changes nothing. A
    payload clash with an already recorded id refuses its chunk (earlier chunks stay: they
    were valid and a replay skips them). ``progress(inserted, done)`` runs after each
    committed chunk.
    """
    rows = prepare(events, recorded_at or utcnow())
    engine = engine_for(settings.platform_db_url)
    inserted = 0
    with engine.connect() as conn, tuned_for_bulk(conn):
        for start in range(0, len(rows), chunk):
            part = rows[start:start + chunk]
            inserted += _chunk_with_retries(conn, part, attempts)
            if progress is not None:
                progress(inserted, start + len(part))
    return inserted


def _chunk_with_retries(conn: Connection, rows: list[tuple], attempts: int) -> int:
    for attempt in range(1, attempts + 1):
        try:
            with conn.begin():
                return write_rows(conn, rows)
        except DBAPIError as error:
            if attempt == attempts or not retryable(error):
                raise
            time.sleep(min(0.5, 0.005 * attempt) * random.random())
    raise AssertionError("unreachable")
