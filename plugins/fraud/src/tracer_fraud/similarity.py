"""How close a payment comes to a fraud seen in training.

Card fraud arrives in campaigns: the same stolen card or the same attack replayed looks
alike in the anonymised components. The distance from a payment to the nearest training
fraud, with each component scaled by its spread in legitimate traffic, carries that.

While fitting, a training fraud is never its own neighbour (its distance would be 0 and
the model would learn to trust a signal new frauds never give).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tracer_fraud.traffic import legitimate_rows

if TYPE_CHECKING:
    import pandas as pd
    from tracer import FeatureState

EXEMPLARS = "fraud_exemplars"
#: the distance reported when training saw no fraud (unlabelled fits): far from anything
FAR = 100.0


def fit_fraud_exemplars(components: pd.DataFrame, state: FeatureState) -> None:
    """Store the training frauds (scaled) and each component's legitimate spread."""
    spread = legitimate_rows(components, state).std(ddof=0).replace(0.0, 1.0)
    frauds = (components[np.asarray(state.labels) == 1] if state.labels is not None
              else components.iloc[:0])
    state.values[EXEMPLARS] = {
        "spread": [round(float(s), 6) for s in spread],
        "frauds": np.round(frauds.to_numpy() / spread.to_numpy(), 5).tolist(),
    }


def nearest_fraud_distance(components: pd.DataFrame, state: FeatureState) -> np.ndarray:
    stored = state.values.get(EXEMPLARS)
    if not stored or not stored["frauds"]:
        return np.full(len(components), FAR)
    scaled = components.to_numpy(dtype=np.float64) / np.asarray(stored["spread"])
    frauds = np.asarray(stored["frauds"], dtype=np.float64)
    # while fitting, exemplar j is training row own[j]
    own = (np.flatnonzero(np.asarray(state.labels) == 1)
           if state.fitting and state.labels is not None else np.array([], dtype=int))
    best = np.full(len(components), np.inf)
    for start in range(0, len(scaled), 4096):  # bounded memory: 4096 × frauds × 28
        block = scaled[start:start + 4096]
        d = np.sqrt(((block[:, None, :] - frauds[None, :, :]) ** 2).sum(axis=2))
        inside = (own >= start) & (own < start + len(block))
        d[own[inside] - start, np.flatnonzero(inside)] = np.inf
        best[start:start + len(block)] = d.min(axis=1)
    return np.minimum(best, FAR)
