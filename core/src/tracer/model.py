"""A trained domain model as data: an XGBoost booster (UBJ) or a standardised logistic
regression (JSON numbers), plus JSON state. Never pickled.

Probabilities are Platt-calibrated on the model's margin: ``logit(p) = a * margin + b``.
Because calibration is affine in log-odds, contributions (TreeSHAP for boosters, exact
coefficient × standardised deviation for linear models) scale by ``a`` and still add up
exactly: ``sum(contributions) + bias == logit(p)`` for every row, whichever kind serves.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from tracer.domain import FeatureState
from tracer.errors import ModelError
from tracer.linear import LinearModel

if TYPE_CHECKING:
    from pathlib import Path

    import pandas as pd

BOOSTER_FILE = "model.ubj"
STATE_FILE = "state.json"
FORMAT_VERSION = 2
#: versions this code still loads (1: booster only, before linear models could serve)
READABLE_FORMATS = (1, 2)
#: feature matrices (float32), margins and probabilities (float64)
Floats = npt.NDArray[np.floating[Any]]


def sigmoid(x: Floats) -> Floats:
    return 1.0 / (1.0 + np.exp(-x))


def logit(p: Floats) -> Floats:
    p = np.clip(p, 1e-12, 1 - 1e-12)
    return np.log(p / (1 - p))


@dataclass
class TracerModel:
    domain: str
    domain_version: str
    booster: Any  # xgboost.Booster, or None when a linear model serves
    feature_names: list[str]
    state: FeatureState
    calibration: dict[str, float] = field(default_factory=lambda: {"a": 1.0, "b": 0.0})
    threshold: float = 0.5
    base_rate: float = 0.5
    info: dict[str, Any] = field(default_factory=dict)
    linear: LinearModel | None = None

    @property
    def kind(self) -> str:
        return "linear" if self.linear is not None else "booster"

    # -- scoring -------------------------------------------------------------------------

    def matrix(self, features: pd.DataFrame | Floats) -> Floats:
        """The model's feature columns, in training order, as float32 (passed through if
        already a matrix, so a caller converting once can score and explain from it)."""
        if isinstance(features, np.ndarray):
            return features
        missing = [c for c in self.feature_names if c not in features.columns]
        if missing:
            raise ModelError(f"features {missing[:5]} that the model was trained on are missing")
        matrix: Floats = features[self.feature_names].to_numpy(dtype=np.float32)
        return matrix

    def raw_margin(self, features: pd.DataFrame | Floats) -> Floats:
        """The model's own log-odds, before calibration."""
        if self.linear is not None:
            return self.linear.margin(self.matrix(features))
        raw = self.booster.inplace_predict(self.matrix(features), predict_type="margin")
        return np.asarray(raw, dtype=np.float64)

    def calibrate(self, raw_margin: Floats) -> Floats:
        return self.calibration["a"] * raw_margin + self.calibration["b"]

    def margin(self, features: pd.DataFrame | Floats) -> Floats:
        return self.calibrate(self.raw_margin(features))

    def predict_proba(self, features: pd.DataFrame | Floats) -> Floats:
        return sigmoid(self.margin(features))

    def contributions(self, features: pd.DataFrame | Floats
                      ) -> tuple[Floats, Floats]:
        """Contributions (n, f) and bias (n,) in calibrated log-odds: exact linear terms for
        a linear model, TreeSHAP for a booster."""
        values = self.matrix(features)
        a, b = self.calibration["a"], self.calibration["b"]
        if self.linear is not None:
            terms, bias = self.linear.contributions(values)
            return a * terms, a * bias + b
        import xgboost as xgb

        # a thread pool costs more than it saves on small batches (16-27 ms per row measured
        # on a loaded 2-core machine, against 0.07 ms single-threaded)
        # no feature names on the matrix: its columns are the model's, in order (matrix()),
        # and naming them cost a tenth of a one-row explanation
        matrix = xgb.DMatrix(values, nthread=1 if len(values) < 2_000 else -1)
        raw = self.booster.predict(matrix, pred_contribs=True, validate_features=False)
        return a * raw[:, :-1].astype(np.float64), a * raw[:, -1].astype(np.float64) + b

    # -- storage -------------------------------------------------------------------------

    def save(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        if self.linear is None:
            self.booster.save_model(str(folder / BOOSTER_FILE))
        meta = {
            "format": FORMAT_VERSION, "domain": self.domain,
            "domain_version": self.domain_version, "feature_names": self.feature_names,
            "calibration": self.calibration, "threshold": self.threshold,
            "base_rate": self.base_rate, "feature_state": self.state.values, "info": self.info,
            "kind": self.kind,
            "linear": None if self.linear is None else self.linear.to_json(),
        }
        try:
            text = json.dumps(meta, indent=1, allow_nan=False, default=_jsonable)
        except (TypeError, ValueError) as exc:
            raise ModelError(f"feature state of {self.domain} is not JSON: {exc}") from exc
        (folder / STATE_FILE).write_text(text)
        return folder

    @classmethod
    def load(cls, folder: Path) -> TracerModel:
        import xgboost as xgb

        meta = json.loads((folder / STATE_FILE).read_text())
        if meta.get("format") not in READABLE_FORMATS:
            raise ModelError(f"{folder}: unknown model format {meta.get('format')!r}")
        linear, booster = None, None
        if meta.get("linear"):
            linear = LinearModel.from_json(meta["linear"])
        else:
            booster = xgb.Booster()
            booster.load_model(str(folder / BOOSTER_FILE))
            booster.set_param({"nthread": 1})  # one-row serving is faster single-threaded
        return cls(domain=meta["domain"], domain_version=meta["domain_version"],
                   booster=booster, feature_names=meta["feature_names"],
                   state=FeatureState(fitting=False, values=meta["feature_state"]),
                   calibration=meta["calibration"], threshold=meta["threshold"],
                   base_rate=meta["base_rate"], info=meta.get("info", {}), linear=linear)


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def fit_platt(margins: np.ndarray, labels: np.ndarray,
              weights: np.ndarray | None) -> dict[str, float]:
    """Fit ``logit(p) = a * margin + b`` by weighted maximum likelihood."""
    from sklearn.linear_model import LogisticRegression

    if len(np.unique(labels)) < 2:
        return {"a": 1.0, "b": 0.0}
    lr = LogisticRegression(C=1e6, max_iter=1000)
    lr.fit(margins.reshape(-1, 1), labels, sample_weight=weights)
    return {"a": float(lr.coef_[0, 0]), "b": float(lr.intercept_[0])}
