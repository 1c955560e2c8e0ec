"""Retraining: the tenant's policy, and every decision with its numbers.

A challenger trains on the domain's reference data + the tenant's datasets + the records
its tenant reported outcomes for (``tracer.tenant_data`` states how the rows are ordered,
weighted and which are held out). The lifecycle promotes it only beyond noise
(``tracer.promotion``). When an automatic challenger may start is ``tracer.restraint``.
Every decision (starting a challenger, promoting or keeping the champion) is stored with
its numbers and, for automatic runs, why it ran.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sqlalchemy import select

from tracer.feedback import count_outcomes
from tracer.models import RetrainingDecision, RetrainingPolicy

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.orm import Session

    from tracer.domain import Domain

TRIGGERS = ("manual", "on_demand", "outcomes", "drift")


def record_decision(s: Session, tenant_id: str, domain: str, trigger: str, action: str,
                    message: str, numbers: dict[str, Any], job_id: str | None = None
                    ) -> RetrainingDecision:
    row = RetrainingDecision(id=str(uuid.uuid4()), tenant_id=tenant_id, domain=domain,
                             trigger=trigger, action=action, job_id=job_id,
                             numbers=numbers, message=message[:1000])
    s.add(row)
    s.flush()
    return row


AUTOMATIC = ("outcomes", "drift")


def last_start(s: Session, tenant_id: str, domain: str) -> datetime | None:
    """When the latest automatic challenger was started."""
    return s.scalar(select(RetrainingDecision.created_at).where(
        RetrainingDecision.tenant_id == tenant_id, RetrainingDecision.domain == domain,
        RetrainingDecision.action == "started").order_by(
        RetrainingDecision.created_at.desc()).limit(1))


def automatic_starts(s: Session, tenant_id: str, since: datetime) -> int:
    """Automatic challengers started for a tenant (every domain) since ``since``."""
    from sqlalchemy import func

    return int(s.scalar(select(func.count(RetrainingDecision.id)).where(
        RetrainingDecision.tenant_id == tenant_id, RetrainingDecision.action == "started",
        RetrainingDecision.trigger.in_(AUTOMATIC),
        RetrainingDecision.created_at >= since)) or 0)


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

def labels01(domain: Domain, raw: pd.Series) -> npt.NDArray[np.int8]:
    positive = domain.positive_label
    labels: npt.NDArray[np.int8]  # pandas' to_numpy is untyped: the astype makes int8
    if pd.api.types.is_numeric_dtype(raw) and isinstance(positive, int | float):
        labels = (raw.to_numpy() == positive).astype(np.int8)
    else:
        labels = (raw.astype(str).to_numpy() == str(positive)).astype(np.int8)
    return labels


def raw_labels(domain: Domain, y: npt.ArrayLike) -> npt.NDArray[Any]:
    """0/1 back to the domain's raw label values (the lifecycle validates raw labels)."""
    positive = domain.positive_label
    if isinstance(positive, int | float) and not isinstance(positive, bool):
        negative: Any = positive - 1
    else:
        negative = f"not {positive}"
    raw: npt.NDArray[Any] = np.where(np.asarray(y) == 1, positive, negative)  # stubs: Any
    return raw
