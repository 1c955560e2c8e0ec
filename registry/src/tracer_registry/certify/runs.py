"""The certification queue's records: a run per published release, and its state as the
publisher and the catalog see it. Publishing writes here; ``intake`` drains the queue and
``review`` reads it, so neither needs the other."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from packaging.utils import canonicalize_name
from sqlalchemy import select
from tracer.db import utcnow

from tracer_registry.certify.models import CertificationRun

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


def enqueue(s: Session, plugin: str, version: str) -> CertificationRun:
    """Queue the validator for a published release (once per release)."""
    plugin = canonicalize_name(plugin)
    run = s.scalars(select(CertificationRun).where(CertificationRun.plugin == plugin,
                                                   CertificationRun.version == version)).first()
    if run is None:
        run = CertificationRun(id=str(uuid.uuid4()), plugin=plugin, version=version,
                               status="pending", attempts=0, created_at=utcnow())
        s.add(run)
        s.flush()
    return run


def state(s: Session, plugin: str, version: str) -> dict[str, Any] | None:
    """The automated run of one release as publishers and the catalog see it."""
    run = s.scalars(select(CertificationRun).where(
        CertificationRun.plugin == canonicalize_name(plugin),
        CertificationRun.version == version)).first()
    if run is None:
        return None
    return {"run": run.id, "status": run.status, "review": run.review_id, "error": run.error,
            "queued_at": run.created_at.isoformat(),
            "finished_at": run.finished_at.isoformat() if run.finished_at else None}
