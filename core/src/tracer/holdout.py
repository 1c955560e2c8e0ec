"""The held-out estimate: the leaderboard's winner and the baselines, fitted on the same
training rows and scored on the same latest records, which nothing was chosen on.

The winner is calibrated from its out-of-fold margins on the training part (not from a
slice it could have trained on), and every baseline comparison is paired: the same
bootstrap resamples of the evaluation rows score the model and the baseline.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from tracer.candidates import BASELINE_LOGISTIC, fit, margin
from tracer.domain import CostModel, Domain, FeatureState
from tracer.evaluation import (
    bootstrap_ci,
    evaluate,
    expected_calibration_error,
    expected_cost,
    min_cost_threshold,
)
from tracer.features import compute_features
from tracer.model import sigmoid
from tracer.promotion import paired_bootstrap

if TYPE_CHECKING:
    import pandas as pd

    from tracer.host import PluginHost
    from tracer.selection import Leaderboard


@dataclass
class Part:
    """Records of one part of the data, their 0/1 labels and sample weights."""

    records: pd.DataFrame
    labels: np.ndarray
    weights: np.ndarray | None

    def __len__(self) -> int:
        return len(self.labels)

    def take(self, rows: Any) -> Part:
        return Part(self.records.iloc[rows].reset_index(drop=True), self.labels[rows],
                    None if self.weights is None else self.weights[rows])


@dataclass
class Holdout:
    metrics: dict[str, float]
    interval: tuple[float, float]
    baselines: dict[str, dict[str, float]]
    p_eval: np.ndarray
    raw_eval: np.ndarray  # the winner's uncalibrated margin on the evaluation part
    threshold: float
    x_eval: pd.DataFrame
    extras: dict[str, Any] = field(default_factory=dict)


def cost_threshold(costs: CostModel | None, part: Part, p: np.ndarray) -> float:
    if costs is None:
        return 0.5
    amounts = part.records[costs.false_negative_column] if costs.false_negative_column else None
    return min_cost_threshold(part.labels, p, part.weights, costs, amounts)[0]


def assess(host: PluginHost, domain: Domain, board: Leaderboard, train: Part, held: Part,
           params: dict[str, Any], costs: CostModel | None, samples: int,
           seed: int) -> Holdout:
    primary = domain.primary_metric
    state = FeatureState(fitting=True, labels=train.labels, weights=train.weights)
    x_train = compute_features(host, domain, train.records, state)
    state.fitting, state.labels, state.weights = False, None, None
    x_eval = compute_features(host, domain, held.records, state)
    winner = fit(host, domain, board.winner.candidate, x_train, train.labels, train.weights,
                 params)
    raw_eval = margin(winner, x_eval)
    cal = board.winner.calibration
    oof = train.take(board.oof_rows)
    threshold = cost_threshold(costs, oof, sigmoid(cal["a"] * board.winner.oof_margin
                                                   + cal["b"]))
    p_eval = sigmoid(cal["a"] * raw_eval + cal["b"])
    y, w = held.labels, held.weights
    metrics = evaluate(y, p_eval, w, threshold, domain.extra_metrics)
    metrics["ece"] = expected_calibration_error(y, p_eval, w)
    metrics["ece_uncalibrated"] = expected_calibration_error(y, sigmoid(raw_eval), w)
    interval = bootstrap_ci(primary, y, p_eval, w, threshold, samples=samples, seed=seed)
    metrics[f"{primary}_ci_low"], metrics[f"{primary}_ci_high"] = interval
    extras: dict[str, Any] = {}
    if costs is not None:
        amounts = held.records[costs.false_negative_column] if costs.false_negative_column \
            else None
        metrics["expected_cost"] = expected_cost(y, p_eval, w, threshold, costs, amounts)
        metrics["expected_cost_never_act"] = expected_cost(y, p_eval, w, 2.0, costs, amounts)
        oracle_t, oracle_cost = min_cost_threshold(y, p_eval, w, costs, amounts)
        metrics["expected_cost_best_possible_threshold"] = oracle_cost
        extras["costs"] = dict(costs.__dict__)
        extras["best_possible_threshold"] = oracle_t
    baselines = _baselines(host, domain, train, held, x_train, x_eval, p_eval, threshold,
                           params, samples, seed)
    # the platform's logistic regression is the bar every model card and certification
    # states: the paired difference to it travels with the model's own metrics
    lr = baselines["logistic regression"]
    for suffix in ("", "_low", "_high"):
        metrics[f"{primary}_minus_logistic_regression{suffix}"] = \
            lr[f"{primary}_model_minus{suffix}"]
    return Holdout(metrics, interval, baselines, p_eval, raw_eval, threshold, x_eval, extras)


def _baselines(host: PluginHost, domain: Domain, train: Part, held: Part,
               x_train: pd.DataFrame, x_eval: pd.DataFrame, p_model: np.ndarray,
               threshold: float, params: dict[str, Any], samples: int, seed: int
               ) -> dict[str, dict[str, float]]:
    """Majority class, the domain's rule and logistic regression, each with its interval
    and the model's paired difference to it (``<primary>_model_minus``, ``_low``, ``_high``)."""
    primary = domain.primary_metric
    w = np.ones(len(train)) if train.weights is None else train.weights
    base_rate = float(np.sum(w * train.labels) / np.sum(w))
    found: dict[str, np.ndarray] = {"majority class": np.full(len(held), base_rate)}
    if domain.baseline is not None:
        found[f"rule: {domain.baseline.name}"] = np.clip(
            np.asarray(domain.baseline.rule(held.records), dtype=np.float64), 0.0, 1.0)
    lr = fit(host, domain, BASELINE_LOGISTIC, x_train, train.labels, train.weights, params)
    found["logistic regression"] = sigmoid(margin(lr, x_eval))
    out: dict[str, dict[str, float]] = {}
    boot = min(samples, 200)
    for label, p in found.items():
        # the majority baseline says "never the event" unless the event is the majority
        t = 0.5 if label == "majority class" else threshold
        metrics = evaluate(held.labels, p, held.weights, t, domain.extra_metrics)
        low, high = bootstrap_ci(primary, held.labels, p, held.weights, t, samples=boot,
                                 seed=seed)
        metrics[f"{primary}_ci_low"], metrics[f"{primary}_ci_high"] = low, high
        diff = paired_bootstrap(primary, held.labels, p_model, p, held.weights, threshold, t,
                                samples=boot, seed=seed)
        metrics[f"{primary}_model_minus"] = diff.difference
        metrics[f"{primary}_model_minus_low"] = diff.low
        metrics[f"{primary}_model_minus_high"] = diff.high
        out[label] = metrics
    return out
