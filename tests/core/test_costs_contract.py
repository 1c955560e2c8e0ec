"""Contract for outcome-dependent weights and per-class feature state, any domain.

A domain that undersampled one outcome (a fraud file keeping 40 % of legitimate rows)
needs weights that depend on the label, and features that learn from one class only
(quantiles of legitimate traffic). The platform provides both, generically:

- ``Domain.weight`` is called on the training records with the label added as 0/1;
- while fitting, ``FeatureState.labels`` and ``.weights`` hold the training part's
  outcomes and weights; they are gone afterwards and never stored with the model;
- a tenant whose own file is not sampled trains with ``params={"weights": False}``.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from tracer import CostModel, hookimpl, lifecycle

from tests.core.toy import ToyPlugin, make_frame, toy_domain


def worded_frame() -> pd.DataFrame:
    """The toy data with the outcome as words: the weight must still see 0/1."""
    frame = make_frame()
    frame["outcome"] = np.where(frame["outcome"] == 1, "left", "stayed")
    return frame


def test_weight_sees_the_label_as_zero_one_and_sets_the_base_rate(bare_host, store):
    seen: list[set] = []

    def undo_sampling(records: pd.DataFrame) -> np.ndarray:
        seen.append(set(records["outcome"].unique()))
        return np.where(records["outcome"] == 1, 1.0, 2.5)

    domain = toy_domain(weight=undo_sampling, positive_label="left",
                        load_reference=worded_frame)
    bare_host.register(ToyPlugin(domain), name="toy")
    result = lifecycle.train(bare_host, store, "toy/signal")

    assert seen == [{0, 1}]
    y = (worded_frame()["outcome"] == "left").to_numpy()  # the served model saw every row
    w = np.where(y, 1.0, 2.5)
    model = store.load("toy.signal", result.version)
    assert model.base_rate == pytest.approx(np.sum(w * y) / np.sum(w), abs=1e-12)
    assert model.base_rate < y.mean() - 0.1  # the unweighted rate would be far higher


class LabelAware(ToyPlugin):
    """Learns the signal's mean over negative records only, and records what it saw."""

    def __init__(self, domain) -> None:
        super().__init__(domain)
        self.calls: list[tuple[bool, int, object, object]] = []

    @hookimpl
    def tracer_features(self, domain, records, state):
        self.calls.append((state.fitting, len(records),
                           None if state.labels is None else np.asarray(state.labels).copy(),
                           None if state.weights is None else np.asarray(state.weights).copy()))
        if state.fitting:
            negatives = records["signal"][np.asarray(state.labels) == 0]
            state.values["signal_mean"] = float(negatives.mean())
        centred = records["signal"] - state.values["signal_mean"]
        return pd.DataFrame({"signal": centred, "count": records["count"]})


def test_features_see_training_labels_and_weights_only_while_fitting(bare_host, store):
    domain = toy_domain(weight=lambda r: np.where(r["outcome"] == 1, 1.0, 4.0))
    plugin = LabelAware(domain)
    bare_host.register(plugin, name="toy")
    result = lifecycle.train(bare_host, store, "toy/signal")

    frame = make_frame()
    fitting = [c for c in plugin.calls if c[0]]
    # three cross-validation windows, the training part, then every row for the refit
    assert [c[1] for c in fitting] == [192, 288, 384, 480, 600]
    assert result.rows == {"training": 480, "evaluation": 120, "served": 600}
    for _, rows, labels, weights in fitting:
        np.testing.assert_array_equal(labels, frame["outcome"].to_numpy()[:rows])
        np.testing.assert_array_equal(weights, np.where(labels == 1, 1.0, 4.0))
    assert all(c[2] is None and c[3] is None for c in plugin.calls if not c[0])

    model = store.load("toy.signal", result.version)
    negatives = frame["signal"][frame["outcome"] == 0]  # the served model saw every row
    assert model.state.values == {"signal_mean": pytest.approx(float(negatives.mean()))}
    assert model.state.labels is None and model.state.weights is None
    json.dumps(model.state.values)  # only the learned values travel with the model


def test_tenant_cost_overrides_move_the_stored_threshold(bare_host, store):
    domain = toy_domain(cost_model=CostModel(false_positive=1.0, false_negative=20.0))
    bare_host.register(ToyPlugin(domain), name="toy")
    cheap_reviews = lifecycle.train(bare_host, store, "toy/signal")
    dear_reviews = lifecycle.train(bare_host, store, "toy/signal",
                                   params={"costs": {"false_positive": 15.0}})

    assert cheap_reviews.extras["costs"]["false_positive"] == 1.0
    assert dear_reviews.extras["costs"]["false_positive"] == 15.0
    assert dear_reviews.threshold > cheap_reviews.threshold + 0.2
    stored = store.load("toy.signal", dear_reviews.version)
    assert stored.threshold == pytest.approx(dear_reviews.threshold)
    assert stored.info["costs"]["false_positive"] == 15.0


def test_a_tenant_turns_the_domain_weights_off_for_an_unsampled_file(bare_host, store):
    domain = toy_domain(weight=lambda r: np.where(r["outcome"] == 1, 1.0, 2.5))
    plugin = LabelAware(domain)
    bare_host.register(plugin, name="toy")
    result = lifecycle.train(bare_host, store, "toy/signal", tenant="acme",
                             params={"weights": False})

    y = make_frame()["outcome"].to_numpy()
    model = store.load("acme.toy.signal", result.version)
    assert model.base_rate == pytest.approx(y.mean(), abs=1e-12)
    assert plugin.calls[0][3] is None  # features saw no weights either
    run = store.client.get_run(result.mlflow_run_id)
    assert run.data.params["sample_weights"] == "False"
    assert "train.weights" not in run.data.params
