"""Feature drift: PSI of served records against the data a model was trained on.

At train time each feature's training distribution is summarised as decile bin edges and
the share of training rows in each bin (a ``FeatureProfile`` per model version). Drift is
the population stability index of recent served records over the same bins:
``PSI = Σ (actual − expected) · ln(actual / expected)``; by common practice < 0.1 is stable,
0.1–0.25 moderate, > 0.25 a shift worth retraining for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from tracer.models import FeatureProfile

if TYPE_CHECKING:
    import pandas as pd
    from sqlalchemy.orm import Session

BINS = 10
#: Share given to an empty bin so the logarithm stays finite (a common PSI convention).
EMPTY_SHARE = 1e-4


def _shares(values: npt.NDArray[np.floating[Any]], cuts: list[float]
            ) -> npt.NDArray[np.float64]:
    values = values[np.isfinite(values)]
    counts = np.bincount(np.searchsorted(np.asarray(cuts), values, side="right"),
                         minlength=len(cuts) + 1).astype(np.float64)
    total = counts.sum()
    shares = counts / total if total else np.full(len(counts), 1.0 / len(counts))
    floored: npt.NDArray[np.float64] = np.maximum(shares, EMPTY_SHARE)  # numpy's stubs: Any
    return floored


def profile(features: pd.DataFrame, bins: int = BINS) -> dict[str, Any]:
    """Per feature: interior cut points (deduplicated quantiles) and training shares."""
    out = {}
    for name in features.columns:
        values = features[name].to_numpy(dtype=np.float64)
        finite = values[np.isfinite(values)]
        if len(finite) == 0:
            cuts: list[float] = []
        else:
            qs = np.quantile(finite, np.linspace(0, 1, bins + 1)[1:-1])
            cuts = sorted({float(q) for q in qs})
        out[name] = {"cuts": cuts, "expected": _shares(values, cuts).tolist()}
    return out


def psi(profile_features: dict[str, Any], features: pd.DataFrame) -> dict[str, float]:
    """PSI per feature of ``features`` against a stored profile."""
    out = {}
    for name, summary in profile_features.items():
        if name not in features.columns:
            continue
        expected = np.asarray(summary["expected"])
        actual = _shares(features[name].to_numpy(dtype=np.float64), summary["cuts"])
        out[name] = float(np.sum((actual - expected) * np.log(actual / expected)))
    return out


def save_profile(s: Session, model_name: str, version: int, features: pd.DataFrame) -> None:
    row = s.get(FeatureProfile, (model_name, version))
    if row is None:
        s.add(FeatureProfile(model_name=model_name, version=version, rows=len(features),
                             features=profile(features)))


def get_profile(s: Session, model_name: str, version: int) -> FeatureProfile | None:
    return s.get(FeatureProfile, (model_name, version))
