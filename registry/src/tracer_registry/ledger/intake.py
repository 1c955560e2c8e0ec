"""Usage intake for the ledger: recording producers' events, one at a time or in bulk.

Both paths go through the one usage table of core (``tracer.usage``), idempotent by the
producer's event id. ``ingest`` is what a producer's retry loop calls; the bulk path is for
imports and the benchmark (one INSERT … ON CONFLICT DO NOTHING per batch, then a check that
every already-present id carried the same payload).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from tracer.errors import ConflictError
from tracer.settings import Settings
from tracer.usage import UsageEvent, _hash, record_usage

from tracer_registry.ledger import crashpoints
from tracer_registry.ledger.concurrency import run_in_transaction
from tracer_registry.ledger.postings import insert_ignoring_duplicates


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


def ingest_bulk(s: Session, events: list[dict[str, Any]], recorded_at: datetime) -> None:
    """Record many usage events in the caller's transaction (duplicates must match)."""
    rows = []
    for e in events:
        attrs = e.get("attrs") or {}
        rows.append({"id": e["id"], "tenant_id": e["tenant_id"], "kind": e["kind"],
                     "domain": e.get("domain"), "quantity": e.get("quantity", 1),
                     "occurred_at": e["occurred_at"], "recorded_at": recorded_at,
                     "payload_hash": _hash(e["tenant_id"], e["kind"], e.get("domain"),
                                           e.get("quantity", 1), attrs), "attrs": attrs})
    inserted = insert_ignoring_duplicates(s, UsageEvent.__table__, rows)
    if inserted == len(rows):
        return  # nothing was there before: no payload to compare
    wanted = {r["id"]: r["payload_hash"] for r in rows}
    ids = list(wanted)
    for start in range(0, len(ids), 5000):
        chunk = ids[start:start + 5000]
        for event_id, digest in s.execute(select(UsageEvent.id, UsageEvent.payload_hash)
                                          .where(UsageEvent.id.in_(chunk))):
            if digest != wanted[event_id]:
                raise ConflictError(f"usage event {event_id} was already recorded with a "
                                    "different payload", event=event_id)
