"""Noise-aware promotion: a challenger replaces the champion only beyond noise.

Both models are scored on the same evaluation rows, and the rows are resampled together
(a paired bootstrap): each resample gives the challenger's primary metric minus the
champion's. The challenger is promoted only when the whole 95 % interval of that difference
lies on the better side of zero. Otherwise the champion stays and the decision says so,
with the difference and its interval.

The champion is judged only on evaluation rows it never trained on: a served model was
refit on all of its rows, and scoring it on them would flatter it. The model stores the
last value of the ordering key it saw (``info["trained_through"]``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from tracer.domain import HIGHER_IS_BETTER, Domain, FeatureState
from tracer.errors import TracerError
from tracer.evaluation import METRICS, resamples
from tracer.features import compute_features

if TYPE_CHECKING:
    from collections.abc import Callable

    import pandas as pd

    from tracer.host import PluginHost
    from tracer.tracking import ModelStore

LEVEL = 0.95
RULE = ("promote only if the 95 % paired-bootstrap interval of (challenger − champion) "
        "on the same evaluation records lies entirely on the better side of 0")


@dataclass(frozen=True)
class Comparison:
    difference: float  # challenger − champion (positive = challenger higher)
    low: float
    high: float
    rows: int

    def better(self, metric: str) -> bool:
        return self.low > 0 if HIGHER_IS_BETTER[metric] else self.high < 0

    def text(self) -> str:
        return f"{self.difference:+.4f} [{self.low:+.4f}, {self.high:+.4f}]"


def paired_bootstrap(metric: str, y: np.ndarray, p_new: np.ndarray, p_old: np.ndarray,
                     w: np.ndarray | None = None, threshold_new: float = 0.5,
                     threshold_old: float = 0.5, samples: int = 500, seed: int = 0,
                     level: float = LEVEL) -> Comparison:
    """Difference of ``metric`` (new − old) and its percentile interval over paired resamples."""
    fn = METRICS[metric]
    n = len(y)
    diffs = []
    for idx in resamples(y, samples, seed):  # the same draws for both models: paired
        ww = None if w is None else w[idx]
        diffs.append(fn(y[idx], p_new[idx], ww, threshold=threshold_new)
                     - fn(y[idx], p_old[idx], ww, threshold=threshold_old))
    point = fn(y, p_new, w, threshold=threshold_new) - fn(y, p_old, w, threshold=threshold_old)
    if not diffs:
        return Comparison(point, -np.inf, np.inf, n)
    low, high = np.quantile(diffs, [(1 - level) / 2, 1 - (1 - level) / 2])
    return Comparison(float(point), float(low), float(high), n)


def unseen_rows(records: pd.DataFrame, order_by: str, trained_through: Any) -> np.ndarray:
    """Mask of the records that come after what a model trained on."""
    if trained_through is None:
        return np.ones(len(records), dtype=bool)
    try:
        return np.asarray(records[order_by].to_numpy() > trained_through, dtype=bool)
    except (TypeError, ValueError):  # keys that do not compare: every record counts as new
        return np.ones(len(records), dtype=bool)


@dataclass
class Verdict:
    promoted: bool
    decision: str
    champion_metric: float | None
    comparison: Comparison | None = None


def judge(host: PluginHost, store: ModelStore, domain: Domain, name: str,
          r_eval: pd.DataFrame, y_eval: np.ndarray, w_eval: np.ndarray | None,
          p_eval: np.ndarray, threshold: float, samples: int, seed: int,
          unseen: Callable[[dict[str, Any], np.ndarray], np.ndarray] | None = None) -> Verdict:
    """Promote or keep, against the champion (if any) on the same evaluation records.

    ``unseen(info, by_order)`` refines which evaluation rows the champion never trained on
    (a tenant's plan knows which outcomes and datasets each model saw)."""
    from tracer.tracking import CHAMPION

    primary = domain.primary_metric
    champion = store.alias(name, CHAMPION)
    if champion is None:
        return Verdict(True, "promoted: no champion yet", None)
    try:
        model = store.load(name, champion.version)
        fresh = unseen_rows(r_eval, domain.order_by, model.info.get("trained_through"))
        if unseen is not None:
            fresh = unseen(model.info, fresh)
        if fresh.sum() == 0 or len(np.unique(y_eval[fresh])) < 2:
            return Verdict(False, f"kept champion: champion v{champion.version} was trained "
                           f"on these evaluation records ({int(fresh.sum())} of "
                           f"{len(r_eval)} are new to it, too few to compare); promote by "
                           "hand if the new version should serve", None)
        records = r_eval[fresh].reset_index(drop=True)
        x = compute_features(host, domain, records, FeatureState(False, model.state.values))
        p_champion = model.predict_proba(x)
    except TracerError:
        return Verdict(False, "kept champion: it could not be scored on this evaluation data",
                       None)
    y, w = y_eval[fresh], None if w_eval is None else w_eval[fresh]
    champion_metric = METRICS[primary](y, p_champion, w, threshold=model.threshold)
    mine = METRICS[primary](y, p_eval[fresh], w, threshold=threshold)
    comparison = paired_bootstrap(primary, y, p_eval[fresh], p_champion, w, threshold,
                                  model.threshold, samples=samples, seed=seed)
    promoted = comparison.better(primary)
    if promoted:
        verb = "promoted: better beyond noise"
    elif comparison.low <= 0 <= comparison.high:
        verb = "kept champion: the difference is within noise"
    else:
        verb = "kept champion: the challenger is worse"
    decision = (f"{verb}: {primary} {mine:.4f} vs champion v{champion.version} "
                f"{champion_metric:.4f} on the same {len(y)} evaluation records, difference "
                f"{comparison.text()} (95 % paired bootstrap, {samples} resamples). "
                f"Rule: {RULE}.")
    return Verdict(promoted, decision, champion_metric, comparison)
