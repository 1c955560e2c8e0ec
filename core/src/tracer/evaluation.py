"""Metrics, baselines, bootstrap intervals, calibration and cost-based thresholds.

Every function takes optional sample weights and honours them: a domain that undersampled
its negatives gets metrics at the real prevalence.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import numpy.typing as npt

from tracer.domain import HIGHER_IS_BETTER, CostModel

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from pathlib import Path

#: Outcomes, 1 for the positive class (any numeric dtype: the label column's own).
Labels = npt.NDArray[Any]
#: Predicted probabilities of the positive class, one per outcome.
Scores = npt.NDArray[np.floating[Any]]
#: Sample weights, one per outcome; ``None`` weighs every row 1.
Weights = npt.NDArray[np.floating[Any]] | None


class Metric(Protocol):
    """A platform metric: every one takes the decision threshold, most ignore it."""

    def __call__(self, y: Labels, p: Scores, w: Weights = None, *,
                 threshold: float = 0.5) -> float: ...


def _w(y: Labels, w: Weights) -> npt.NDArray[np.float64]:
    return np.ones(len(y)) if w is None else np.asarray(w, dtype=np.float64)


def accuracy(y: Labels, p: Scores, w: Weights = None, threshold: float = 0.5) -> float:
    w = _w(y, w)
    return float(np.sum(w * ((p >= threshold) == (y == 1))) / np.sum(w))


def roc_auc(y: Labels, p: Scores, w: Weights = None, **_: object) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, p, sample_weight=w))


def auprc(y: Labels, p: Scores, w: Weights = None, **_: object) -> float:
    from sklearn.metrics import average_precision_score

    return float(average_precision_score(y, p, sample_weight=w))


def log_loss(y: Labels, p: Scores, w: Weights = None, **_: object) -> float:
    p = np.clip(p, 1e-15, 1 - 1e-15)
    w = _w(y, w)
    return float(-np.sum(w * (y * np.log(p) + (1 - y) * np.log(1 - p))) / np.sum(w))


def brier(y: Labels, p: Scores, w: Weights = None, **_: object) -> float:
    w = _w(y, w)
    return float(np.sum(w * (p - y) ** 2) / np.sum(w))


METRICS: dict[str, Metric] = {
    "accuracy": accuracy, "roc_auc": roc_auc, "auprc": auprc,
    "log_loss": log_loss, "brier": brier,
}


def recall_at_fpr(y: Labels, p: Scores, w: Weights = None, fpr: float = 0.01) -> float:
    """Share of (weighted) positives caught when at most ``fpr`` of negatives are flagged."""
    w = _w(y, w)
    order = np.argsort(p[y == 0])[::-1]
    neg, neg_w = p[y == 0][order], w[y == 0][order]
    allowed = fpr * neg_w.sum()
    flagged = np.cumsum(neg_w) <= allowed
    cut = neg[flagged.sum()] if flagged.sum() < len(neg) else -np.inf
    return float(np.sum(w[(y == 1) & (p > cut)]) / np.sum(w[y == 1]))


def precision_at_k(y: Labels, p: Scores, w: Weights = None, k: int = 100) -> float:
    """Precision among the ``k`` highest-scored records (unweighted: k is a count of alerts)."""
    top = np.argsort(-p, kind="stable")[:k]
    return float(np.mean(y[top] == 1))


def extra_metric(name: str, y: Labels, p: Scores, w: Weights = None) -> float:
    """Evaluate a parametrised platform metric such as ``recall_at_fpr:0.001``."""
    base, _, arg = name.partition(":")
    if base == "recall_at_fpr":
        return recall_at_fpr(y, p, w, fpr=float(arg))
    if base == "precision_at_k":
        return precision_at_k(y, p, w, k=int(arg))
    raise ValueError(f"unknown metric {name!r} (known: recall_at_fpr:<rate>, precision_at_k:<n>)")


def evaluate(y: Labels, p: Scores, w: Weights = None, threshold: float = 0.5,
             extra: Iterable[str] = ()) -> dict[str, float]:
    out = {name: fn(y, p, w, threshold=threshold) for name, fn in METRICS.items()}
    for name in extra:
        out[name] = extra_metric(name, y, p, w)
    return out


def better(metric: str, new: float, old: float) -> bool:
    return new > old if HIGHER_IS_BETTER[metric] else new < old


def resamples(y: Labels, samples: int, seed: int) -> Iterator[npt.NDArray[np.int64]]:
    """Bootstrap row indices (with replacement) of ``y``, skipping draws with one class."""
    rng = np.random.default_rng(seed)
    n = len(y)
    for _ in range(samples):
        idx = rng.integers(0, n, n)
        if len(np.unique(y[idx])) >= 2:
            yield idx


def bootstrap_ci(metric: str, y: Labels, p: Scores, w: Weights = None,
                 threshold: float = 0.5, samples: int = 500, seed: int = 0,
                 level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of a metric over resampled evaluation rows."""
    fn = METRICS[metric]
    values = [fn(y[idx], p[idx], None if w is None else w[idx], threshold=threshold)
              for idx in resamples(y, samples, seed)]
    lo, hi = np.quantile(values, [(1 - level) / 2, 1 - (1 - level) / 2])
    return float(lo), float(hi)


# -- calibration ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ReliabilityBin:
    lower: float
    upper: float
    mean_predicted: float
    observed_rate: float
    weight: float


def reliability(y: Labels, p: Scores, w: Weights = None, bins: int = 10) -> list[ReliabilityBin]:
    """Equal-mass bins of predicted probability against the observed positive rate."""
    w = _w(y, w)
    order = np.argsort(p, kind="stable")
    chunks = np.array_split(order, min(bins, len(p)))
    out: list[ReliabilityBin] = []
    for idx in chunks:
        if len(idx) == 0:
            continue
        ww = w[idx]
        out.append(ReliabilityBin(float(p[idx].min()), float(p[idx].max()),
                                  float(np.sum(ww * p[idx]) / ww.sum()),
                                  float(np.sum(ww * y[idx]) / ww.sum()), float(ww.sum())))
    return out


def expected_calibration_error(y: Labels, p: Scores, w: Weights = None,
                               bins: int = 10) -> float:
    table = reliability(y, p, w, bins)
    total = sum(b.weight for b in table)
    return float(sum(b.weight * abs(b.mean_predicted - b.observed_rate) for b in table) / total)


def plot_reliability(curves: dict[str, tuple[Labels, Scores, Weights]], path: Path,
                     title: str) -> Path:
    """Save a reliability diagram (one line per model) as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 5), dpi=100)
    top = 0.0
    for name, (y, p, w) in curves.items():
        table = reliability(y, p, w)
        xs = [b.mean_predicted for b in table]
        ys = [b.observed_rate for b in table]
        top = max(top, *xs, *ys)
        ax.plot(xs, ys, marker="o", label=name)
    top = min(1.0, top * 1.05) or 1.0
    ax.plot([0, top], [0, top], ls="--", color="grey", label="perfectly calibrated")
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    ax.set_xlabel("mean predicted probability")
    ax.set_ylabel("observed rate")
    ax.set_title(title)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


# -- decisions -----------------------------------------------------------------------------


def record_costs(cost: CostModel, n: int,
                 amounts: npt.ArrayLike | None) -> npt.NDArray[np.float64]:
    """Per-record cost of a missed positive."""
    if cost.false_negative_column is not None and amounts is not None:
        return np.asarray(amounts, dtype=np.float64)
    return np.full(n, float(cost.false_negative))


def expected_cost(y: Labels, p: Scores, w: Weights, threshold: float, cost: CostModel,
                  amounts: npt.ArrayLike | None = None) -> float:
    """Total (weighted) cost of acting on records with ``p >= threshold``."""
    w = _w(y, w)
    fn_cost = record_costs(cost, len(y), amounts)
    act = p >= threshold
    total = (np.sum(w * act * (y == 0)) * cost.false_positive
             + np.sum(w * act * (y == 1)) * cost.true_positive
             + np.sum(w * ~act * (y == 1) * fn_cost))
    return float(total)


def min_cost_threshold(y: Labels, p: Scores, w: Weights, cost: CostModel,
                       amounts: npt.ArrayLike | None = None) -> tuple[float, float]:
    """The threshold on ``p`` that minimises total expected cost, and that cost.

    Acting on the top-k scored records for every k is evaluated at once with cumulative
    sums, so this is O(n log n).
    """
    w = _w(y, w)
    fn_cost = record_costs(cost, len(y), amounts)
    order = np.argsort(-p, kind="stable")
    ys, ws, ps, fns = y[order], w[order], p[order], fn_cost[order]
    act_cost = ws * np.where(ys == 1, cost.true_positive, cost.false_positive)
    miss_cost = ws * (ys == 1) * fns
    # cost when acting on the first k records = sum(act_cost[:k]) + sum(miss_cost[k:])
    cum_act = np.concatenate([[0.0], np.cumsum(act_cost)])
    cum_miss_rest = np.concatenate([[miss_cost.sum()], miss_cost.sum() - np.cumsum(miss_cost)])
    totals = cum_act + cum_miss_rest
    # only cut between distinct scores
    valid = np.concatenate([[True], np.append(ps[1:] < ps[:-1], True)])
    totals = np.where(valid, totals, np.inf)
    k = int(np.argmin(totals))
    if k == 0:  # acting on nothing is cheapest: a threshold above every score
        threshold = float(np.nextafter(ps[0], np.inf)) if len(ps) else 1.0
    else:
        threshold = float(ps[k - 1])
    return threshold, float(totals[k])
