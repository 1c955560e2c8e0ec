"""Usage metering: the one place billable acts are recorded.

Every billable act (a predicted row, a training run, a domain install, a custom domain
deployment, a month of an install or of a tier subscription) writes a ``UsageEvent`` whose
id is made by the producer, in the same database transaction as the act's own record. The
id is the idempotency key: writing the same id again is a no-op when the payload matches
and an error when it differs. The ledger rates and splits this stream; nothing else writes it.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Table, bindparam, insert, select
from sqlalchemy.orm import Session

from tracer.db import utcnow
from tracer.errors import ConflictError, ValidationError
from tracer.models import UsageEvent

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from collections.abc import Collection

    from sqlalchemy.engine import Connection

KINDS = ("prediction", "training_run", "install", "custom_domain", "subscription",
         "install_period")
MAX_QUANTITY = 2**63 - 1  # a BIGINT column


def instant(moment: datetime) -> str:
    """An event time as the payload hash sees it: UTC, microseconds (naive means UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def payload_hash(tenant_id: str, kind: str, domain: str | None, quantity: int,
                 attrs: dict[str, Any], occurred_at: datetime) -> str:
    """What an event id stands for: every field of the event, ``occurred_at`` included.

    The same id must always come with this same digest; a changed time under the same id
    is a different event, not a duplicate.
    """
    body = json.dumps([tenant_id, kind, domain, quantity, attrs, instant(occurred_at)],
                      sort_keys=True, default=str)
    return hashlib.sha256(body.encode()).hexdigest()


def record_usage(s: Session, event_id: str, *, tenant_id: str, kind: str,
                 domain: str | None = None, quantity: int = 1,
                 occurred_at: datetime | None = None,
                 attrs: dict[str, Any] | None = None) -> tuple[UsageEvent, bool]:
    """Record a usage event in the caller's transaction; returns (event, created).

    Call it inside the same ``session()`` block that writes the billable act, so the act
    and its usage commit or roll back together.
    """
    event = usage_event(event_id, tenant_id=tenant_id, kind=kind, domain=domain,
                        quantity=quantity, occurred_at=occurred_at, attrs=attrs)
    [(recorded, created)] = record_usages(s, [event])
    s.flush()
    return recorded, created


def usage_event(event_id: str, *, tenant_id: str, kind: str, domain: str | None = None,
                quantity: int = 1, occurred_at: datetime | None = None,
                attrs: dict[str, Any] | None = None) -> UsageEvent:
    """A new (not yet recorded) event, its payload digest computed."""
    return UsageEvent(**usage_row(event_id, tenant_id=tenant_id, kind=kind, domain=domain,
                                  quantity=quantity, occurred_at=occurred_at, attrs=attrs))


def usage_row(event_id: str, *, tenant_id: str, kind: str, domain: str | None = None,
              quantity: int = 1, occurred_at: datetime | None = None,
              attrs: dict[str, Any] | None = None) -> dict[str, Any]:
    """A new event's columns, checked and its payload digest computed (``usage_event`` as
    a plain row, for :func:`record_usage_rows`)."""
    if kind not in KINDS:
        raise ValueError(f"unknown usage kind {kind!r}")
    if type(quantity) is not int or not 0 <= quantity <= MAX_QUANTITY:
        raise ValidationError(f"usage event {event_id}: quantity must be a whole number in "
                              f"0..{MAX_QUANTITY}, got {quantity!r}", field="quantity")
    attrs = attrs or {}
    occurred_at = occurred_at or utcnow()
    return {"id": event_id, "tenant_id": tenant_id, "kind": kind, "domain": domain,
            "quantity": quantity, "occurred_at": occurred_at,
            "payload_hash": payload_hash(tenant_id, kind, domain, quantity, attrs,
                                         occurred_at),
            "attrs": attrs}


_EVENTS = cast("Table", UsageEvent.__table__)
_DIGESTS = select(_EVENTS.c.id, _EVENTS.c.payload_hash).where(
    _EVENTS.c.id.in_(bindparam("ids", expanding=True)))  # built once: the writer's hot path
_INSERT = insert(_EVENTS)


def record_usage_rows(c: Connection, rows: list[dict[str, Any]],
                      fresh: Collection[str] = ()) -> list[dict[str, Any]]:
    """As :func:`record_usages` for rows made by :func:`usage_row`, written at once with one
    SQL ``INSERT`` for all new ones (no ORM objects: the prediction writer's hot path).

    Returns the new rows; a known id with the same digest is skipped, with another digest
    it raises ``ConflictError`` (the caller's transaction rolls back). Ids in ``fresh`` were
    made unique by the caller (a new UUID in them) and are not looked up: were one recorded
    all the same, its insert fails and the transaction rolls back.
    """
    asked = [r["id"] for r in rows if r["id"] not in fresh]
    known: dict[str, str] = {event_id: digest for event_id, digest in c.execute(
        _DIGESTS, {"ids": asked})} if asked else {}
    new = []
    for row in rows:
        digest = known.get(row["id"])
        if digest is not None:
            if digest != row["payload_hash"]:
                raise ConflictError(f"usage event {row['id']} was already recorded with a "
                                    "different payload", event=row["id"])
            continue
        known[row["id"]] = row["payload_hash"]
        new.append(row)
    if new:
        c.execute(_INSERT, new)
    return new


def record_usages(s: Session, events: list[UsageEvent]) -> list[tuple[UsageEvent, bool]]:
    """Record many new events with one lookup of their ids; (event, created) for each.

    An id already recorded (or repeated in ``events``) with the same digest is a no-op that
    returns the recorded event; with a different digest it raises ``ConflictError``, and
    the caller's transaction rolls back. The inserts go out at the caller's next flush.
    """
    ids = [e.id for e in events]
    known = {row.id: row for row in s.scalars(select(UsageEvent).where(UsageEvent.id.in_(ids)))}
    recorded = []
    for event in events:
        existing = known.get(event.id)
        if existing is not None:
            if existing.payload_hash != event.payload_hash:
                raise ConflictError(f"usage event {event.id} was already recorded with a "
                                    "different payload", event=event.id)
            recorded.append((existing, False))
            continue
        s.add(event)
        known[event.id] = event
        recorded.append((event, True))
    return recorded


def usage_for(s: Session, tenant_id: str, since: datetime | None = None,
              until: datetime | None = None) -> list[UsageEvent]:
    query = select(UsageEvent).where(UsageEvent.tenant_id == tenant_id)
    if since is not None:
        query = query.where(UsageEvent.occurred_at >= since)
    if until is not None:
        query = query.where(UsageEvent.occurred_at < until)
    return list(s.scalars(query.order_by(UsageEvent.occurred_at, UsageEvent.id)))
