"""Choose the fraud trainer's parameters by time-aware cross-validation, never on held-out data.

Superseded for model choice by the platform's leaderboard (every ``tracer train`` now
cross-validates the fraud trainer against logistic regression and a small XGBoost on
expanding windows and reports mean ± spread). Kept to explore trainer settings; read its
single-fold numbers with their spread in mind: the seed alone moves AUPRC by ±0.02.

Only the platform's training part is used: the earliest 80 % of the reference file by
``Time`` (the latest 20 % is what ``tracer train`` evaluates on, and this script never
reads it). Inside it, expanding windows: fit on everything before a cut, validate on the
next 16 % of the file, for three cuts. Features learn their state on the fitting rows only,
exactly as in the lifecycle. The score is weighted AUPRC (legitimate rows × 2.5), averaged
over the folds.

    .venv/bin/python plugins/fraud/bench/time_cv.py            # the default candidates
    .venv/bin/python plugins/fraud/bench/time_cv.py --quick    # the default, with and
                                                               # without the distance feature
"""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING

import numpy as np
from sklearn.metrics import average_precision_score
from tracer import FeatureState
from tracer_fraud.card import DOMAIN, tracer_features, undo_sampling
from tracer_fraud.trainer import train_booster

if TYPE_CHECKING:
    import pandas as pd

#: (fit up to, validate up to) as fractions of the whole file; all inside the first 80 %
FOLDS = ((0.32, 0.48), (0.48, 0.64), (0.64, 0.80))

CANDIDATES: dict[str, dict] = {
    "depth 4, no fraud up-weighting, all columns": dict(
        max_depth=4, colsample_bytree=0.9, positive_weight=1.0),
    "depth 4, frauds x2.5": dict(max_depth=4, colsample_bytree=0.9),
    "depth 4, frauds x10": dict(max_depth=4, colsample_bytree=0.9, positive_weight=10.0),
    "depth 3, frauds x2.5": dict(max_depth=3, colsample_bytree=0.9),
    "depth 6, frauds x2.5": dict(max_depth=6, colsample_bytree=0.9),
    "depth 3, half the columns per tree (default)": dict(),
    "depth 3, half the columns, eta 0.02 x 1200": dict(eta=0.02, num_boost_round=1200),
    "depth 2, half the columns, 1000 rounds": dict(max_depth=2, num_boost_round=1000),
}
DEFAULT = "depth 3, half the columns per tree (default)"
WITHOUT_DISTANCE = "depth 3, half the columns, without distance_to_known_fraud"


def folds(frame: pd.DataFrame, n: int):
    """``n`` is the size of the whole file: the fold edges are fractions of it."""
    labels = (frame[DOMAIN.label] == 1).to_numpy().astype(int)
    weights = undo_sampling(frame)
    for fit_end, val_end in FOLDS:
        fit, val = slice(0, int(fit_end * n)), slice(int(fit_end * n), int(val_end * n))
        records = frame.drop(columns=[DOMAIN.label])
        state = FeatureState(fitting=True, labels=labels[fit], weights=weights[fit])
        x_fit = tracer_features(DOMAIN, records.iloc[fit].reset_index(drop=True), state)
        state.fitting, state.labels, state.weights = False, None, None
        x_val = tracer_features(DOMAIN, records.iloc[val].reset_index(drop=True), state)
        yield (x_fit, labels[fit], weights[fit]), (x_val, labels[val], weights[val])


def score(prepared, params: dict, drop: tuple[str, ...] = ()) -> list[float]:
    out = []
    for (x_fit, y_fit, w_fit), (x_val, y_val, w_val) in prepared:
        booster = train_booster(DOMAIN, x_fit.drop(columns=list(drop)), y_fit, w_fit,
                                {"seed": 0, **params})
        p = booster.inplace_predict(x_val.drop(columns=list(drop)))
        out.append(float(average_precision_score(y_val, p, sample_weight=w_val)))
    return out


def main(quick: bool = False) -> None:
    frame = DOMAIN.load_reference().sort_values("Time", kind="stable").reset_index(drop=True)
    n = len(frame)
    frame = frame.iloc[: int(0.8 * n)]  # the lifecycle's training part only
    prepared = list(folds(frame, n))
    runs = [(DEFAULT, CANDIDATES[DEFAULT])] if quick else list(CANDIDATES.items())
    runs.append((WITHOUT_DISTANCE, {}))
    print("| candidate | fold 1 | fold 2 | fold 3 | mean |\n|---|---|---|---|---|")
    for name, params in runs:
        start = time.perf_counter()
        drop = ("distance_to_known_fraud",) if name == WITHOUT_DISTANCE else ()
        values = score(prepared, params, drop)
        cells = " | ".join(f"{v:.4f}" for v in values)
        print(f"| {name} | {cells} | **{np.mean(values):.4f}** |  "
              f"<!-- {time.perf_counter() - start:.0f} s -->", flush=True)


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
