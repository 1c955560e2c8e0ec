"""``fraud/card`` without training: schema, weights, features, legitimate profile, wording.

Real records from the shipped file (a slice of it), no model: each reason is checked
against numbers computed here independently from the same rows.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from tracer import FeatureState, Prediction
from tracer.errors import ValidationError
from tracer.records import validate_records
from tracer_fraud import data_path
from tracer_fraud.card import COMPONENTS, DOMAIN, tracer_features, undo_sampling
from tracer_fraud.reasons import explain, share
from tracer_fraud.similarity import FAR
from tracer_fraud.traffic import share_below

ROWS = 30_000


@pytest.fixture(scope="module")
def head() -> pd.DataFrame:
    return pd.read_csv(data_path("creditcard_ulb_dev.csv.gz"), nrows=ROWS)


@pytest.fixture(scope="module")
def fitted(head):
    """Features fitted on the slice the way the lifecycle fits them (labels known)."""
    records, labels = validate_records(DOMAIN, head, require_label=True, require_order=True)
    state = FeatureState(fitting=True, labels=labels, weights=undo_sampling(head))
    features = tracer_features(DOMAIN, records, state)
    state.fitting, state.labels, state.weights = False, None, None
    return records, labels, state, features


def test_the_reference_file_is_the_documented_sample():
    frame = DOMAIN.load_reference()
    assert frame.shape == (86_349, 31)
    assert int(frame["Class"].sum()) == 401
    assert frame["Time"].is_monotonic_increasing
    w = undo_sampling(frame)
    real_rate = np.sum(w * frame["Class"]) / np.sum(w)
    assert real_rate == pytest.approx(401 / (401 + 85_948 * 2.5))
    assert round(real_rate * 100, 3) == 0.186  # the unsampled window's 0.186 %


def test_a_missing_component_is_named(head):
    with pytest.raises(ValidationError, match=r"missing column 'V14' \(domain fraud/card"):
        validate_records(DOMAIN, head.head(5).drop(columns=["V14"]), source="f.csv")


def test_a_negative_amount_is_rejected_with_its_row(head):
    bad = head.head(5).copy()
    bad.loc[1, "Amount"] = -3.0
    with pytest.raises(ValidationError, match=r"f.csv: row 2, column 'Amount': -3 is not >= 0"):
        validate_records(DOMAIN, bad, source="f.csv")


def test_text_in_a_component_is_rejected_with_its_row(head):
    bad = head.head(5).astype({"V3": object})
    bad.loc[3, "V3"] = "n/a"
    with pytest.raises(ValidationError, match=r"row 4, column 'V3': 'n/a' is not a number"):
        validate_records(DOMAIN, bad, source="f.csv")


def test_a_label_other_than_zero_or_one_is_refused(head):
    bad = head.head(50).copy()
    bad["Class"] = np.arange(50) % 3
    with pytest.raises(ValidationError, match="label column 'Class' has 3 distinct values"):
        validate_records(DOMAIN, bad, require_label=True)


def test_features_are_amount_hour_components_and_fraud_distance(fitted, head):
    records, _, _, features = fitted
    assert list(features.columns) == ["amount", "hour_of_day", *COMPONENTS,
                                      "distance_to_known_fraud"]
    np.testing.assert_array_equal(features["amount"], head["Amount"])
    one = pd.DataFrame([{**records.iloc[0].to_dict(), "Time": 26.5 * 3600}])
    state = FeatureState(values={})
    assert tracer_features(DOMAIN, one, state)["hour_of_day"].iloc[0] == pytest.approx(2.5)
    assert tracer_features(DOMAIN, one, state)["distance_to_known_fraud"].iloc[0] == FAR


def test_a_training_fraud_is_not_its_own_nearest_fraud(fitted, head):
    records, labels, state, features = fitted
    fraud = int(np.flatnonzero(labels == 1)[0])
    at_serving = tracer_features(DOMAIN, records.iloc[[fraud]], state)
    assert at_serving["distance_to_known_fraud"].iloc[0] == pytest.approx(0.0, abs=1e-3)
    assert features["distance_to_known_fraud"].iloc[fraud] > 0.1


def test_quantiles_describe_legitimate_traffic_only(fitted, head):
    _, labels, state, _ = fitted
    legit_v14 = head["V14"][labels == 0].to_numpy()
    for value in (-6.2, -2.0, 0.0, 1.5):
        assert share_below(state, "V14", value) == pytest.approx(
            np.mean(legit_v14 < value), abs=0.0015)
    everyone = np.mean(head["V14"].to_numpy() < -6.2)
    assert everyone > share_below(state, "V14", -6.2) + 0.003  # frauds excluded
    hours = (head["Time"][labels == 0] % 86_400 // 3600).astype(int)
    assert state.values["legitimate_profile"]["hour_share"][3] == pytest.approx(
        np.mean(hours == 3), abs=1e-6)
    json.dumps(state.values, allow_nan=False)


def prediction_for(fitted, row: int, probability: float, label: int,
                   contributions: dict[str, float]) -> Prediction:
    records, _, state, features = fitted
    names = list(features.columns)
    contribs = {n: contributions.get(n, 0.0) for n in names}
    amount = float(records["Amount"].iloc[row])
    return Prediction(record=records.iloc[row].to_dict(),
                      features=features.iloc[row].astype(float).to_dict(),
                      contributions=contribs, bias=-6.0, probability=probability, label=label,
                      threshold=0.02, base_rate=0.0019, state=state,
                      expected_cost={"act": 5.0, "do_not_act": probability * amount})


def test_a_fraud_is_explained_in_business_words(fitted, head):
    _, labels, state, features = fitted
    # the first fraud of the file worth more than a review
    row = int(np.flatnonzero((labels == 1) & (head["Amount"].to_numpy() > 50))[0])
    v14, amount = float(head["V14"].iloc[row]), float(head["Amount"].iloc[row])
    legit = head[labels == 0]
    lower_than = np.mean(legit["V14"] > v14)
    assert lower_than > 0.95  # this fraud's V14 is extreme, as frauds' usually are

    explanation = explain(DOMAIN, prediction_for(
        fitted, row, 0.93, 1, {"V14": 2.1, "amount": 0.6, "hour_of_day": -0.3}))
    v14_text = f"{v14:.2f}".replace("-", "−")
    assert [f.feature for f in explanation.factors[:3]] == ["V14", "amount", "hour_of_day"]
    above = 1 - share_below(state, "V14", v14)
    assert above == pytest.approx(lower_than, abs=0.0015)
    assert explanation.factors[0].sentence == (
        f"V14 = {v14_text}, lower than {share(above)} of legitimate transactions "
        "(points to fraud)")
    smaller = np.mean(legit["Amount"] > amount)
    amount_text = explanation.factors[1].sentence
    assert amount_text.startswith(f"Amount €{amount:,.2f}, ")
    assert ("smaller than" in amount_text) == (smaller > 0.5)
    hour = int(head["Time"].iloc[row] % 86_400 // 3600)
    assert explanation.factors[2].sentence.startswith(f"Made at {hour:02d}:")
    assert explanation.factors[2].sentence.endswith("of legitimate payments (looks legitimate)")
    assert explanation.summary == (
        f"Review it: 93 % chance the payment is fraud (typical rate 0.19 %). Expected cost "
        f"if you review it €5.00, if you let it through €{0.93 * amount:,.2f}. Main signs: "
        f"{explanation.factors[0].sentence}; {explanation.factors[1].sentence}.")


def test_the_summary_says_when_the_amount_alone_argues_against_the_label(fitted, head):
    _, labels, _, _ = fitted
    row = int(np.flatnonzero(labels == 1)[0])
    prediction = prediction_for(fitted, row, 0.03, 1, {"V14": 0.4})
    prediction.expected_cost = {"act": 5.0, "do_not_act": 0.03 * 20.0}
    summary = explain(DOMAIN, prediction).summary
    assert summary.startswith("Review it: 3.00 % chance the payment is fraud")
    assert "if you let it through €0.60. For this amount alone, letting it through would " \
        "cost less. Main signs: V14 = " in summary


def test_a_legitimate_payment_is_let_through_with_its_costs(fitted):
    _, labels, _, _ = fitted
    row = int(np.flatnonzero(labels == 0)[10])
    explanation = explain(DOMAIN, prediction_for(fitted, row, 0.0004, 0, {"V4": -0.8}))
    assert explanation.summary.startswith(
        "Let it through: 0.040 % chance the payment is fraud (typical rate 0.19 %). "
        "Expected cost if you review it €5.00, if you let it through €")
    assert explanation.factors[0].direction == "down"
    assert explanation.factors[0].sentence.endswith("(looks legitimate)")


def test_values_beyond_all_legitimate_traffic_say_so(fitted):
    _, _, state, _ = fitted
    low = min(state.values["legitimate_profile"]["quantiles"]["V14"]) - 1
    assert share_below(state, "V14", low) == 0.0
    assert share(0.99996) == "99.99 %"  # never rounded up to 100 %
    assert share(0.9987) == "99.8 %"
    assert share(0.99973) == "99.97 %"
