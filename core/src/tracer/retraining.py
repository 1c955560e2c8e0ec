"""Retraining: what a tenant's model trains on, when a challenger is trained, and why.

A challenger trains on the domain's reference data + the tenant's datasets + the records
its tenant reported outcomes for (feedback, ordered after everything else, so the time-aware
split evaluates on the newest data). The lifecycle promotes it only if it beats the
champion on the same evaluation records. Every decision (starting a challenger, promoting
or keeping the champion) is stored with its numbers.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from tracer import tenancy  # noqa: F401 -- registers the tenants table our keys name
from tracer.db import Base, utcnow
from tracer.feedback import count_outcomes, feedback_frame

if TYPE_CHECKING:
    from tracer.domain import Domain
    from tracer.settings import Settings

TRIGGERS = ("manual", "on_demand", "outcomes", "drift")


class RetrainingPolicy(Base):
    __tablename__ = "retraining_policies"

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    domain: Mapped[str] = mapped_column(String(128), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    min_new_outcomes: Mapped[int | None] = mapped_column(Integer)
    drift_threshold: Mapped[float | None] = mapped_column(Float)
    drift_window: Mapped[int] = mapped_column(Integer, default=500)
    use_reference: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    def as_dict(self) -> dict:
        return {"domain": self.domain, "enabled": self.enabled,
                "min_new_outcomes": self.min_new_outcomes,
                "drift_threshold": self.drift_threshold, "drift_window": self.drift_window,
                "use_reference": self.use_reference, "updated_at": self.updated_at}


class RetrainingDecision(Base):
    __tablename__ = "retraining_decisions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    domain: Mapped[str] = mapped_column(String(128))
    trigger: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(16))  # started | promoted | kept | failed
    job_id: Mapped[str | None] = mapped_column(String(36))
    numbers: Mapped[dict[str, Any]] = mapped_column(JSON)
    message: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    def as_dict(self) -> dict:
        return {"id": self.id, "domain": self.domain, "trigger": self.trigger,
                "action": self.action, "job_id": self.job_id, "numbers": self.numbers,
                "message": self.message, "created_at": self.created_at}


def record_decision(s: Session, tenant_id: str, domain: str, trigger: str, action: str,
                    message: str, numbers: dict[str, Any], job_id: str | None = None
                    ) -> RetrainingDecision:
    row = RetrainingDecision(id=str(uuid.uuid4()), tenant_id=tenant_id, domain=domain,
                             trigger=trigger, action=action, job_id=job_id,
                             numbers=numbers, message=message[:1000])
    s.add(row)
    s.flush()
    return row


def last_start(s: Session, tenant_id: str, domain: str) -> datetime | None:
    return s.scalar(select(RetrainingDecision.created_at).where(
        RetrainingDecision.tenant_id == tenant_id, RetrainingDecision.domain == domain,
        RetrainingDecision.action == "started").order_by(
        RetrainingDecision.created_at.desc()).limit(1))


def outcomes_trigger(s: Session, policy: RetrainingPolicy) -> dict[str, Any] | None:
    """Numbers that justify a challenger because enough new outcomes arrived, else None."""
    if not policy.min_new_outcomes:
        return None
    since = last_start(s, policy.tenant_id, policy.domain)
    new = count_outcomes(s, policy.tenant_id, policy.domain, since)
    if new < policy.min_new_outcomes:
        return None
    return {"new_outcomes": new, "min_new_outcomes": policy.min_new_outcomes}


# -- the training data of a tenant's model ------------------------------------------------

def labels01(domain: Domain, raw: pd.Series) -> np.ndarray:
    positive = domain.positive_label
    if pd.api.types.is_numeric_dtype(raw) and isinstance(positive, int | float):
        return (raw.to_numpy() == positive).astype(np.int8)
    return (raw.astype(str).to_numpy() == str(positive)).astype(np.int8)


def raw_labels(domain: Domain, y: np.ndarray) -> np.ndarray:
    """0/1 back to the domain's raw label values (the lifecycle validates raw labels)."""
    positive = domain.positive_label
    if isinstance(positive, int | float) and not isinstance(positive, bool):
        negative: Any = positive - 1
    else:
        negative = f"not {positive}"
    return np.where(np.asarray(y) == 1, positive, negative)


def training_frame(settings: Settings, s: Session, domain: Domain, tenant_id: str, *,
                   use_reference: bool, dataset_ids: list[str] | None,
                   include_feedback: bool) -> tuple[pd.DataFrame, dict[str, int]]:
    """Reference + tenant datasets + feedback as one frame of records and raw labels."""
    from tracer.datasets import get_dataset, list_datasets, load_dataset

    parts: list[pd.DataFrame] = []
    counts: dict[str, int] = {}
    if use_reference:
        reference = domain.load_reference()
        parts.append(reference.assign(**{domain.label: labels01(domain, reference[domain.label])}))
        counts["reference"] = len(reference)
    rows = ([get_dataset(s, tenant_id, d) for d in dataset_ids] if dataset_ids is not None
            else list_datasets(s, tenant_id, domain.name))
    for row in rows:
        parts.append(load_dataset(settings, tenant_id, row.id))
    counts["datasets"] = sum(len(p) for p in parts) - counts.get("reference", 0)
    if include_feedback:
        feedback = feedback_frame(s, tenant_id, domain.name, domain.label)
        if len(feedback):
            # feedback is the newest data: order it after everything else unless it says
            newest = max((float(pd.to_numeric(p[domain.order_by]).max()) for p in parts
                          if domain.order_by in p and len(p)), default=0.0)
            if domain.order_by not in feedback or feedback[domain.order_by].isna().any():
                feedback[domain.order_by] = newest + np.arange(1, len(feedback) + 1)
            parts.append(feedback)
        counts["feedback"] = len(feedback)
    columns = list(dict.fromkeys([*domain.columns, domain.order_by, domain.label]))
    frame = pd.concat([p[[c for c in columns if c in p.columns]] for p in parts],
                      ignore_index=True) if parts else pd.DataFrame()
    if len(frame):
        frame[domain.label] = raw_labels(domain, frame[domain.label].to_numpy())
    return frame, counts
