"""SQLite fast path of bulk usage intake: executemany on the raw connection.

The usage table has a primary key and three secondary indexes; a 50,000-event chunk
touches pages all over them. Two connection settings, only for the bulk connection and
restored afterwards, keep that cheap:

- ``cache_size`` 256 MiB instead of SQLite's 2 MiB: the indexes being written stay in
  memory instead of being re-read from the file for every chunk.
- ``wal_autocheckpoint`` 100,000 pages instead of 1,000: the chunks' pages are copied
  from the WAL into the database once, at the end, instead of after every chunk.

Durability is untouched: ``synchronous`` stays what the platform set (FULL), so every
committed chunk is on disk when ``ingest_many`` moves on (one WAL fsync per chunk, about
twenty per million events; NORMAL would save those and give up power-loss durability of
acknowledged chunks for no measurable gain at this chunk size). Neither setting changes
what a commit means.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from tracer.models import UsageEvent

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sqlalchemy.engine import Connection

BULK_CACHE_KIB = 256 * 1024
BULK_WAL_PAGES = 100_000


@contextmanager
def tuned_for_bulk(conn: Connection) -> Iterator[None]:
    """SQLite: a big page cache and late WAL checkpoints for this connection, restored
    afterwards (then one checkpoint). Other engines: nothing."""
    if conn.dialect.name != "sqlite":
        yield
        return
    raw: Any = conn.connection.driver_connection  # the DBAPI connection
    cache = raw.execute("PRAGMA cache_size").fetchone()[0]
    pages = raw.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
    raw.execute(f"PRAGMA cache_size=-{BULK_CACHE_KIB}")
    raw.execute(f"PRAGMA wal_autocheckpoint={BULK_WAL_PAGES}")
    try:
        yield
    finally:
        raw.execute(f"PRAGMA cache_size={int(cache)}")
        raw.execute(f"PRAGMA wal_autocheckpoint={int(pages)}")
        # PASSIVE never waits for readers; whatever it cannot copy now the next one will
        raw.execute("PRAGMA wal_checkpoint(PASSIVE)")


def bound(conn: Connection, columns: tuple[str, ...], rows: list[tuple]) -> list[tuple]:
    """The rows as the ORM would bind them (SQLAlchemy's own datetime and JSON formats),
    so bulk-written and ORM-written events compare and sort alike."""
    table = UsageEvent.__table__
    dialect = conn.dialect
    procs = []
    for i, name in enumerate(columns):
        proc = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        if proc is None:
            continue
        if name == "recorded_at":  # one value per call: convert it once
            proc = _memo(proc)
        elif name == "attrs":  # almost always empty
            proc = _empty_or(proc)
        procs.append((i, proc))
    if not procs:
        return rows
    out = []
    for row in rows:
        values = list(row)
        for i, proc in procs:
            values[i] = proc(values[i])
        out.append(tuple(values))
    return out


def _memo(proc):
    seen: dict = {}

    def convert(value):
        if value not in seen:
            seen[value] = proc(value)
        return seen[value]

    return convert


def _empty_or(proc):
    empty = proc({})

    def convert(value):
        return proc(value) if value else empty

    return convert


def insert_usage_sqlite(conn: Connection, columns: tuple[str, ...],
                        rows: list[tuple]) -> tuple[int, str | None]:
    """INSERT … ON CONFLICT DO NOTHING through executemany; then, if some ids were already
    there, compare their stored payload hashes. Returns (inserted, first clashing id)."""
    raw: Any = conn.connection.driver_connection  # the DBAPI connection
    cursor = raw.cursor()
    marks = ", ".join("?" for _ in columns)
    cursor.executemany(f"INSERT INTO usage_events ({', '.join(columns)}) VALUES ({marks}) "
                       "ON CONFLICT (id) DO NOTHING", bound(conn, columns, rows))
    inserted = cursor.rowcount
    if inserted == len(rows):
        return inserted, None  # nothing was there before: no payload to compare
    digest_at = columns.index("payload_hash")
    wanted = {row[0]: row[digest_at] for row in rows}
    ids = list(wanted)
    for start in range(0, len(ids), 5000):
        part = ids[start:start + 5000]
        cursor.execute("SELECT id, payload_hash FROM usage_events WHERE id IN "
                       f"({', '.join('?' for _ in part)}) ORDER BY id", part)
        for event_id, stored in cursor.fetchall():
            if stored != wanted[event_id]:
                return inserted, event_id
    return inserted, None
