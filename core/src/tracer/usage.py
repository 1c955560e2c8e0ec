"""Usage metering: the one place billable acts are recorded.

Every billable act (a predicted row, a training run, a domain install, a custom domain
deployment) writes a ``UsageEvent`` whose id is made by the producer, in the same database
transaction as the act's own record. The id is the idempotency key: writing the same id
again is a no-op when the payload matches and an error when it differs. The ledger rates
and splits this stream; nothing else writes it.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from tracer import tenancy  # noqa: F401 -- maps "tenants", which usage events reference
from tracer.db import Base, utcnow
from tracer.errors import ConflictError

KINDS = ("prediction", "training_run", "install", "custom_domain", "subscription")


class UsageEvent(Base):
    __tablename__ = "usage_events"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)  # producer-made
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    domain: Mapped[str | None] = mapped_column(String(128))
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    occurred_at: Mapped[datetime] = mapped_column(index=True)  # effective time
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    payload_hash: Mapped[str] = mapped_column(String(64))
    attrs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


def payload_hash(tenant_id: str, kind: str, domain: str | None, quantity: int,
                 attrs: dict[str, Any]) -> str:
    """What an event id stands for: the same id must always come with this same digest."""
    body = json.dumps([tenant_id, kind, domain, quantity, attrs], sort_keys=True, default=str)
    return hashlib.sha256(body.encode()).hexdigest()


def record_usage(s: Session, event_id: str, *, tenant_id: str, kind: str,
                 domain: str | None = None, quantity: int = 1,
                 occurred_at: datetime | None = None,
                 attrs: dict[str, Any] | None = None) -> tuple[UsageEvent, bool]:
    """Record a usage event in the caller's transaction; returns (event, created).

    Call it inside the same ``session()`` block that writes the billable act, so the act
    and its usage commit or roll back together.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown usage kind {kind!r}")
    attrs = attrs or {}
    digest = payload_hash(tenant_id, kind, domain, quantity, attrs)
    existing = s.get(UsageEvent, event_id)
    if existing is not None:
        if existing.payload_hash != digest:
            raise ConflictError(f"usage event {event_id} was already recorded with a different "
                                "payload", event=event_id)
        return existing, False
    event = UsageEvent(id=event_id, tenant_id=tenant_id, kind=kind, domain=domain,
                       quantity=quantity, occurred_at=occurred_at or utcnow(),
                       payload_hash=digest, attrs=attrs)
    s.add(event)
    s.flush()
    return event, True


def usage_for(s: Session, tenant_id: str, since: datetime | None = None,
              until: datetime | None = None) -> list[UsageEvent]:
    query = select(UsageEvent).where(UsageEvent.tenant_id == tenant_id)
    if since is not None:
        query = query.where(UsageEvent.occurred_at >= since)
    if until is not None:
        query = query.where(UsageEvent.occurred_at < until)
    return list(s.scalars(query.order_by(UsageEvent.occurred_at, UsageEvent.id)))
