"""The one database session factory, and migrations for every store that shares it.

SQLite (the embedded default) and PostgreSQL run the same SQLAlchemy 2 models (every core
table is in ``tracer.models``) and the same Alembic migrations. Plugins (the registry) bring
their own migration trees through ``tracer_migrations``, each with its own version table, so
core never imports them.
"""

from __future__ import annotations

import contextlib
import os
import threading
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from tracer.settings import Settings, get_settings

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: the thread lock alone
    fcntl = None  # type: ignore[assignment]  # the module or None: checked before use

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sqlalchemy import Result
    from sqlalchemy.engine import Connection, CursorResult, Engine
    from sqlalchemy.engine.interfaces import DBAPIConnection
    from sqlalchemy.pool import ConnectionPoolEntry

    from tracer.hookspecs import MigrationTree

MIGRATIONS = Path(__file__).parent / "migrations"


def utcnow() -> datetime:
    return datetime.now(UTC)


@lru_cache(maxsize=8)
def engine_for(url: str, synchronous: str = "FULL") -> Engine:
    if url.startswith("sqlite"):
        path = url.removeprefix("sqlite:///")
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: DBAPIConnection,
                            _record: ConnectionPoolEntry) -> None:  # pragma: no cover
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute(f"PRAGMA synchronous={synchronous}")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


@lru_cache(maxsize=8)
def _factory(url: str, synchronous: str = "FULL") -> sessionmaker[Session]:
    return sessionmaker(engine_for(url, synchronous), expire_on_commit=False)


class _SqliteWriter:
    """The one write transaction at a time of every process on one SQLite file.

    A thread lock queues this process's writers; an ``flock`` on ``<db>.write-lock`` queues
    the processes (``tracer serve --workers N``). Both block in the kernel and wake the
    next writer the moment the lock is released, where SQLite's own busy handler, the only
    other arbiter between processes, sleeps in steps of up to 100 ms: with two workers those
    sleeps made a p99 of seconds.
    """

    def __init__(self, url: str) -> None:
        path = url.removeprefix("sqlite:///").split("?")[0] if url.startswith(
            "sqlite:///") else ""
        self.path, self.lock, self.fd = path, threading.Lock(), -1

    def _open(self) -> None:
        self.fd = -2  # no file lock (in-memory database, no fcntl, unwritable directory)
        if self.path and self.path != ":memory:" and fcntl is not None:
            with contextlib.suppress(OSError):
                self.fd = os.open(self.path + ".write-lock", os.O_RDWR | os.O_CREAT, 0o600)

    def __enter__(self) -> None:
        self.lock.acquire()
        try:
            if self.fd == -1:
                self._open()
            if self.fd >= 0:
                fcntl.flock(self.fd, fcntl.LOCK_EX)
        except BaseException:
            self.lock.release()
            raise

    def __exit__(self, *_exc: object) -> None:
        try:
            if self.fd >= 0:
                fcntl.flock(self.fd, fcntl.LOCK_UN)
        finally:
            self.lock.release()


_SQLITE_WRITERS: dict[str, _SqliteWriter] = {}


def _write_lock(url: str, write: bool) -> contextlib.AbstractContextManager[Any]:
    if not (write and url.startswith("sqlite")):
        return contextlib.nullcontext()
    return _SQLITE_WRITERS.get(url) or _SQLITE_WRITERS.setdefault(url, _SqliteWriter(url))


@contextmanager
def connection(settings: Settings | None = None, *, write: bool = False
               ) -> Iterator[Connection]:
    """As :func:`session`, a Core connection in a transaction: for the prediction writer,
    whose few fixed statements cost less than an ORM session's unit of work around them
    (a session's own bookkeeping was most of a one-row commit's CPU)."""
    settings = settings or get_settings()
    url = settings.platform_db_url
    with _write_lock(url, write), engine_for(url, settings.sqlite_synchronous).begin() as c:
        if write and url.startswith("sqlite"):
            c.exec_driver_sql("BEGIN IMMEDIATE")  # as in session(): the lock taken first
        yield c


@contextmanager
def session(settings: Settings | None = None, *, write: bool = False) -> Iterator[Session]:
    """A transaction: committed when the block ends, rolled back if it raises.

    ``write=True`` marks a hot write path. On SQLite, which admits one writer at a time,
    such transactions of every process on the file queue on one lock (:class:`_SqliteWriter`)
    instead of colliding inside SQLite, whose busy handler sleeps in steps of 1 to 100 ms:
    under concurrent requests that sleeping, not the work, made the tail.
    """
    settings = settings or get_settings()
    url = settings.platform_db_url
    sqlite_write = write and url.startswith("sqlite")
    with _write_lock(url, write), _factory(url, settings.sqlite_synchronous).begin() as s:
        if sqlite_write:
            # take the write lock now, not at the first write: a read-then-write transaction
            # of another process (an allowance counter) can then never act on a stale read
            s.connection().exec_driver_sql("BEGIN IMMEDIATE")
        yield s


def migration_trees(extra: list[MigrationTree] | None = None) -> list[MigrationTree]:
    return [{"script_location": str(MIGRATIONS), "version_table": "alembic_version"},
            *(extra or [])]


def upgrade(settings: Settings | None = None, extra: list[MigrationTree] | None = None) -> None:
    """Bring the platform database (core tables and plugin trees) to the newest revision."""
    from alembic import command
    from alembic.config import Config

    settings = settings or get_settings()
    settings.ensure_home()
    engine = engine_for(settings.platform_db_url, settings.sqlite_synchronous)
    for tree in migration_trees(extra):
        config = Config()
        config.set_main_option("script_location", tree["script_location"])
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            config.attributes["version_table"] = tree["version_table"]
            command.upgrade(config, "head")


def rows_changed(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE statement matched. ``Session.execute`` is typed to
    return a plain ``Result``; for a DML statement without RETURNING it is a
    ``CursorResult``, the class that carries ``rowcount``."""
    return cast("CursorResult[Any]", result).rowcount
