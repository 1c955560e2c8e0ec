"""``fraud/card`` through the real lifecycle: a full training run on the whole reference
file with a real MLflow store, then scoring, explaining and the command line.

The full run is shared by the module (under a minute on two cores, so not marked slow).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import numpy as np
import pytest
from tracer import FeatureState, lifecycle
from tracer.cli import main
from tracer.features import compute_features
from tracer.model import logit
from tracer.scoring import scorer_for
from tracer_fraud.card import DOMAIN, undo_sampling

if TYPE_CHECKING:
    import pandas as pd

TRAINING, EVALUATION = 69_079, 17_270  # 80 % / 20 % by Time


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from tracer import db
    from tracer import settings as settings_module
    from tracer.host import PluginHost
    from tracer.tracking import ModelStore

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TRACER_HOME", str(tmp_path_factory.mktemp("fraud-home")))
        mp.setenv("TRACER_TRAINING__BOOTSTRAP_SAMPLES", "200")
        settings_module.reset_settings()
        settings = settings_module.get_settings()
        settings.ensure_home()
        db.upgrade(settings)
        host, store = PluginHost(settings), ModelStore(settings)
        result = lifecycle.train(host, store, "fraud/card")
        yield host, store, result
    settings_module.reset_settings()


@pytest.fixture(scope="module")
def parts():
    """The reference file in time order, cut as the lifecycle cuts it."""
    frame = DOMAIN.load_reference().sort_values("Time", kind="stable").reset_index(drop=True)
    y = frame["Class"].to_numpy()
    w = undo_sampling(frame)
    cuts = {"training": slice(0, TRAINING), "evaluation": slice(TRAINING, None),
            "all": slice(0, None)}
    return {name: (frame.iloc[sl].reset_index(drop=True), y[sl], w[sl])
            for name, sl in cuts.items()}


def probabilities(trained, records: pd.DataFrame) -> np.ndarray:
    host, store, result = trained
    model = store.load(result.model_name, result.version)
    x = compute_features(host, DOMAIN, records.drop(columns=["Class"]),
                         FeatureState(False, model.state.values))
    return model.predict_proba(x)


def test_full_training_reports_auprc_next_to_the_baselines(trained, parts):
    _, _, result = trained
    m, base = result.metrics, result.baselines
    assert result.rows == {"training": TRAINING, "evaluation": EVALUATION,
                           "served": TRAINING + EVALUATION}
    assert result.primary_metric == "auprc"
    assert 0.6 < m["auprc"] < 1.0
    assert m["auprc_ci_low"] < m["auprc"] < m["auprc_ci_high"]
    assert m["roc_auc"] > 0.95
    assert m["auprc"] > base["logistic regression"]["auprc"]
    # the leaderboard picked a booster: logistic regression ranks frauds clearly worse
    assert result.extras["leaderboard"]["candidates"][0]["kind"] in ("trainer", "xgboost")
    assert base["logistic regression"]["auprc_model_minus_low"] > 0
    _, y, w = parts["evaluation"]
    real_rate = np.sum(w * y) / np.sum(w)  # 41 frauds among 17,229 legitimate × 2.5
    assert base["majority class"]["auprc"] == pytest.approx(real_rate, rel=1e-6)
    assert 0.0 <= m["recall_at_fpr:0.001"] <= m["recall_at_fpr:0.01"] <= 1.0
    assert m["recall_at_fpr:0.01"] > 0.7
    assert 0.0 < m["precision_at_k:100"] <= 0.41  # at most 41 frauds among 100 alerts


def test_weights_give_the_real_base_rate_and_calibrated_probabilities(trained, parts):
    _, store, result = trained
    model = store.load(result.model_name, result.version)
    y_all = parts["all"][1]
    assert model.base_rate == pytest.approx(401 / (401 + (len(y_all) - 401) * 2.5))
    assert round(model.base_rate * 100, 2) == 0.19  # not the file's 0.46 %
    # calibrated from out-of-fold margins, at real prevalence: held out and out of fold
    assert result.metrics["ece"] < 0.002
    assert result.metrics["ece_out_of_fold"] < 0.002
    records, y, w = parts["evaluation"]
    mean_p = np.sum(w * probabilities(trained, records)) / np.sum(w)
    assert mean_p < 0.5 * np.mean(y)  # the file's unweighted rate would be far higher


def test_the_threshold_is_stored_and_sets_labels(trained, parts):
    host, store, result = trained
    threshold = result.threshold
    assert store.load(result.model_name, result.version).threshold == pytest.approx(threshold)
    assert 0.0 < threshold < 0.5
    assert result.extras["costs"]["false_positive"] == 5.0
    assert result.extras["costs"]["false_negative_column"] == "Amount"

    records, y, w = parts["evaluation"]
    amounts = records["Amount"].to_numpy()
    never = float(np.sum(amounts[y == 1]))  # every fraud of the evaluation part goes through
    assert result.metrics["expected_cost_never_act"] == pytest.approx(never)
    assert result.metrics["expected_cost"] < 0.7 * never
    assert result.metrics["expected_cost_best_possible_threshold"] <= \
        result.metrics["expected_cost"]

    scorer = scorer_for(host, store, "fraud/card")
    p = probabilities(trained, records)
    around = np.argsort(np.abs(np.log(p) - np.log(threshold)))[:20]  # both sides of it
    answers = scorer.score(records.drop(columns=["Class"]).iloc[around], explain=False)
    labels = [a["label"] for a in answers]
    assert labels == [int(a["probability"] >= threshold) for a in answers]
    assert 0 < sum(labels) < 20


def test_contributions_add_up_and_a_later_fraud_is_explained(trained, parts):
    host, store, result = trained
    scorer = scorer_for(host, store, "fraud/card")
    records, y, _ = parts["evaluation"]
    frauds = records[y == 1].drop(columns=["Class"]).head(10)
    answers = scorer.score(frauds, top=len(scorer.model.feature_names))
    for answer in answers:
        total = sum(f["contribution"] for f in answer["factors"]) + answer["bias"]
        assert total == pytest.approx(float(logit(np.array(answer["probability"]))), abs=1e-4)
    answer, amount = max(zip(answers, frauds["Amount"], strict=True),
                         key=lambda pair: pair[0]["probability"])
    p = answer["probability"]
    assert answer["label"] == 1
    assert answer["expected_cost"] == pytest.approx({"act": 5.0, "do_not_act": p * amount})
    assert answer["summary"].startswith(f"Review it: {p:.0%}".replace("%", " %"))
    assert f"if you let it through €{p * amount:,.2f}." in answer["summary"]
    component_reasons = [f["sentence"] for f in answer["factors"][:5]
                         if f["feature"].startswith("V")]
    assert component_reasons
    assert all(" than " in s and "legitimate transactions" in s for s in component_reasons)


def test_cli_trains_and_predicts_from_files(settings, tmp_path, capsys):
    frame = DOMAIN.load_reference()
    train_file, new_file = tmp_path / "history.csv", tmp_path / "today.csv"
    frame.iloc[:30_000].to_csv(train_file, index=False)
    today = frame.iloc[30_000:30_040]
    today.drop(columns=["Class"]).to_csv(new_file, index=False)

    assert main(["train", "fraud/card", "--data", str(train_file), "--json"]) == 0
    trained = json.loads(capsys.readouterr().out)
    assert (trained["version"], trained["promoted"]) == (1, True)
    assert trained["rows"] == {"training": 24_000, "evaluation": 6_000, "served": 30_000}
    assert trained["metrics"]["expected_cost"] <= trained["metrics"]["expected_cost_never_act"]

    assert main(["predict", "fraud/card", "--input", str(new_file), "--json", "--top", "3"]) == 0
    answers = json.loads(capsys.readouterr().out)
    assert len(answers) == 40
    for answer, amount in zip(answers, today["Amount"], strict=True):
        assert answer["label"] == int(answer["probability"] >= trained["threshold"])
        assert answer["expected_cost"]["do_not_act"] == pytest.approx(
            answer["probability"] * amount)
        assert len(answer["factors"]) == 3
        assert answer["summary"].startswith(("Review it: ", "Let it through: "))

    broken = tmp_path / "broken.csv"
    today.drop(columns=["Class", "V14"]).to_csv(broken, index=False)
    assert main(["predict", "fraud/card", "--input", str(broken)]) != 0
    assert "missing column 'V14'" in capsys.readouterr().err
