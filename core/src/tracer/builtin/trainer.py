"""The built-in XGBoost trainer: answers ``tracer_train`` when a domain brings no trainer.

Features arrive in time order. The last ``early_stopping_fraction`` of them picks the
number of boosting rounds (early stopping on log-loss); the booster is then refit on all
rows with that many rounds, so no training row is wasted.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tracer.hookspecs import hookimpl

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
    "nthread": 2,
    "num_boost_round": 400,
    "early_stopping_rounds": 40,
    "early_stopping_fraction": 0.15,
}


@hookimpl(trylast=True)
def tracer_train(domain, features, labels, weights, params):
    import xgboost as xgb

    merged = {**DEFAULTS, **dict(domain.train_params), **dict(params or {})}
    rounds = int(merged.pop("num_boost_round"))
    patience = int(merged.pop("early_stopping_rounds"))
    fraction = float(merged.pop("early_stopping_fraction"))
    seed = int(merged.pop("seed", 0))
    merged["seed"] = seed
    y = np.asarray(labels, dtype=np.float32)
    w = None if weights is None else np.asarray(weights, dtype=np.float32)
    cut = int(len(y) * (1 - fraction))
    if patience and 0 < cut < len(y) and len(np.unique(y[cut:])) == 2:
        fit = xgb.DMatrix(features.iloc[:cut], label=y[:cut],
                          weight=None if w is None else w[:cut])
        stop = xgb.DMatrix(features.iloc[cut:], label=y[cut:],
                           weight=None if w is None else w[cut:])
        probe = xgb.train(merged, fit, num_boost_round=rounds, evals=[(stop, "stop")],
                          early_stopping_rounds=patience, verbose_eval=False)
        # refit on every row; scale rounds for the larger training set
        rounds = max(10, int(round((probe.best_iteration + 1) * len(y) / max(cut, 1))))
    full = xgb.DMatrix(features, label=y, weight=w)
    return xgb.train(merged, full, num_boost_round=rounds, verbose_eval=False)
