"""What a tenant's challenger trains on and is judged on.

Rows come from three sources, in this order: the domain's **reference** data (optional,
by its ``order_by``), the tenant's uploaded **datasets** (by ``order_by``), then its
**feedback**: every prediction it reported an outcome for, labelled with the outcome's
current value, oldest report first. The tenant's rows are its newest data, so they come
last, whatever their own ``order_by`` values say.

The evaluation window (the rule, stated once, shown on every run):

- a tenant with at least ``MIN_OUTCOMES_WINDOW`` outcomes is judged on its newest
  ``training.eval_fraction`` of outcomes (20 % by default); its older outcomes train;
- a tenant with fewer outcomes is judged on the newest ``training.eval_fraction`` of all its own
  rows (uploads, then outcomes);
- only a model with no tenant rows at all is judged on the newest reference rows.

Reference rows are never in a tenant's evaluation, and everything before the window,
including the tenant's recent rows, is the training part. Next to reference rows (weight
1) each tenant row carries the sample weight ``tenant_weight`` (the setting
``training.tenant_row_weight``, 4 by default, or the policy's), so a few hundred outcomes are not
drowned by thousands of reference games.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from tracer.feedback import labelled_predictions

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from tracer.domain import Domain
    from tracer.settings import Settings

SOURCES = ("reference", "datasets", "feedback")
MIN_OUTCOMES_WINDOW = 50
RULE = ("evaluation = the newest {fraction:.0%} of the tenant's outcomes once it has at "
        f"least {MIN_OUTCOMES_WINDOW}, else the newest {{fraction:.0%}} of its own rows "
        "(uploads, then outcomes), else (no tenant rows) the newest {fraction:.0%} of the "
        "reference; reference rows are never in a tenant's evaluation")


@dataclass(frozen=True)
class TrainingPlan:
    """Per row of a frame already in training order: where it came from, which dataset or
    when its outcome was reported, and its weight; and how many newest rows are held out."""

    source: np.ndarray  # "reference" | "datasets" | "feedback"
    dataset_id: np.ndarray  # the dataset of a "datasets" row, else ""
    reported_at: np.ndarray  # epoch seconds an outcome was first reported, else NaN
    weight: np.ndarray | None
    evaluation_rows: int
    rule: str

    def __len__(self) -> int:
        return len(self.source)

    def tail(self, n: int) -> TrainingPlan:
        cut = slice(len(self) - n, len(self))
        return TrainingPlan(self.source[cut], self.dataset_id[cut], self.reported_at[cut],
                            None if self.weight is None else self.weight[cut], n, self.rule)

    def counts(self, part: slice) -> dict[str, int]:
        values = self.source[part]
        return {name: int(np.sum(values == name)) for name in SOURCES}

    def by_part(self) -> dict[str, dict[str, int]]:
        cut = len(self) - self.evaluation_rows
        return {"training": self.counts(slice(0, cut)),
                "evaluation": self.counts(slice(cut, len(self)))}

    def trained_on(self) -> dict[str, Any]:
        """What a model refit on every row of this plan has seen (kept in its info)."""
        feedback = self.reported_at[self.source == "feedback"]
        return {"datasets": sorted({str(d) for d in self.dataset_id[self.source == "datasets"]}),
                "feedback_through": float(feedback.max()) if len(feedback) else None}

    def unseen_by(self, info: dict[str, Any], fallback: np.ndarray) -> np.ndarray:
        """Rows of this plan that a model with ``info`` never trained on. ``fallback``: the
        same rows judged by ``order_by`` against the model's ``trained_through``."""
        seen = info.get("trained_on")
        if seen is None:  # trained outside the feedback loop: it never saw an outcome
            return np.where(self.source == "feedback", True, fallback)
        through = seen.get("feedback_through")
        new_outcome = self.reported_at > (-np.inf if through is None else through)
        new_dataset = ~np.isin(self.dataset_id, seen.get("datasets", []))
        return np.select([self.source == "feedback", self.source == "datasets"],
                         [new_outcome, new_dataset], fallback).astype(bool)


def feedback_frame(s: Session, tenant_id: str, domain: Domain) -> tuple[pd.DataFrame, np.ndarray]:
    """Records with their outcome's current value as the label, oldest report first, and
    when each outcome was reported (epoch seconds)."""
    pairs = labelled_predictions(s, tenant_id, domain.name)
    pairs.reverse()
    if not pairs:
        return pd.DataFrame(), np.zeros(0)
    frame = pd.DataFrame([p.record for p, _ in pairs])
    frame[domain.label] = [o.outcome for _, o in pairs]
    return frame, np.array([o.created_at.timestamp() for _, o in pairs], dtype=np.float64)


def _ordered(frame: pd.DataFrame, order_by: str) -> pd.DataFrame:
    if order_by not in frame or not len(frame):
        return frame.reset_index(drop=True)
    key = pd.to_numeric(frame[order_by], errors="coerce")
    return frame.iloc[np.argsort(key.to_numpy(), kind="stable")].reset_index(drop=True)


def training_frame(settings: Settings, s: Session, domain: Domain, tenant_id: str, *,
                   use_reference: bool, dataset_ids: list[str] | None,
                   include_feedback: bool, tenant_weight: float | None = None
                   ) -> tuple[pd.DataFrame, dict[str, int], TrainingPlan]:
    """Reference + tenant datasets + feedback as one frame of records and raw labels, in
    training order, with the plan that says each row's source, weight and the window."""
    from tracer.datasets import get_dataset, list_datasets, load_dataset
    from tracer.retraining import labels01, raw_labels

    parts: list[pd.DataFrame] = []
    source: list[np.ndarray] = []
    dataset_of: list[np.ndarray] = []
    reported: list[np.ndarray] = []

    def add(part: pd.DataFrame, name: str, dataset: Any = "", when: Any = np.nan) -> None:
        parts.append(part)
        source.append(np.full(len(part), name, dtype=object))
        dataset_of.append(np.asarray(dataset, dtype=object) if not isinstance(dataset, str)
                          else np.full(len(part), dataset, dtype=object))
        reported.append(np.broadcast_to(np.asarray(when, dtype=np.float64), len(part)))

    if use_reference:
        reference = domain.load_reference()
        reference = reference.assign(**{domain.label: labels01(domain, reference[domain.label])})
        add(_ordered(reference, domain.order_by), "reference")
    rows = ([get_dataset(s, tenant_id, d) for d in dataset_ids] if dataset_ids is not None
            else list_datasets(s, tenant_id, domain.name))
    uploads = [load_dataset(settings, tenant_id, row.id).assign(_dataset=row.id) for row in rows]
    if uploads:
        joined = _ordered(pd.concat(uploads, ignore_index=True), domain.order_by)
        add(joined.drop(columns=["_dataset"]), "datasets", joined["_dataset"].to_numpy())
    if include_feedback:
        feedback, when = feedback_frame(s, tenant_id, domain)
        if len(feedback):
            if domain.order_by not in feedback or feedback[domain.order_by].isna().any():
                # records served without their ordering key: number them after the rest
                newest = max((float(pd.to_numeric(p[domain.order_by]).max()) for p in parts
                              if domain.order_by in p and len(p)), default=0.0)
                feedback[domain.order_by] = newest + np.arange(1, len(feedback) + 1)
            add(feedback, "feedback", when=when)
    counts = {name: int(sum(len(p) for p, src in zip(parts, source, strict=True)
                            if len(src) and src[0] == name)) for name in SOURCES
              if name != "feedback" or include_feedback}
    if not use_reference:
        counts.pop("reference", None)
    columns = list(dict.fromkeys([*domain.columns, domain.order_by, domain.label]))
    frame = pd.concat([p[[c for c in columns if c in p.columns]] for p in parts],
                      ignore_index=True) if parts else pd.DataFrame()
    if len(frame):
        frame[domain.label] = raw_labels(domain, frame[domain.label].to_numpy())
    plan = _plan(settings, np.concatenate(source) if source else np.zeros(0, dtype=object),
                 np.concatenate(dataset_of) if dataset_of else np.zeros(0, dtype=object),
                 np.concatenate(reported) if reported else np.zeros(0),
                 tenant_weight if tenant_weight is not None
                 else settings.training.tenant_row_weight)
    return frame, counts, plan


def _plan(settings: Settings, source: np.ndarray, dataset_id: np.ndarray,
          reported_at: np.ndarray, tenant_weight: float) -> TrainingPlan:
    fraction = settings.training.eval_fraction
    outcomes = int(np.sum(source == "feedback"))
    own = int(np.sum(source != "reference"))
    pool = outcomes if outcomes >= MIN_OUTCOMES_WINDOW else own if own else len(source)
    window = max(1, int(round(pool * fraction))) if len(source) else 0
    mixed = 0 < own < len(source)
    weight = np.where(source == "reference", 1.0, tenant_weight) if mixed else None
    return TrainingPlan(source, dataset_id, reported_at, weight, window,
                        RULE.format(fraction=fraction))
