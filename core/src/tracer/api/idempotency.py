"""``Idempotency-Key``: a retried POST gets the first answer, and nothing happens twice.

The key is claimed in the same transaction as the act it protects (the prediction rows and
their usage event, the install, the job), so either both commit or neither does. A retry
with the same key and the same body replays the stored answer; the same key with a
different body is a 409 (the client reused a key by mistake). Keys are per tenant.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from tracer import tenancy  # noqa: F401 -- registers the tenants table our keys name
from tracer.db import Base, utcnow
from tracer.errors import ConflictError, ValidationError

MAX_KEY_LENGTH = 200
T = TypeVar("T")


class IdempotentRequest(Base):
    __tablename__ = "idempotency_keys"

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH), primary_key=True)
    route: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


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


def replay(s: Session, tenant_id: str, key: str | None, route: str, digest: str
           ) -> IdempotentRequest | None:
    """The stored answer for a retried request, or None when the key is new."""
    if key is None:
        return None
    row = s.get(IdempotentRequest, (tenant_id, key))
    if row is None:
        return None
    if row.route != route or row.request_hash != digest:
        raise ConflictError("this Idempotency-Key was used with a different request; use a "
                            "new key for a new request", field="Idempotency-Key")
    return row


def remember(s: Session, tenant_id: str, key: str | None, route: str, digest: str,
             status_code: int, response: dict[str, Any]) -> None:
    if key is None:
        return
    s.add(IdempotentRequest(tenant_id=tenant_id, key=key, route=route, request_hash=digest,
                            status_code=status_code, response=response))
    s.flush()


def settled(act: Callable[[], T]) -> T:
    """Run a keyed write; if a concurrent request committed the same key (or the same rows)
    first, the unique constraint refuses ours and the transaction rolls back whole: run it
    once more, and it now finds the first request's stored answer (or its rows) and
    answers from them, as any later retry would."""
    try:
        return act()
    except IntegrityError:
        return act()
