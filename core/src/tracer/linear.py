"""Standardised logistic regression as data: means, scales, coefficients and an intercept.

``margin(x) = intercept + Σ_j coef_j · (x_j − mean_j) / scale_j``. Each term of the sum is
feature *j*'s exact contribution: on the standardised scale a feature sitting at its
(weighted) training mean contributes nothing, and contributions plus the intercept add up
to the margin with no approximation. A missing value is read as the training mean, so it
contributes nothing either. Everything is stored as JSON numbers; nothing is pickled.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    import pandas as pd

KIND = "linear"
#: one float per feature (means, spreads, coefficients) or per row and feature
Floats = npt.NDArray[np.float64]


@dataclass
class LinearModel:
    feature_names: list[str]
    mean: Floats
    scale: Floats
    coef: Floats
    intercept: float
    C: float = 1.0

    @classmethod
    def fit(cls, features: pd.DataFrame, labels: np.ndarray, weights: np.ndarray | None,
            C: float = 1.0, max_iter: int = 2000) -> LinearModel:
        """Standardise with the (weighted) training mean and spread, then fit L2 logistic
        regression with inverse regularisation strength ``C``."""
        from sklearn.linear_model import LogisticRegression

        x = features.to_numpy(dtype=np.float64)
        w = np.ones(len(x)) if weights is None else np.asarray(weights, dtype=np.float64)
        present = ~np.isnan(x)
        total = (w[:, None] * present).sum(axis=0)
        mean = np.where(total > 0, np.nansum(w[:, None] * x, axis=0) / np.maximum(total, 1e-300),
                        0.0)
        var = np.nansum(w[:, None] * (x - mean) ** 2, axis=0) / np.maximum(total, 1e-300)
        scale = np.sqrt(var)
        scale = np.where(np.isfinite(scale) & (scale > 1e-12), scale, 1.0)
        model = cls(list(features.columns), mean, scale, np.zeros(x.shape[1]), 0.0, float(C))
        z = model.standardise(x)
        y = np.asarray(labels)
        if len(np.unique(y)) < 2:
            rate = float(np.clip(np.sum(w * y) / np.sum(w), 1e-6, 1 - 1e-6))
            model.intercept = float(np.log(rate / (1 - rate)))
            return model
        lr = LogisticRegression(C=C, max_iter=max_iter)
        lr.fit(z, y, sample_weight=w)
        model.coef, model.intercept = lr.coef_[0].astype(np.float64), float(lr.intercept_[0])
        return model

    def standardise(self, x: npt.ArrayLike) -> Floats:
        z = (np.asarray(x, dtype=np.float64) - self.mean) / self.scale
        return np.where(np.isnan(z), 0.0, z)

    def margin(self, x: npt.ArrayLike) -> Floats:
        """Log-odds of each row (before the platform's calibration)."""
        return self.standardise(x) @ self.coef + self.intercept

    def contributions(self, x: npt.ArrayLike) -> tuple[Floats, Floats]:
        """Exact per-feature contributions (n, f) and the bias (n,): they add up to the margin."""
        z = self.standardise(x)
        return z * self.coef, np.full(len(z), self.intercept)

    @property
    def size(self) -> int:
        """Non-zero coefficients: what a person reading the model has to read."""
        return int(np.sum(np.abs(self.coef) > 0))

    def to_json(self) -> dict[str, Any]:
        return {"kind": KIND, "feature_names": self.feature_names, "C": self.C,
                "intercept": float(self.intercept),
                "mean": [float(v) for v in self.mean], "scale": [float(v) for v in self.scale],
                "coef": [float(v) for v in self.coef]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LinearModel:
        return cls(feature_names=list(data["feature_names"]),
                   mean=np.asarray(data["mean"], dtype=np.float64),
                   scale=np.asarray(data["scale"], dtype=np.float64),
                   coef=np.asarray(data["coef"], dtype=np.float64),
                   intercept=float(data["intercept"]), C=float(data.get("C", 1.0)))
