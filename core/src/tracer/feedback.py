"""Stored predictions and the outcomes tenants observe for them later.

Every answered record is stored (its id is in the answer) so a tenant can report what
happened. Outcomes feed live metrics (per model version, over the latest feedback window),
drift and the retraining data (the record plus its observed label).

An outcome is the integer 0 or 1 (a boolean is refused: ``true`` is not a count of wins).
A wrong outcome is corrected, never overwritten silently: each correction keeps who made
it, when, the old and the new value and why, and the outcome row holds the current value,
which live metrics and retraining read.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeGuard

import numpy as np
from sqlalchemy import func, select

from tracer.db import utcnow
from tracer.errors import ConflictError, NotFoundError, ValidationError
from tracer.models import Outcome, OutcomeCorrection, StoredPrediction

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.orm import Session


@dataclass(frozen=True)
class ReportedOutcome:
    prediction_id: str
    outcome: int
    observed_at: datetime | None = None


def get_prediction(s: Session, tenant_id: str, prediction_id: str) -> StoredPrediction:
    row = s.get(StoredPrediction, prediction_id)
    if row is None or row.tenant_id != tenant_id:
        raise NotFoundError(f"prediction {prediction_id} not found", prediction=prediction_id)
    return row


def outcome_of(s: Session, prediction: StoredPrediction) -> int | None:
    """The outcome reported for a (tenant-checked) stored prediction, if any."""
    return s.scalars(select(Outcome.outcome).where(Outcome.prediction_id == prediction.id)
                     ).first()


def get_outcome(s: Session, tenant_id: str, outcome_id: str) -> Outcome:
    row = s.get(Outcome, outcome_id)
    if row is None or row.tenant_id != tenant_id:
        raise NotFoundError(f"outcome {outcome_id} not found", outcome=outcome_id)
    return row


def record_outcomes(s: Session, tenant_id: str, reported: list[ReportedOutcome]
                    ) -> tuple[list[Outcome], int]:
    """Store observed outcomes (all or nothing); returns (new rows, repeats ignored).

    Reporting the same outcome again is a no-op; a different outcome for a prediction that
    already has one is a conflict naming the item.
    """
    seen: dict[str, int] = {}
    created, repeats = [], 0
    for index, item in enumerate(reported):
        if not is_outcome(item.outcome):
            raise ValidationError(f"outcomes[{index}].outcome: {item.outcome!r} is not 0 or 1",
                                  errors=[{"index": index, "field": "outcome",
                                           "message": "must be 0 or 1"}])
        if item.prediction_id in seen:
            raise ValidationError(f"outcomes[{index}].prediction_id: {item.prediction_id} "
                                  f"is repeated (first at index {seen[item.prediction_id]})",
                                  errors=[{"index": index, "field": "prediction_id",
                                           "message": "repeated"}])
        seen[item.prediction_id] = index
        row = s.get(StoredPrediction, item.prediction_id)
        if row is None or row.tenant_id != tenant_id:
            raise NotFoundError(f"outcomes[{index}].prediction_id: prediction "
                                f"{item.prediction_id} not found",
                                prediction=item.prediction_id, index=index)
        existing = s.scalars(select(Outcome).where(
            Outcome.prediction_id == item.prediction_id)).first()
        if existing is not None:
            if existing.outcome != item.outcome:
                raise ConflictError(f"outcomes[{index}]: prediction {item.prediction_id} "
                                    f"already has outcome {existing.outcome}; correct it with "
                                    f"POST /v1/outcomes/{existing.id}/corrections",
                                    prediction=item.prediction_id, index=index,
                                    outcome_id=existing.id)
            repeats += 1
            continue
        outcome = Outcome(id=str(uuid.uuid4()), tenant_id=tenant_id,
                          prediction_id=item.prediction_id, domain=row.domain,
                          outcome=item.outcome, observed_at=item.observed_at or utcnow())
        s.add(outcome)
        created.append(outcome)
    s.flush()
    return created, repeats


def is_outcome(value: object) -> TypeGuard[int]:
    """0 or 1 as an integer: booleans (and floats such as 1.0) are not outcomes."""
    return type(value) is int and value in (0, 1)


def correct_outcome(s: Session, tenant_id: str, outcome_id: str, new: object, reason: str,
                    subject: str, key_id: str | None) -> tuple[Outcome, OutcomeCorrection | None]:
    """Change an outcome's value, keeping the old one in its history; the same value again
    changes nothing (returns no correction)."""
    if not is_outcome(new):
        raise ValidationError(f"outcome: {new!r} is not the integer 0 or 1", field="outcome")
    row = get_outcome(s, tenant_id, outcome_id)
    if row.outcome == new:
        return row, None
    correction = OutcomeCorrection(id=str(uuid.uuid4()), outcome_id=row.id,
                                   tenant_id=tenant_id, old_outcome=row.outcome,
                                   new_outcome=int(new), reason=reason[:500],
                                   key_id=key_id, subject=subject[:200])
    row.outcome, row.corrected_at = int(new), utcnow()
    s.add(correction)
    s.flush()
    return row, correction


def corrections_of(s: Session, outcome_id: str) -> list[OutcomeCorrection]:
    return list(s.scalars(select(OutcomeCorrection).where(
        OutcomeCorrection.outcome_id == outcome_id).order_by(OutcomeCorrection.created_at)))


def count_outcomes(s: Session, tenant_id: str, domain: str,
                   since: datetime | None = None) -> int:
    query = select(func.count(Outcome.id)).where(Outcome.tenant_id == tenant_id,
                                                 Outcome.domain == domain)
    if since is not None:
        query = query.where(Outcome.created_at > since)
    return int(s.scalar(query) or 0)


def labelled_predictions(s: Session, tenant_id: str, domain: str, limit: int | None = None,
                         version: int | None = None) -> list[tuple[StoredPrediction, Outcome]]:
    """(prediction, outcome) pairs, newest outcome first (of one model version if given)."""
    query = (select(StoredPrediction, Outcome)
             .join(Outcome, Outcome.prediction_id == StoredPrediction.id)
             .where(Outcome.tenant_id == tenant_id, Outcome.domain == domain)
             .order_by(Outcome.created_at.desc(), Outcome.id))
    if version is not None:
        query = query.where(StoredPrediction.model_version == version)
    if limit is not None:
        query = query.limit(limit)
    return [(p, o) for p, o in s.execute(query)]


def versions_with_outcomes(s: Session, tenant_id: str, domain: str) -> list[int]:
    """Model versions whose served predictions have outcomes, newest first."""
    return sorted({int(v) for (v,) in s.execute(
        select(StoredPrediction.model_version).join(
            Outcome, Outcome.prediction_id == StoredPrediction.id).where(
            Outcome.tenant_id == tenant_id, Outcome.domain == domain).distinct())},
        reverse=True)


def live_metrics(s: Session, tenant_id: str, domain: str, window: int,
                 version: int | None = None) -> dict[str, Any]:
    """Metrics of the served predictions over the latest ``window`` outcomes: of one model
    version's predictions when ``version`` is given, of every version's otherwise."""
    from tracer.evaluation import accuracy, brier, log_loss, roc_auc

    pairs = labelled_predictions(s, tenant_id, domain, window, version)
    out: dict[str, Any] = {"outcomes": len(pairs), "window": window}
    if not pairs:
        return out
    y = np.array([o.outcome for _, o in pairs])
    p = np.array([pr.probability for pr, _ in pairs])
    t = np.array([pr.threshold for pr, _ in pairs])
    out["accuracy"] = float(np.mean((p >= t) == (y == 1)))
    out["log_loss"], out["brier"] = log_loss(y, p), brier(y, p)
    out["roc_auc"] = roc_auc(y, p) if len(np.unique(y)) == 2 else None
    out["observed_rate"], out["mean_probability"] = float(y.mean()), float(p.mean())
    out["accuracy_at_0.5"] = accuracy(y, p)
    return out
