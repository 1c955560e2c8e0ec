"""The built-in XGBoost trainer: answers ``tracer_train`` when a domain brings no trainer.

Features arrive in time order. The last ``early_stopping_fraction`` of them picks the
number of boosting rounds (early stopping on log-loss); the booster is then refit on all
rows with that many rounds, so no training row is wasted (``tracer.candidates``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tracer.hookspecs import hookimpl

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    import xgboost as xgb

    from tracer.domain import Domain

DEFAULTS: dict[str, Any] = {
    "objective": "binary:logistic",
    "eval_metric": "logloss",
    "max_depth": 3,
    "eta": 0.05,
    "subsample": 0.9,
    "colsample_bytree": 0.9,
    "min_child_weight": 1.0,
    "lambda": 1.0,
    "tree_method": "hist",
    "nthread": 1,  # a second OpenMP thread spin-waits on a shared 2-core machine
    "num_boost_round": 400,
    "early_stopping_rounds": 40,
    "early_stopping_fraction": 0.15,
}


@hookimpl(trylast=True)
def tracer_train(domain: Domain, features: pd.DataFrame, labels: np.ndarray,
                 weights: np.ndarray | None, params: dict[str, Any]) -> xgb.Booster:
    from tracer.candidates import train_xgboost

    merged = {**DEFAULTS, **dict(domain.train_params), **dict(params or {})}
    return train_xgboost(features, labels, weights, merged)
