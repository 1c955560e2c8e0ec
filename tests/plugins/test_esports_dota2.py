"""esports/dota2-draft: schema, draft statistics learned on training rows only, sentences,
and a train on a slice of the shipped data through the real lifecycle and MLflow store."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from tracer import lifecycle
from tracer.domain import FeatureState
from tracer.errors import ValidationError
from tracer.model import logit
from tracer.records import validate_records
from tracer.scoring import scorer_for
from tracer_esports import dota2, draft

DOMAIN = "esports/dota2-draft"
SLICE = 5000


@pytest.fixture(scope="module")
def matches() -> pd.DataFrame:
    return dota2.load_reference().head(SLICE)


def test_loader_adds_the_file_order_as_match_index(matches):
    assert matches["match_index"].tolist() == list(range(SLICE))
    assert list(matches.columns[:3]) == ["match_index", "radiant_win", "cluster_id"]


def test_a_pick_outside_minus_one_zero_one_is_rejected_with_row_and_column(matches):
    bad = matches.head(10).copy()
    bad.loc[2, "hero_5"] = 2
    with pytest.raises(ValidationError) as caught:
        validate_records(dota2.DOMAIN, bad, source="drafts.csv")
    assert str(caught.value) == "drafts.csv: row 3, column 'hero_5': 2 is not one of [-1, 0, 1]"


def test_a_missing_hero_column_is_named(matches):
    with pytest.raises(ValidationError, match=r"missing column 'hero_113'"):
        validate_records(dota2.DOMAIN, matches.drop(columns=["hero_113"]))


def test_labels_map_radiant_win_one_to_positive(matches):
    _, labels = validate_records(dota2.DOMAIN, matches, require_label=True)
    assert labels.tolist() == (matches["radiant_win"] == 1).astype(int).tolist()


def fit_features(records, labels):
    state = FeatureState(fitting=True, labels=labels)
    return dota2.tracer_features(dota2.DOMAIN, records, state), state


def test_fitting_twice_is_deterministic_and_the_state_is_small_json(matches):
    records, labels = validate_records(dota2.DOMAIN, matches, require_label=True)
    first, first_state = fit_features(records, labels)
    second, second_state = fit_features(records, labels)
    pd.testing.assert_frame_equal(first, second)
    text = json.dumps(first_state.values, allow_nan=False)
    assert text == json.dumps(second_state.values, allow_nan=False)
    assert len(text) < 400_000
    assert first_state.values["draft"]["games"] == SLICE
    # picks are the record's own values; no column equals the label
    assert (first[dota2.HERO_COLUMNS].to_numpy() == records[dota2.HERO_COLUMNS].to_numpy()).all()
    for column in first.columns:
        assert not np.array_equal(first[column].to_numpy(), labels)


def test_serving_features_do_not_depend_on_batch_or_state_changes(matches):
    records, labels = validate_records(dota2.DOMAIN, matches, require_label=True)
    _, state = fit_features(records.head(4000), labels[:4000])
    frozen = json.dumps(state.values)
    serving = FeatureState(fitting=False, values=json.loads(frozen))
    batch = dota2.tracer_features(dota2.DOMAIN, records.tail(50).reset_index(drop=True), serving)
    alone = dota2.tracer_features(dota2.DOMAIN, records.tail(1).reset_index(drop=True), serving)
    np.testing.assert_allclose(alone.to_numpy(), batch.tail(1).to_numpy())
    assert json.dumps(serving.values) == frozen


def test_training_rows_get_out_of_fold_statistics(matches):
    """A row's own result never feeds its features: flipping one training row's label moves
    the statistics of the other folds' rows, not its own."""
    records, labels = validate_records(dota2.DOMAIN, matches, require_label=True)
    base, _ = fit_features(records, labels)
    flipped = labels.copy()
    flipped[10] = 1 - flipped[10]
    moved, _ = fit_features(records, flipped)
    fold = len(records) // draft.FOLDS
    own_fold = slice(0, fold)
    pd.testing.assert_frame_equal(base.iloc[own_fold], moved.iloc[own_fold])
    assert not base.iloc[fold:].equals(moved.iloc[fold:])


def test_unlabelled_fit_learns_nothing_and_scores_zero(matches):
    records, _ = validate_records(dota2.DOMAIN, matches.head(30))
    state = FeatureState(fitting=True)
    out = dota2.tracer_features(dota2.DOMAIN, records, state)
    assert state.values["draft"]["games"] == 0
    assert (out[list(dota2.DRAFT_FEATURES)].to_numpy() == 0).all()


def test_synergy_and_counter_follow_a_planted_pair():
    """Hero 1 with hero 2 on one team always wins; hero 3 always loses to hero 4."""
    rng = np.random.default_rng(7)
    picks = np.zeros((4000, draft.HEROES))
    won = np.zeros(4000)
    for g in range(4000):
        heroes = rng.choice(np.arange(4, draft.HEROES), 10, replace=False)
        picks[g, heroes[:5]], picks[g, heroes[5:]] = 1, -1
        won[g] = rng.integers(0, 2)
        if g % 4 == 0:  # duo 1+2 on Radiant
            picks[g, heroes[:2]] = 0
            picks[g, [0, 1]] = 1
            won[g] = 1
        elif g % 4 == 1:  # hero 3 (Radiant) against hero 4 (Dire)
            picks[g, heroes[0]], picks[g, heroes[5]] = 0, 0
            picks[g, 2], picks[g, 3] = 1, -1
            won[g] = 0
    stats = draft.learn(picks, won)
    synergy = {(i, j): v for i, j, v in stats["synergy"]}
    counter = {(i, j): v for i, j, v in stats["counter"]}
    assert synergy[(0, 1)] > 0.5
    assert counter[(2, 3)] < -0.5
    duo = np.zeros((1, draft.HEROES))
    duo[0, [0, 1]], duo[0, [5, 6]] = 1, -1
    expected = synergy[(0, 1)] - synergy.get((5, 6), 0.0)  # Radiant's pair minus Dire's
    assert draft.score(duo, stats)["synergy_lead"][0] == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize(("feature", "value", "contribution", "expected"), [
    ("hero_42", 1.0, 0.12, "Radiant picked hero 42 (helps Radiant)"),
    ("hero_42", -1.0, 0.05, "Dire picked hero 42 (helps Radiant)"),
    ("hero_7", -1.0, -0.2, "Dire picked hero 7 (helps Dire)"),
    ("hero_99", 0.0, -0.01, "Neither team picked hero 99 (helps Dire)"),
    ("hero_strength_lead", 0.4123, 0.3, "Radiant's heroes win more often in past games "
                                        "(by 0.41 log-odds)"),
    ("synergy_lead", -0.25, -0.1, "Dire's heroes work better together (by 0.25 log-odds)"),
    ("counter_lead", 0.31, 0.2, "Radiant's heroes counter the enemy's picks (by 0.31 log-odds)"),
    ("counter_lead", 0.001, 0.01, "The drafts are even on counter-picks (helps Radiant)"),
])
def test_sentences_speak_dota(feature, value, contribution, expected):
    assert dota2.sentence(feature, value, contribution) == expected


def test_eval_labels_never_reach_the_held_out_estimate(host, store, matches):
    """Two trains whose data differ only in the evaluation part's results choose the same
    candidate on the same leaderboard and score exactly mirrored accuracy: nothing of the
    evaluation part's results reached the estimate. The served models differ, as they must:
    they are refit on every row."""
    first = lifecycle.train(host, store, DOMAIN, data=matches)
    n_eval = first.rows["evaluation"]
    changed = matches.copy()
    changed.loc[changed.index[-n_eval:], "radiant_win"] *= -1
    second = lifecycle.train(host, store, DOMAIN, data=changed)
    assert first.extras["leaderboard"] == second.extras["leaderboard"]
    # the evaluation really changed: flipped results turn accuracy into 1 - accuracy
    assert second.metrics["accuracy"] == pytest.approx(1 - first.metrics["accuracy"], abs=1e-9)
    name = dota2.DOMAIN.model_name
    a, b = store.load(name, first.version), store.load(name, second.version)
    assert json.dumps(a.state.values) != json.dumps(b.state.values)


def test_slice_train_beats_always_radiant_and_explains_additively(host, store, matches):
    result = lifecycle.train(host, store, DOMAIN, data=matches)
    assert result.rows == {"training": 4000, "evaluation": 1000, "served": 5000}
    majority = result.baselines["majority class"]["accuracy"]
    assert result.metrics["accuracy"] > majority + 0.02
    assert result.metrics["roc_auc"] > 0.58

    scorer = scorer_for(host, store, DOMAIN)
    drafts = matches.tail(10).drop(columns=["radiant_win"])
    records, _ = validate_records(dota2.DOMAIN, drafts)
    answers = scorer.score(records, top=len(scorer.model.feature_names))
    for answer in answers:
        total = sum(f["contribution"] for f in answer["factors"]) + answer["bias"]
        assert total == pytest.approx(float(logit(np.array(answer["probability"]))), abs=1e-4)
        assert answer["summary"].startswith(("Radiant is favoured", "Dire is favoured"))
        assert "on the draft:" in answer["summary"]
