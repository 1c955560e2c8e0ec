"""What a plugin declares: a domain template and the records it understands.

These are the contract's data types. A plugin returns ``Domain`` objects from
``tracer_domains`` and the platform does the rest: validation, time-aware splitting,
training, calibration, evaluation against baselines, decision thresholds and serving.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    import numpy as np
    import pandas as pd
    from pydantic import BaseModel

Task = Literal["binary"]
Metric = Literal["accuracy", "roc_auc", "auprc", "log_loss", "brier"]

#: Metrics where a larger value is better; the others (log_loss, brier) are losses.
HIGHER_IS_BETTER = {"accuracy": True, "roc_auc": True, "auprc": True,
                    "log_loss": False, "brier": False}

_NAME = re.compile(r"^[a-z][a-z0-9-]*/[a-z0-9][a-z0-9.-]*$")


@dataclass(frozen=True)
class Baseline:
    """A one-line rule a domain declares as its simple baseline.

    ``rule`` takes the validated records and returns, per row, the probability the
    rule gives to the positive outcome (a hard rule returns 0.0 or 1.0).
    """

    name: str
    rule: Callable[[pd.DataFrame], np.ndarray]


@dataclass(frozen=True)
class CostModel:
    """What a wrong decision costs, so the platform can pick the decision threshold.

    A missed positive (false negative) costs ``false_negative`` or, when
    ``false_negative_column`` is set, that column's value on the record (a missed event
    costs the amount at stake). A false alarm (false positive) costs ``false_positive`` (a
    review fee). ``true_positive`` is the cost of acting on a real positive (often the same fee).
    Tenants may override any of the numbers.
    """

    false_positive: float = 5.0
    false_negative: float = 0.0
    false_negative_column: str | None = None
    true_positive: float = 0.0
    currency: str = "USD"
    action: str = "act"  # the verb of acting on a positive, used in summaries ("review")

    def with_overrides(self, overrides: Mapping[str, Any] | None) -> CostModel:
        if not overrides:
            return self
        data = {**self.__dict__, **{k: v for k, v in overrides.items() if v is not None}}
        return CostModel(**data)


@dataclass(frozen=True)
class Domain:
    """A domain template: everything the platform needs to train and serve it.

    Args:
        name: ``namespace/template``, lower case (``acme/churn-30d``).
        version: the template's version (PEP 440).
        title: a human title.
        record: the pydantic model of one input record (features only, no label).
        label: the label column in training data.
        order_by: the column that orders records in time; evaluation holds out the latest.
        load_reference: returns the reference dataset (records plus label) as a DataFrame.
        task: the prediction task; ``binary`` today.
        primary_metric: the metric the domain is judged by.
        certification_threshold: the value the primary metric must reach for certification.
        positive_label: the raw label value that means "the event happened".
        outcome: the event in words, for sentences ("the customer leaves").
        baseline: the domain's one-line rule baseline.
        weight: per-record sample weights (e.g. to undo sampling); honoured everywhere.
            Called on the training records with the label column added as 0/1 (1 = the
            positive label), so a weight may depend on the outcome (undersampled negatives).
            A training run on a file not sampled that way passes ``{"weights": False}``.
        cost_model: if set, the decision threshold minimises expected cost.
        extra_metrics: platform metric names reported besides the standard ones
            (``recall_at_fpr:0.001``, ``precision_at_k:100``, ``expected_cost``).
        train_params: defaults passed to ``tracer_train`` as ``params``.
        description, tags, license: catalog text.
    """

    name: str
    version: str
    title: str
    record: type[BaseModel]
    label: str
    order_by: str
    load_reference: Callable[[], pd.DataFrame]
    task: Task = "binary"
    primary_metric: Metric = "roc_auc"
    certification_threshold: float = 0.5
    positive_label: Any = 1
    outcome: str = "the event happens"
    baseline: Baseline | None = None
    weight: Callable[[pd.DataFrame], np.ndarray] | None = None
    cost_model: CostModel | None = None
    extra_metrics: tuple[str, ...] = ()
    train_params: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""
    tags: tuple[str, ...] = ()
    license: str = "Apache-2.0"

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(
                f"domain name {self.name!r} must look like 'namespace/template' "
                "(lower case letters, digits, '-' and '.')")
        if self.label in self.record.model_fields:
            raise ValueError(f"domain {self.name}: the record schema must not contain "
                             f"the label column {self.label!r}")

    @property
    def namespace(self) -> str:
        return self.name.split("/", 1)[0]

    @property
    def model_name(self) -> str:
        """The registered-model name in MLflow (no '/', which model URIs reserve)."""
        return self.name.replace("/", ".")

    @property
    def columns(self) -> list[str]:
        return list(self.record.model_fields)

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name, "version": self.version, "title": self.title,
            "description": self.description, "task": self.task, "label": self.label,
            "order_by": self.order_by, "primary_metric": self.primary_metric,
            "certification_threshold": self.certification_threshold,
            "outcome": self.outcome, "tags": list(self.tags),
            "baseline": self.baseline.name if self.baseline else None,
            "cost_model": dict(self.cost_model.__dict__) if self.cost_model else None,
            "record_schema": self.record.model_json_schema(),
        }


@dataclass
class FeatureState:
    """JSON-serialisable state that features learn on training rows only.

    ``tracer_features`` is called with ``fitting=True`` on the training part, where an
    implementation may store what it learned in ``values`` (rates per category, quantiles
    of negative records); on the evaluation part and at serving time it reads them back.

    While fitting, the platform also hands over the training part's 0/1 ``labels`` (1 =
    the domain's positive label) and sample ``weights``, so features can learn per-class
    statistics. Either may be ``None`` (no weights declared; a fit on unlabelled records,
    as conformance checks do): implementations must cope. Only ``values`` is stored.
    """

    fitting: bool = False
    values: dict[str, Any] = field(default_factory=dict)
    labels: np.ndarray | None = None
    weights: np.ndarray | None = None


@dataclass(frozen=True)
class Factor:
    """One reason behind a prediction."""

    feature: str
    value: Any
    contribution: float  # in calibrated log-odds; factors and bias add up to the logit
    direction: Literal["up", "down"]
    sentence: str


@dataclass(frozen=True)
class Explanation:
    """What ``tracer_explain`` returns: ranked factors and a one-line summary."""

    factors: list[Factor]
    summary: str


@dataclass
class Prediction:
    """Everything known about one scored record, handed to ``tracer_explain``.

    ``contributions`` are in calibrated log-odds, TreeSHAP values when a booster serves and
    exact coefficient × standardised deviation terms when a linear model does: either way
    their sum plus ``bias`` equals ``logit(probability)``.
    """

    record: dict[str, Any]
    features: dict[str, float]
    contributions: dict[str, float]
    bias: float
    probability: float
    label: int
    threshold: float
    base_rate: float
    state: FeatureState
    expected_cost: dict[str, float] | None = None
