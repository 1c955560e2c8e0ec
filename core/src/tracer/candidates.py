"""The candidates a training run compares: ways to fit a model, described as data.

Every domain gets the same platform candidates: standardised logistic regression at three
regularisation strengths and a small regularised XGBoost. The domain's own trainer
(``tracer_train``, or the built-in XGBoost trainer with the domain's ``train_params``) is
always a candidate too, and a plugin may add more through ``tracer_candidates``. A
candidate is plain data (name, kind, params, complexity), so it crosses a process boundary
as JSON.

``complexity`` orders candidates from simple to elaborate; when two candidates cannot be
told apart, the simpler one serves.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypedDict

import numpy as np

from tracer.errors import ModelError, PluginError
from tracer.linear import LinearModel

if TYPE_CHECKING:
    import numpy.typing as npt
    import pandas as pd
    import xgboost as xgb

    from tracer.domain import Domain
    from tracer.host import PluginHost

Kind = Literal["trainer", "logistic", "xgboost"]
KINDS = ("trainer", "logistic", "xgboost")

#: the platform's small regularised booster: shallow trees, heavy leaf regularisation,
#: early stopping on the latest 15 % of the rows it is given, then a refit on all of them
SMALL_XGBOOST: dict[str, Any] = {
    "max_depth": 2, "eta": 0.1, "min_child_weight": 5.0, "lambda": 5.0,
    "subsample": 0.8, "colsample_bytree": 0.8, "num_boost_round": 400,
    "early_stopping_rounds": 30, "early_stopping_fraction": 0.15,
}


@dataclass(frozen=True)
class Candidate:
    """One way to fit a model for a domain.

    Args:
        name: shown in the leaderboard ("logistic regression C=0.1").
        kind: ``trainer`` (the domain's ``tracer_train`` with ``params`` merged in),
            ``logistic`` (the platform's standardised logistic regression, ``params["C"]``)
            or ``xgboost`` (the platform's booster, ``params`` over its small defaults).
        params: what the kind needs.
        complexity: smaller is simpler; on a tie the simpler candidate wins.
    """

    name: str
    kind: Kind
    params: Mapping[str, Any] = field(default_factory=dict)
    complexity: int = 50

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"candidate {self.name!r}: kind {self.kind!r} is not one of "
                             f"{', '.join(KINDS)}")

    @classmethod
    def coerce(cls, value: Any, plugin: str = "?") -> Candidate:
        """A candidate from a plugin: a ``Candidate`` or a dict with the same keys."""
        if isinstance(value, Candidate):
            return value
        if isinstance(value, Mapping):
            try:
                return cls(name=str(value["name"]), kind=value["kind"],
                           params=dict(value.get("params") or {}),
                           complexity=int(value.get("complexity", 50)))
            except (KeyError, TypeError, ValueError) as exc:
                raise PluginError(f"plugin {plugin!r}: tracer_candidates returned a bad "
                                  f"candidate {value!r}: {exc}", plugin=plugin) from exc
        raise PluginError(f"plugin {plugin!r}: tracer_candidates returned "
                          f"{type(value).__name__}, expected Candidate or dict", plugin=plugin)

    def as_dict(self) -> CandidateDict:
        return {"name": self.name, "kind": self.kind, "params": dict(self.params),
                "complexity": self.complexity}


class CandidateDict(TypedDict):
    """A candidate as JSON (the leaderboard's lines, a model's ``info["candidate"]``)."""

    name: str
    kind: str
    params: dict[str, Any]
    complexity: int


DOMAIN_TRAINER = Candidate("domain trainer", "trainer", {}, 30)
PLATFORM_CANDIDATES = (
    Candidate("logistic regression C=0.01", "logistic", {"C": 0.01}, 1),
    Candidate("logistic regression C=0.1", "logistic", {"C": 0.1}, 2),
    Candidate("logistic regression C=1", "logistic", {"C": 1.0}, 3),
    Candidate("small XGBoost", "xgboost", {}, 10),
)
#: the baseline every model card compares against (fitted on the champion's own rows)
BASELINE_LOGISTIC = PLATFORM_CANDIDATES[2]


def candidates_for(host: PluginHost, domain: Domain,
                   only: list[str] | None = None) -> list[Candidate]:
    """The platform's candidates, the domain's trainer, then what plugins add; ``only``
    keeps the named ones (``params={"candidates": [...]}`` of a run)."""
    found = [*PLATFORM_CANDIDATES, DOMAIN_TRAINER]
    for plugin, extra in host.call("tracer_candidates", domain):
        for value in extra or []:
            found.append(Candidate.coerce(value, plugin))
    names = [c.name for c in found]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise PluginError(f"candidates {duplicated} are declared twice for {domain.name}",
                          domain=domain.name)
    if only:
        unknown = sorted(set(only) - set(names))
        if unknown:
            from tracer.errors import ValidationError

            raise ValidationError(f"unknown candidates {unknown} for {domain.name} (known: "
                                  f"{', '.join(names)})")
        found = [c for c in found if c.name in only]
    return found


def fit(host: PluginHost, domain: Domain, candidate: Candidate, features: pd.DataFrame,
        labels: np.ndarray, weights: np.ndarray | None, params: Mapping[str, Any]) -> Any:
    """Fit one candidate; returns an ``xgboost.Booster`` or a ``LinearModel``.

    ``params`` are the run's trainer params (``seed`` and the tenant's overrides); they
    reach the domain's trainer, and the seed reaches every candidate.
    """
    seed = int(params.get("seed", 0))
    if candidate.kind == "logistic":
        return LinearModel.fit(features, labels, weights, C=float(candidate.params.get("C", 1)))
    if candidate.kind == "xgboost":
        return train_xgboost(features, labels, weights,
                             {**SMALL_XGBOOST, **dict(candidate.params), "seed": seed})
    import xgboost as xgb

    booster = host.call_first("tracer_train", domain, features=features, labels=labels,
                              weights=weights, params={**dict(params), **candidate.params})
    if not isinstance(booster, xgb.Booster):
        raise ModelError(f"tracer_train for {domain.name} returned {type(booster).__name__}, "
                         "expected an xgboost.Booster")
    return booster


def margin(fitted: Any, features: pd.DataFrame) -> np.ndarray:
    """Uncalibrated log-odds of a fitted candidate."""
    if isinstance(fitted, LinearModel):
        return fitted.margin(features[fitted.feature_names].to_numpy(dtype=np.float64))
    raw = fitted.inplace_predict(features.to_numpy(dtype=np.float32), predict_type="margin")
    return np.asarray(raw, dtype=np.float64)


def size(fitted: Any) -> str:
    """How big a fitted model is, in words for the leaderboard."""
    if isinstance(fitted, LinearModel):
        return f"{fitted.size} coefficients"
    return f"{fitted.num_boosted_rounds()} trees"


def train_xgboost(features: pd.DataFrame, labels: npt.ArrayLike, weights: npt.ArrayLike | None,
                  params: Mapping[str, Any]) -> xgb.Booster:
    """Boost with early stopping on the latest rows, then refit on every row.

    Features arrive in time order. The last ``early_stopping_fraction`` of them picks the
    number of rounds (early stopping on log-loss); the booster is then refit on all rows
    with that many rounds, scaled for the larger set, so no row is wasted.
    """
    import xgboost as xgb

    # one thread: on a shared 2-core machine OpenMP's second thread spin-waits for a core
    # (200 rounds on 55k rows: 0.9 s with one thread, 1.5 s wall and 1.9 s CPU with two)
    merged = {"objective": "binary:logistic", "eval_metric": "logloss",
              "tree_method": "hist", "nthread": 1, "num_boost_round": 400,
              "early_stopping_rounds": 40, "early_stopping_fraction": 0.15, **dict(params)}
    rounds = int(merged.pop("num_boost_round"))
    patience = int(merged.pop("early_stopping_rounds"))
    fraction = float(merged.pop("early_stopping_fraction"))
    merged["seed"] = int(merged.pop("seed", 0))
    y = np.asarray(labels, dtype=np.float32)
    w = None if weights is None else np.asarray(weights, dtype=np.float32)
    cut = int(len(y) * (1 - fraction))
    if patience and 0 < cut < len(y) and len(np.unique(y[cut:])) == 2:
        fit_rows = xgb.DMatrix(features.iloc[:cut], label=y[:cut],
                               weight=None if w is None else w[:cut])
        stop = xgb.DMatrix(features.iloc[cut:], label=y[cut:],
                           weight=None if w is None else w[cut:])
        probe = xgb.train(merged, fit_rows, num_boost_round=rounds, evals=[(stop, "stop")],
                          early_stopping_rounds=patience, verbose_eval=False)
        rounds = max(10, int(round((probe.best_iteration + 1) * len(y) / max(cut, 1))))
    full = xgb.DMatrix(features, label=y, weight=w)
    return xgb.train(merged, full, num_boost_round=rounds, verbose_eval=False)
