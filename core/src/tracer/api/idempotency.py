"""``Idempotency-Key``: a retried POST gets the first answer, and nothing happens twice.

The key is claimed in the same transaction as the act it protects (the prediction rows and
their usage event, the install, the job), so either both commit or neither does. A retry
with the same key and the same body replays the stored answer; the same key with a
different body is a 409 (the client reused a key by mistake). Keys are per tenant.

Every idempotent route but predict goes through :func:`once`; predict claims its keys in
the group-commit writer (``tracer.api.group_commit``), with the same ``replay`` and
``remember``. A retry that arrives while the first request is still running waits for it
(SQLite: the write transaction is taken at its start; PostgreSQL: the second insert of the
key waits for the first transaction) and gets the first answer, not an error.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.exc import IntegrityError, OperationalError

from tracer.db import session
from tracer.errors import ConflictError, ValidationError
from tracer.models import MAX_KEY_LENGTH, IdempotentRequest

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.engine import Connection, Row
    from sqlalchemy.orm import Session

    from tracer.settings import Settings


def request_hash(route: str, body: Any) -> str:
    text = json.dumps([route, body], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def check_key(key: str | None) -> str | None:
    if key is None:
        return None
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise ValidationError(f"Idempotency-Key must be 1–{MAX_KEY_LENGTH} printable "
                              "characters", field="Idempotency-Key")
    return key


_KEYS = cast("Table", IdempotentRequest.__table__)
#: built once: a statement built per call cost more than the database's answer to it
_STORED = select(_KEYS.c.route, _KEYS.c.request_hash, _KEYS.c.status_code,
                 _KEYS.c.response).where(_KEYS.c.tenant_id == bindparam("tenant"),
                                         _KEYS.c.key == bindparam("key"))


def replay(s: Session | Connection, tenant_id: str, key: str | None, route: str, digest: str
           ) -> Row[Any, Any, Any, Any] | None:
    """The stored answer for a retried request (its ``status_code`` and ``response``), or
    None when the key is new; in a session or a Core connection (the prediction writer)."""
    if key is None:
        return None
    row = s.execute(_STORED, {"tenant": tenant_id, "key": key}).first()
    if row is None:
        return None
    if row.route != route or row.request_hash != digest:
        raise ConflictError("this Idempotency-Key was used with a different request; use a "
                            "new key for a new request", field="Idempotency-Key")
    return row


def remember(s: Session, tenant_id: str, key: str | None, route: str, digest: str,
             status_code: int, response: dict[str, Any], flush: bool = True) -> None:
    """Store the first answer for ``key`` (``flush=False``: at the caller's next flush)."""
    if key is None:
        return
    s.add(IdempotentRequest(tenant_id=tenant_id, key=key, route=route, request_hash=digest,
                            status_code=status_code, response=response))
    if flush:
        s.flush()


@dataclass(frozen=True)
class Answer:
    """What :func:`once` answers: the status and body, and whether they were replayed
    (a replay must not repeat what followed the first answer: a launch, an announcement)."""

    status_code: int
    body: dict[str, Any]
    replayed: bool


def once(settings: Settings, tenant_id: str, key: str | None, route: str, request: Any,
         act: Callable[[Session], tuple[int, dict[str, Any]]]) -> Answer:
    """Run ``act`` (in a write transaction, returning its status and JSON body) at most once
    per ``(tenant, key)``; a retry, concurrent or later, gets the first answer.

    ``request`` is what identifies the request besides ``route`` (its JSON body): the same
    key with another request is a 409. Without a key, ``act`` simply runs.
    """
    digest = request_hash(route, request)
    try:
        with session(settings, write=True) as s:
            stored = replay(s, tenant_id, key, route, digest)
            if stored is not None:
                return Answer(stored.status_code, stored.response, replayed=True)
            status_code, body = act(s)
            remember(s, tenant_id, key, route, digest, status_code, body)
    except (IntegrityError, OperationalError, ConflictError):
        # a concurrent request with this key committed first (its insert of the key, or of
        # what the act writes, beat ours; or the act refused because of what it wrote, e.g.
        # "a job is already active" under READ COMMITTED): answer with what it answered
        if key is None:
            raise
        with session(settings) as s:
            stored = replay(s, tenant_id, key, route, digest)
        if stored is None:
            raise
        return Answer(stored.status_code, stored.response, replayed=True)
    return Answer(status_code, body, replayed=False)
