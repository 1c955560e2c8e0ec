"""The model lifecycle against a real MLflow store (SQLite backend, local artifacts)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select
from tracer import CostModel, hookimpl, lifecycle
from tracer.db import session
from tracer.errors import (
    ConflictError,
    LabelError,
    PluginError,
    UnknownDomainError,
    ValidationError,
)
from tracer.model import logit
from tracer.models import TrainingRun
from tracer.scoring import scorer_for
from tracer.tracking import CHALLENGER, CHAMPION, PREVIOUS

from tests.core.toy import ToyPlugin, make_frame, toy_domain


@pytest.fixture
def toy_host(bare_host):
    bare_host.register(ToyPlugin(), name="toy")
    return bare_host


def test_first_version_becomes_champion_with_metrics_and_baselines(toy_host, store):
    result = lifecycle.train(toy_host, store, "toy/signal")

    assert (result.version, result.promoted) == (1, True)
    assert result.decision == "promoted: no champion yet"
    assert result.rows == {"training": 480, "evaluation": 120, "served": 600}
    assert store.alias("toy.signal", CHAMPION).version == 1
    assert store.alias("toy.signal", CHALLENGER).version == 1
    assert result.metrics["roc_auc"] > 0.75
    low, high = result.interval
    assert low < result.metrics["roc_auc"] < high
    assert set(result.baselines) == {"majority class", "rule: signal is positive",
                                     "logistic regression"}
    assert result.baselines["majority class"]["roc_auc"] == pytest.approx(0.5)
    assert result.metrics["roc_auc"] > result.baselines["rule: signal is positive"]["roc_auc"]
    for name in ("accuracy", "roc_auc", "auprc", "log_loss", "brier", "ece"):
        assert np.isfinite(result.metrics[name])
    with session(toy_host.settings) as s:
        run = s.get(TrainingRun, result.run_id)
        assert (run.status, run.model_version, run.decision) == ("succeeded", 1, result.decision)


def test_run_logs_card_plot_signature_and_native_model_without_pickle(toy_host, store):
    # the domain trainer only: a booster serves, logged as an MLflow XGBoost model
    result = lifecycle.train(toy_host, store, "toy/signal",
                             params={"candidates": ["domain trainer"]})
    run = store.client.get_run(result.mlflow_run_id)
    assert run.data.params["rows_evaluation"] == "120"
    assert run.data.params["model_kind"] == "booster"
    assert "baseline.logistic_regression.roc_auc" in run.data.metrics
    artifacts = Path(run.info.artifact_uri.removeprefix("file://"))
    assert (artifacts / "model_card.md").read_text().startswith("# Model card: toy.signal")
    assert (artifacts / "reliability.png").read_bytes()[:4] == b"\x89PNG"
    evaluation = json.loads((artifacts / "evaluation.json").read_text())
    assert evaluation["decision"] == result.decision
    model_dir = store.settings.home / "cache"
    store.load("toy.signal", 1)
    files = [p for p in store.settings.home.rglob("*") if p.is_file()]
    assert any(p.name == "model.ubj" for p in files)
    mlmodel = next(p for p in files if p.name == "MLmodel").read_text()
    assert "signature" in mlmodel and "xgboost" in mlmodel
    pickled = [p for p in files if p.suffix in (".pkl", ".pickle", ".joblib")
               or (p.stat().st_size > 2 and p.read_bytes()[:1] == b"\x80"
                   and p.read_bytes()[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"))]
    assert pickled == []
    assert model_dir.exists()


def test_worse_challenger_does_not_replace_the_champion(toy_host, store):
    lifecycle.train(toy_host, store, "toy/signal", data=make_frame().iloc[:400])
    frame = make_frame()
    # information destroyed in the rows the challenger learns from, not in the latest ones
    early = frame["seq"] < 480
    frame.loc[early, "signal"] = 0.0
    frame.loc[early, "count"] = 5
    result = lifecycle.train(toy_host, store, "toy/signal", data=frame)

    assert (result.version, result.promoted) == (2, False)
    assert result.decision.startswith("kept champion: the challenger is worse: roc_auc ")
    assert "vs champion v1" in result.decision
    assert "on the same 120 evaluation records" in result.decision
    assert result.champion_metric > result.metrics["roc_auc"]
    assert result.extras["comparison"]["high"] < 0
    assert store.alias("toy.signal", CHAMPION).version == 1
    assert store.alias("toy.signal", CHALLENGER).version == 2
    assert store.version("toy.signal", 2).tags["tracer.decision"] == result.decision


def test_better_challenger_is_promoted_and_rollback_restores(toy_host, store):
    noisy = make_frame()
    noisy["signal"] = noisy["signal"] + np.random.default_rng(3).normal(scale=3, size=len(noisy))
    first = lifecycle.train(toy_host, store, "toy/signal", data=noisy.iloc[:400])
    second = lifecycle.train(toy_host, store, "toy/signal", data=make_frame())
    # the champion was scored on the second run's evaluation records, which it never saw
    assert second.promoted and second.champion_metric is not None
    assert second.decision.startswith("promoted: better beyond noise")
    assert second.extras["comparison"]["low"] > 0
    assert store.alias("toy.signal", CHAMPION).version == 2
    assert store.alias("toy.signal", PREVIOUS).version == first.version

    assert lifecycle.rollback(store, "toy.signal") == 1
    assert store.alias("toy.signal", CHAMPION).version == 1
    lifecycle.promote(store, "toy.signal", 2)
    assert store.alias("toy.signal", CHAMPION).version == 2


def test_rollback_without_previous_champion_is_a_conflict(toy_host, store):
    lifecycle.train(toy_host, store, "toy/signal")
    with pytest.raises(ConflictError, match="no previous champion"):
        lifecycle.rollback(store, "toy.signal")


def test_failed_training_leaves_champion_untouched_and_is_recorded(toy_host, store):
    lifecycle.train(toy_host, store, "toy/signal")

    class BrokenTrainer:
        @hookimpl(tryfirst=True)
        def tracer_train(self, domain, features, labels, weights, params):
            raise MemoryError("out of memory in the trainer")

    toy_host.register(BrokenTrainer(), name="broken-trainer")
    with pytest.raises(PluginError, match="'broken-trainer' raised MemoryError in tracer_train"):
        lifecycle.train(toy_host, store, "toy/signal")
    assert store.alias("toy.signal", CHAMPION).version == 1
    assert [v.version for v in store.versions("toy.signal")] == [1]
    with session(toy_host.settings) as s:
        runs = s.scalars(select(TrainingRun).order_by(TrainingRun.started_at)).all()
        assert [r.status for r in runs] == ["succeeded", "failed"]
        assert "MemoryError" in runs[1].error


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda f: f.drop(columns=["signal"]), r"data\.csv: missing column 'signal' \(domain "
                                           r"toy/signal expects them\)"),
    (lambda f: f.assign(count=f["count"].astype(object).where(f.index != 4, "many")),
     r"data\.csv: row 5, column 'count': 'many' is not a number"),
    (lambda f: f.assign(count=f["count"].where(f.index != 9, -3)),
     r"row 10, column 'count': -3 is not >= 0"),
    (lambda f: f.assign(outcome=1), r"label column 'outcome' has only one class \(all "
                                    r"positive\); training needs both outcomes"),
    (lambda f: f.drop(columns=["outcome"]), r"missing column 'outcome'"),
])
def test_bad_training_files_fail_with_one_line_errors(toy_host, store, tmp_path, mutate, message):
    lifecycle.train(toy_host, store, "toy/signal")
    path = tmp_path / "data.csv"
    mutate(make_frame()).to_csv(path, index=False)
    with pytest.raises(ValidationError, match=message) as info:
        lifecycle.train(toy_host, store, "toy/signal", data=path)
    assert "\n" not in str(info.value)
    assert store.alias("toy.signal", CHAMPION).version == 1
    assert len(store.versions("toy.signal")) == 1


def test_empty_file_and_unknown_domain(toy_host, store, tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(ValidationError, match="empty.csv: the file is empty"):
        lifecycle.train(toy_host, store, "toy/signal", data=empty)
    header_only = tmp_path / "header.csv"
    header_only.write_text("seq,signal,count,noise,outcome\n")
    with pytest.raises(ValidationError, match="header.csv: no records"):
        lifecycle.train(toy_host, store, "toy/signal", data=header_only)
    with pytest.raises(UnknownDomainError, match="unknown domain 'toy/nope'"):
        lifecycle.train(toy_host, store, "toy/nope")


def test_label_error_when_latest_records_hold_one_class(toy_host, store):
    frame = make_frame()
    frame.loc[frame["seq"] >= 480, "outcome"] = 0
    with pytest.raises(LabelError, match="the evaluation part .* holds only one class"):
        lifecycle.train(toy_host, store, "toy/signal", data=frame)


def test_contributions_add_up_to_the_calibrated_logit(toy_host, store):
    lifecycle.train(toy_host, store, "toy/signal")
    scorer = scorer_for(toy_host, store, "toy/signal")
    records = make_frame(50, seed=99).drop(columns=["outcome"])
    answers = scorer.score(records, top=10)
    for answer in answers:
        total = sum(f["contribution"] for f in answer["factors"]) + answer["bias"]
        assert total == pytest.approx(float(logit(np.array(answer["probability"]))), abs=1e-4)
        assert answer["label"] == int(answer["probability"] >= answer["threshold"])
        assert answer["model"] == {"name": "toy.signal", "version": 1, "domain": "toy/signal"}
        ranked = [abs(f["contribution"]) for f in answer["factors"]]
        assert ranked == sorted(ranked, reverse=True)


def test_probabilities_are_calibrated_on_held_out_data(toy_host, store):
    result = lifecycle.train(toy_host, store, "toy/signal")
    assert result.metrics["ece"] < 0.1
    assert 0.3 < result.extras["calibration"]["a"] < 3


def test_an_overconfident_trainer_is_calibrated_back(toy_host, store):
    # deep trees, a full learning rate and no early stopping memorise the training rows:
    # raw probabilities near 0 and 1; Platt scaling must shrink the margin (a < 1)
    overfit = {"max_depth": 6, "eta": 1.0, "num_boost_round": 200, "early_stopping_rounds": 0,
               "min_child_weight": 0.0, "lambda": 0.0, "subsample": 1.0,
               "colsample_bytree": 1.0, "candidates": ["domain trainer"]}
    result = lifecycle.train(toy_host, store, "toy/signal", params=overfit)
    assert result.extras["calibration"]["a"] < 0.6
    assert result.metrics["ece"] < result.metrics["ece_uncalibrated"] - 0.05
    assert result.metrics["log_loss"] < 0.6


def test_cost_model_picks_the_threshold_and_labels_use_it(bare_host, store):
    costly = toy_domain(cost_model=CostModel(false_positive=1.0, false_negative=20.0))
    bare_host.register(ToyPlugin(costly), name="toy")
    result = lifecycle.train(bare_host, store, "toy/signal")
    # missing an event costs 20x a false alarm: act far below p = 0.5
    assert result.threshold < 0.2
    assert result.metrics["expected_cost"] < result.metrics["expected_cost_never_act"]
    scorer = scorer_for(bare_host, store, "toy/signal")
    answers = scorer.score(make_frame(30, seed=5).drop(columns=["outcome"]))
    for answer in answers:
        assert answer["threshold"] == pytest.approx(result.threshold)
        assert answer["label"] == int(answer["probability"] >= result.threshold)
        p = answer["probability"]
        assert answer["expected_cost"]["act"] == pytest.approx((1 - p) * 1.0)
        assert answer["expected_cost"]["do_not_act"] == pytest.approx(p * 20.0)


def test_sample_weights_shift_the_base_rate(bare_host, store):
    weighted = toy_domain(weight=lambda r: np.where(r["signal"] > 0, 1.0, 3.0))
    bare_host.register(ToyPlugin(weighted), name="toy")
    plain_rate = make_frame()["outcome"].mean()  # the served model learned on every row
    result = lifecycle.train(bare_host, store, "toy/signal")
    model = store.load("toy.signal", result.version)
    assert model.base_rate < plain_rate - 0.05


def test_tenant_models_are_separate_registered_models(toy_host, store):
    lifecycle.train(toy_host, store, "toy/signal", tenant="acme")
    assert store.model_names() == ["acme.toy.signal"]
    assert store.alias("toy.signal", CHAMPION) is None


def test_features_returning_the_label_are_refused(bare_host, store):
    class Leaky(ToyPlugin):
        @hookimpl
        def tracer_features(self, domain, records, state):
            return pd.DataFrame({"outcome": records["signal"]})

    bare_host.register(Leaky(), name="leaky")
    with pytest.raises(PluginError, match="features must not contain the label column"):
        lifecycle.train(bare_host, store, "toy/signal")
