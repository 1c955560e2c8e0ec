"""esports/lol-10min: schema, features, sentences, and a full train on the shipped data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from tracer import lifecycle
from tracer.domain import FeatureState
from tracer.errors import ValidationError
from tracer.model import logit
from tracer.records import validate_records
from tracer.scoring import scorer_for
from tracer_esports import lol

DOMAIN = "esports/lol-10min"


@pytest.fixture(scope="module")
def games() -> pd.DataFrame:
    return lol.load_reference()


def test_reference_file_validates_with_labels_and_order(games):
    records, labels = validate_records(lol.DOMAIN, games, require_label=True,
                                       require_order=True)
    assert len(records) == 7903
    assert int(labels.sum()) == 3911  # blue wins, as the data README counts them


def test_negative_ward_count_is_rejected_with_row_and_column(games):
    bad = games.head(10).copy()
    bad.loc[6, "redWardsPlaced"] = -3
    with pytest.raises(ValidationError) as caught:
        validate_records(lol.DOMAIN, bad, source="games.csv")
    assert str(caught.value) == "games.csv: row 7, column 'redWardsPlaced': -3 is not >= 0"


def test_text_in_a_gold_column_is_rejected(games):
    bad = games.head(5).astype({"blueTotalGold": object})
    bad.loc[1, "blueTotalGold"] = "lots"
    with pytest.raises(ValidationError, match=r"row 2, column 'blueTotalGold': 'lots' is not"):
        validate_records(lol.DOMAIN, bad)


def test_features_are_blue_minus_red_leads_and_ignore_the_label(games):
    records, _ = validate_records(lol.DOMAIN, games.head(200))
    first = lol.tracer_features(lol.DOMAIN, records, FeatureState(fitting=True))
    flipped = games.head(200).assign(blueWins=1 - games.head(200)["blueWins"])
    again, _ = validate_records(lol.DOMAIN, flipped)
    second = lol.tracer_features(lol.DOMAIN, again, FeatureState(fitting=True))
    pd.testing.assert_frame_equal(first, second)
    assert list(first.columns) == list(lol.FEATURES)
    row = games.iloc[0]
    assert first.loc[0, "gold_lead"] == row["blueTotalGold"] - row["redTotalGold"]
    assert first.loc[0, "gold_lead"] == row["blueGoldDiff"]
    assert first.loc[0, "kill_lead"] == row["blueKills"] - row["redKills"]


@pytest.mark.parametrize(("feature", "value", "contribution", "expected"), [
    ("gold_lead", 2410.0, 0.4, "Blue leads by 2,410 gold at 10 minutes"),
    ("gold_lead", -643.0, -0.1, "Red leads by 643 gold at 10 minutes"),
    ("dragon_lead", 1.0, 0.2, "Blue leads by 1 dragon at 10 minutes"),
    ("tower_lead", -2.0, -0.3, "Red leads by 2 towers at 10 minutes"),
    ("kill_lead", 0.0, -0.01, "Teams are level on kills at 10 minutes (helps red)"),
    ("blue_first_blood", 1.0, 0.05, "Blue drew first blood (helps blue)"),
    ("blue_first_blood", 0.0, -0.05, "Red drew first blood (helps red)"),
])
def test_sentences_read_like_a_caster(feature, value, contribution, expected):
    assert lol.sentence(feature, value, contribution) == expected


def test_full_train_beats_the_gold_rule_and_explains_additively(host, store, games):
    result = lifecycle.train(host, store, DOMAIN)
    assert result.rows == {"training": 6322, "evaluation": 1581, "served": 7903}
    accuracy = result.metrics["accuracy"]
    rule = result.baselines["rule: blue leads on gold"]["accuracy"]
    assert accuracy > rule
    assert accuracy >= 0.715
    assert result.metrics["roc_auc"] >= 0.79
    assert result.metrics["ece"] < 0.05
    assert "## Held-out evaluation" in result.model_card

    scorer = scorer_for(host, store, DOMAIN)
    latest = games.sort_values("gameId").tail(20).drop(columns=["blueWins"])
    records, _ = validate_records(lol.DOMAIN, latest)
    answers = scorer.score(records, top=len(lol.FEATURES))
    for answer in answers:
        total = sum(f["contribution"] for f in answer["factors"]) + answer["bias"]
        assert total == pytest.approx(float(logit(np.array(answer["probability"]))), abs=1e-4)
        assert answer["summary"].startswith(("Blue is favoured", "Red is favoured"))
    # a big gold lead for blue is a reason for blue, never against (a positive coefficient
    # or monotone trees, whichever candidate won)
    for answer in answers:
        gold = next(f for f in answer["factors"] if f["feature"] == "gold_lead")
        if gold["value"] > 1500:
            assert gold["contribution"] > 0
            assert gold["sentence"].startswith("Blue leads by")
