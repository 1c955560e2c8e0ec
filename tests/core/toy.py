"""A small synthetic domain for core tests: no first-party plugin involved.

Two informative columns and one noise column; ``seq`` orders records in time.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field
from tracer import Baseline, Domain, Explanation, hookimpl
from tracer.explain import rank_factors


class ToyRecord(BaseModel):
    signal: float = Field(description="the informative column")
    count: int = Field(ge=0, description="a non-negative count")
    noise: float = Field(description="pure noise")


def make_frame(n: int = 600, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    signal = rng.normal(size=n)
    count = rng.integers(0, 10, size=n)
    logit = 1.8 * signal + 0.25 * (count - 5)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame({"seq": np.arange(n), "signal": signal, "count": count,
                         "noise": rng.normal(size=n), "outcome": y})


def toy_domain(name: str = "toy/signal", **overrides) -> Domain:
    fields = dict(
        name=name, version="1.0.0", title="Toy signal", record=ToyRecord, label="outcome",
        order_by="seq", load_reference=make_frame, primary_metric="roc_auc",
        certification_threshold=0.7, outcome="the outcome happens",
        baseline=Baseline("signal is positive", lambda r: (r["signal"] > 0).astype(float)),
        train_params={"num_boost_round": 60, "max_depth": 2})
    fields.update(overrides)
    return Domain(**fields)


class ToyPlugin:
    """A domain plugin as an object (what a test or an embedding app registers)."""

    def __init__(self, domain: Domain | None = None) -> None:
        self.domain = domain or toy_domain()

    @hookimpl
    def tracer_domains(self):
        return [self.domain]

    @hookimpl
    def tracer_features(self, domain, records, state):
        if state.fitting:
            state.values["signal_mean"] = float(records["signal"].mean())
        centred = records["signal"] - state.values["signal_mean"]
        return pd.DataFrame({"signal": centred, "count": records["count"],
                             "noise": records["noise"]})

    @hookimpl
    def tracer_explain(self, domain, prediction):
        factors = rank_factors(prediction, lambda f, v, c: f"{f} is {v:.2f}")
        return Explanation(factors=factors, summary=f"{prediction.probability:.0%}")


def make_interaction_frame(n: int = 600, seed: int = 11) -> pd.DataFrame:
    """The outcome follows the *product* of signal and noise: no line separates it, trees
    do (a logistic regression on the columns scores about chance)."""
    rng = np.random.default_rng(seed)
    signal, noise = rng.normal(size=n), rng.normal(size=n)
    logit = 3.0 * np.sign(signal * noise)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame({"seq": np.arange(n), "signal": signal,
                         "count": rng.integers(0, 10, size=n), "noise": noise, "outcome": y})
