"""Run a unit of ledger work in its own database transaction, retrying lost races.

Concurrent writers race for the same idempotency keys (a unique violation), for SQLite's one
write lock (``database is locked``) and, on PostgreSQL, into deadlocks or serialization
failures. Each unit of work is idempotent, so the answer to all of them is to roll back and
run it again: the second attempt sees the winner's rows and does nothing twice.
"""

from __future__ import annotations

import random
import time
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from tracer.db import session

from tracer_registry.ledger.errors import LedgerError

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.orm import Session
    from tracer.settings import Settings

T = TypeVar("T")
_RETRYABLE_PG = {"40001", "40P01", "23505"}  # serialization, deadlock, unique violation


def retryable(error: DBAPIError) -> bool:
    if isinstance(error, IntegrityError):
        code = getattr(error.orig, "sqlstate", None)
        return code == "23505" if code else "UNIQUE constraint" in str(error.orig)
    if isinstance(error, OperationalError):
        text = str(error.orig).lower()
        if "locked" in text or "busy" in text:
            return True
    return getattr(error.orig, "sqlstate", None) in _RETRYABLE_PG


def run_in_transaction(settings: Settings, work: Callable[[Session], T], *,
                       attempts: int = 50) -> T:
    for attempt in range(1, attempts + 1):
        try:
            with session(settings) as s:
                return work(s)
        except DBAPIError as error:
            if attempt == attempts or not retryable(error):
                if isinstance(error, IntegrityError):
                    raise LedgerError(f"the ledger refused a write: {error.orig}") from error
                raise
            time.sleep(min(0.5, 0.005 * attempt) * random.random())
    raise AssertionError("unreachable")


def write_lock(s: Session) -> None:
    """Take the lock that what this transaction reads next is checked and written under.

    PostgreSQL: nothing here (callers lock rows with ``SELECT … FOR UPDATE``). SQLite has no
    row locks and, until a transaction's first write, runs each SELECT in a snapshot of its
    own, so a replay check could read before another writer's commit and write after it:
    take the database write lock now (``BEGIN IMMEDIATE``; waits up to the busy timeout).
    """
    if s.get_bind().dialect.name != "sqlite":
        return
    raw: Any = s.connection().connection.driver_connection  # the DBAPI connection
    if not raw.in_transaction:
        raw.execute("BEGIN IMMEDIATE")
