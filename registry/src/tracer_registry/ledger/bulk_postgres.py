"""PostgreSQL fast path of bulk usage intake: COPY into a staging table, one INSERT.

The chunk is copied into a temporary table (not WAL-logged, dropped at commit), inserted
into ``usage_events`` in id order with ``ON CONFLICT (id) DO NOTHING`` (one lock order for
concurrent bulk writers, so they wait for each other instead of deadlocking), and, when
fewer rows went in than were staged, the staged hashes are compared with the stored ones
by a join. A concurrent writer's uncommitted row with the same id makes the INSERT wait
for its outcome, so the comparison always sees the row that won.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tracer_registry.ledger.bulk_sqlite import bound

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

STAGE = "ledger_usage_intake"


def insert_usage_postgres(conn: Connection, columns: tuple[str, ...],
                          rows: list[tuple]) -> tuple[int, str | None]:
    """Returns (inserted, first clashing id)."""
    raw: Any = conn.connection.driver_connection  # the DBAPI connection
    names = ", ".join(columns)
    with raw.cursor() as cursor:
        cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {STAGE} "
                       "(LIKE usage_events INCLUDING DEFAULTS) ON COMMIT DROP")
        cursor.execute(f"TRUNCATE {STAGE}")
        with cursor.copy(f"COPY {STAGE} ({names}) FROM STDIN") as copy:
            for row in bound(conn, columns, rows):
                copy.write_row(row)
        cursor.execute(f"INSERT INTO usage_events ({names}) SELECT {names} FROM {STAGE} "
                       "ORDER BY id ON CONFLICT (id) DO NOTHING")
        inserted = cursor.rowcount
        if inserted == len(rows):
            return inserted, None
        cursor.execute(f"SELECT s.id FROM {STAGE} s JOIN usage_events u ON u.id = s.id "
                       "WHERE u.payload_hash <> s.payload_hash ORDER BY s.id LIMIT 1")
        clash = cursor.fetchone()
        return inserted, clash[0] if clash else None
