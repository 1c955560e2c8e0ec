"""The candidate leaderboard, the refit on all rows, out-of-fold calibration, explanations
of every model kind and noise-aware promotion, on toy domains and a real MLflow store."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tracer import FeatureState, hookimpl, lifecycle
from tracer.candidates import Candidate
from tracer.features import compute_features
from tracer.linear import LinearModel
from tracer.model import fit_platt, logit
from tracer.promotion import paired_bootstrap
from tracer.scoring import scorer_for
from tracer.selection import Standing, choose, expanding_windows
from tracer.tracking import CHAMPION

from tests.core.toy import ToyPlugin, make_frame, make_interaction_frame, toy_domain


@pytest.fixture
def toy_host(bare_host):
    bare_host.register(ToyPlugin(), name="toy")
    return bare_host


def logged(store, result) -> Path:
    return Path(store.client.get_run(result.mlflow_run_id).info.artifact_uri
                .removeprefix("file://"))


def test_expanding_windows_grow_and_never_overlap_their_validation():
    windows = expanding_windows(480)
    assert [(w.fit.stop, w.validate.start, w.validate.stop) for w in windows] == [
        (192, 192, 288), (288, 288, 384), (384, 384, 480)]
    assert all(w.fit.start == 0 for w in windows)


def standing(name: str, complexity: int, primary: list[float], loss: list[float]) -> Standing:
    s = Standing(Candidate(name, "logistic", {}, complexity))
    s.folds = [{"accuracy": a, "log_loss": b} for a, b in zip(primary, loss, strict=True)]
    return s


def test_rule_primary_first_then_log_loss_then_the_simpler():
    clear = standing("clear", 30, [0.80, 0.82, 0.81], [0.50, 0.50, 0.50])
    behind = standing("behind", 1, [0.70, 0.71, 0.72], [0.40, 0.40, 0.40])
    assert choose([behind, clear], "accuracy")[0] is clear  # log-loss cannot rescue a loser
    near = standing("near", 30, [0.801, 0.821, 0.809], [0.45, 0.46, 0.44])
    winner, reason = choose([clear, near], "accuracy")
    assert winner is near and "lowest log-loss" in reason
    twin = standing("twin", 2, [0.801, 0.821, 0.809], [0.451, 0.459, 0.441])
    winner, reason = choose([near, twin], "accuracy")
    assert winner is twin and "simplest" in reason


def test_logistic_regression_wins_on_a_linear_domain_and_serves(toy_host, store):
    result = lifecycle.train(toy_host, store, "toy/signal")
    board = result.extras["leaderboard"]
    assert board["winner"].startswith("logistic regression")
    assert [c["name"] for c in board["candidates"]][0] == board["winner"]
    assert {c["name"] for c in board["candidates"]} == {
        "logistic regression C=0.01", "logistic regression C=0.1", "logistic regression C=1",
        "small XGBoost", "domain trainer"}
    assert all(len(c["folds"]) == 3 for c in board["candidates"])
    model = store.load("toy.signal", result.version)
    assert model.kind == "linear" and model.booster is None
    # the leaderboard reached MLflow (artifact and metrics) and the model card
    artifacts = logged(store, result)
    assert json.loads((artifacts / "leaderboard.json").read_text())["winner"] == board["winner"]
    metrics = store.client.get_run(result.mlflow_run_id).data.metrics
    assert "leaderboard.small_xgboost.roc_auc_mean" in metrics
    assert "| small XGBoost |" in result.model_card
    assert store.leaderboard("toy.signal", result.version)["winner"] == board["winner"]
    # stored as JSON numbers: no booster file, no pickle
    files = [p for p in store.settings.home.rglob("*") if p.is_file()]
    assert not any(p.name == "model.ubj" for p in files)
    state = json.loads(next(p for p in files if p.name == "state.json"
                            and "cache" in p.parts).read_text())
    assert state["kind"] == "linear" and len(state["linear"]["coef"]) == 3


def test_trees_win_on_an_interaction_domain_and_serve_with_tree_shap(bare_host, store):
    bare_host.register(ToyPlugin(toy_domain(load_reference=make_interaction_frame)),
                       name="toy")
    result = lifecycle.train(bare_host, store, "toy/signal")
    board = result.extras["leaderboard"]
    kinds = {c["name"]: c["kind"] for c in board["candidates"]}
    assert kinds[board["winner"]] in ("xgboost", "trainer")
    best_linear = max(c["mean"] for c in board["candidates"] if c["kind"] == "logistic")
    assert best_linear < 0.65 < board["candidates"][0]["mean"]
    assert result.metrics["roc_auc"] > result.baselines["logistic regression"]["roc_auc"] + 0.2
    assert result.baselines["logistic regression"]["roc_auc_model_minus_low"] > 0
    model = store.load("toy.signal", result.version)
    assert model.kind == "booster"
    scorer = scorer_for(bare_host, store, "toy/signal")
    for answer in scorer.score(make_interaction_frame(40, seed=2).drop(columns=["outcome"]),
                               top=10):
        total = sum(f["contribution"] for f in answer["factors"]) + answer["bias"]
        assert total == pytest.approx(float(logit(np.array(answer["probability"]))), abs=1e-4)


def test_the_served_model_is_the_winner_refit_on_every_row(toy_host, store):
    result = lifecycle.train(toy_host, store, "toy/signal")
    assert result.rows == {"training": 480, "evaluation": 120, "served": 600}
    model = store.load("toy.signal", result.version)
    assert model.info["trained_through"] == 599 and model.info["rows"] == 600
    frame = make_frame()
    records = frame.drop(columns=["outcome"])
    state = FeatureState(fitting=True, labels=frame["outcome"].to_numpy())
    features = compute_features(toy_host, toy_host.domain("toy/signal"), records, state)
    assert model.state.values == state.values  # feature state learned on all 600 rows
    C = model.info["candidate"]["params"]["C"]
    refit = LinearModel.fit(features, frame["outcome"].to_numpy(), None, C=C)
    np.testing.assert_allclose(model.linear.coef, refit.coef, rtol=1e-6)
    on_training_part = LinearModel.fit(features.iloc[:480], frame["outcome"].to_numpy()[:480],
                                       None, C=C)
    assert not np.allclose(model.linear.coef, on_training_part.coef, rtol=1e-3)


def test_calibration_comes_from_out_of_fold_margins(toy_host, store):
    # deep trees at full learning rate memorise their rows: on their own training rows the
    # margins look trustworthy (Platt would keep a near 1); out of fold they are overconfident
    overfit = {"max_depth": 6, "eta": 1.0, "num_boost_round": 200, "early_stopping_rounds": 0,
               "min_child_weight": 0.0, "lambda": 0.0, "subsample": 1.0,
               "colsample_bytree": 1.0, "candidates": ["domain trainer"]}
    result = lifecycle.train(toy_host, store, "toy/signal", params=overfit)
    model = store.load("toy.signal", result.version)
    assert model.calibration == result.extras["calibration"]
    assert model.calibration["a"] < 0.6
    frame = make_frame()
    state = FeatureState(fitting=True, labels=frame["outcome"].to_numpy())
    x = compute_features(toy_host, toy_host.domain("toy/signal"),
                         frame.drop(columns=["outcome"]), state)
    in_sample = fit_platt(model.raw_margin(x), frame["outcome"].to_numpy(), None)
    assert in_sample["a"] > 0.95 > 0.6 > model.calibration["a"]
    assert result.metrics["ece"] < result.metrics["ece_uncalibrated"] - 0.05
    assert result.metrics["ece_out_of_fold"] < 0.1


def test_linear_contributions_are_exact_and_add_up(toy_host, store):
    lifecycle.train(toy_host, store, "toy/signal")
    scorer = scorer_for(toy_host, store, "toy/signal")
    model = scorer.model
    records = make_frame(30, seed=99).drop(columns=["outcome"])
    answers = scorer.score(records, top=10)
    x = compute_features(toy_host, scorer.domain, records, scorer.state).to_numpy(np.float64)
    a, b = model.calibration["a"], model.calibration["b"]
    lin = model.linear
    for i, answer in enumerate(answers):
        total = sum(f["contribution"] for f in answer["factors"]) + answer["bias"]
        assert total == pytest.approx(float(logit(np.array(answer["probability"]))), abs=1e-9)
        assert answer["bias"] == pytest.approx(a * lin.intercept + b)
        for factor in answer["factors"]:
            j = model.feature_names.index(factor["feature"])
            expected = a * lin.coef[j] * (x[i, j] - lin.mean[j]) / lin.scale[j]
            assert factor["contribution"] == pytest.approx(expected, abs=1e-9)
    # a feature at its training mean says nothing
    at_mean = pd.DataFrame([dict(zip(model.feature_names, lin.mean, strict=True))])
    terms, _ = model.contributions(at_mean)
    np.testing.assert_allclose(terms, 0.0, atol=1e-6)


def test_paired_bootstrap_sees_noise_and_a_real_difference():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    p = np.clip(y * 0.3 + rng.random(400) * 0.7, 0, 1)
    same = paired_bootstrap("roc_auc", y, p, p.copy(), samples=200)
    assert (same.difference, same.low, same.high) == (0.0, 0.0, 0.0)
    assert not same.better("roc_auc")
    worse = rng.random(400)
    clear = paired_bootstrap("roc_auc", y, p, worse, samples=200)
    assert clear.low > 0.1 and clear.better("roc_auc")
    assert not clear.better("log_loss")  # for a loss, better means below zero


def test_a_challenger_within_noise_is_refused(toy_host, store):
    frame = make_frame()
    lifecycle.train(toy_host, store, "toy/signal", data=frame.iloc[:400])
    # the same kind of model with 80 more rows: different, but not measurably better
    result = lifecycle.train(toy_host, store, "toy/signal", data=frame)
    comparison = result.extras["comparison"]
    assert comparison["low"] < 0 < comparison["high"]
    assert result.promoted is False
    assert result.decision.startswith("kept champion: the difference is within noise")
    assert "on the same 120 evaluation records" in result.decision
    assert "Rule: promote only if the 95 % paired-bootstrap interval" in result.decision
    assert store.alias("toy.signal", CHAMPION).version == 1
    assert result.decision in result.model_card


def test_a_champion_is_not_judged_on_rows_it_trained_on(toy_host, store):
    lifecycle.train(toy_host, store, "toy/signal")
    again = lifecycle.train(toy_host, store, "toy/signal")
    assert again.promoted is False and again.champion_metric is None
    assert "was trained on these evaluation records (0 of 120 are new to it" in again.decision


def test_a_plugin_adds_a_candidate_through_the_contract(bare_host, store):
    class WithCandidate(ToyPlugin):
        @hookimpl
        def tracer_candidates(self, domain):
            return [{"name": "stumps", "kind": "trainer", "complexity": 20,
                     "params": {"max_depth": 1, "num_boost_round": 30,
                                "early_stopping_rounds": 0}},
                    Candidate("very regularised", "logistic", {"C": 0.001}, 0)]

    bare_host.register(WithCandidate(), name="toy")
    result = lifecycle.train(bare_host, store, "toy/signal")
    names = [c["name"] for c in result.extras["leaderboard"]["candidates"]]
    assert {"stumps", "very regularised"} <= set(names) and len(names) == 7
    sizes = {c["name"]: c["sizes"][-1] for c in result.extras["leaderboard"]["candidates"]}
    assert sizes["stumps"] == "30 trees"
