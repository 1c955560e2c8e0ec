"""``fraud/card``: one card payment → is it fraud?

Records are real European card transactions (ULB / Worldline, September 2013): the time
in seconds since the recording began, the amount in EUR, and 28 anonymised principal
components ``V1``…``V28`` of confidential card, merchant and history features.

The reference file keeps every fraud and 40 % of the legitimate payments, so legitimate
rows weigh 2.5: probabilities, metrics and costs then refer to real traffic (0.19 % fraud).
A missed fraud costs its amount; a review costs a fee; the platform picks the probability
threshold that minimises the expected cost and stores it with the model.
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import pandas as pd
from pydantic import Field, create_model
from tracer import CostModel, Domain, hookimpl

from tracer_fraud import data_path
from tracer_fraud.reasons import explain
from tracer_fraud.similarity import fit_fraud_exemplars, nearest_fraud_distance
from tracer_fraud.traffic import add_quantiles, fit_profile
from tracer_fraud.trainer import train_booster

COMPONENTS = [f"V{i}" for i in range(1, 29)]
SECONDS_PER_DAY = 86_400
#: the reference file keeps 40 % of legitimate payments (README of the data)
LEGITIMATE_SAMPLING_RATE = 0.40

CardPayment = create_model(
    "CardPayment",
    __doc__="One card payment: when, how much, and its 28 anonymised components.",
    Time=(float, Field(ge=0, description="seconds since the recording began (midnight)")),
    # one keyword per component (pydantic's stubs type create_model's keywords)
    **cast("dict[str, Any]", {
        v: (float, Field(description=f"anonymised principal component {v[1:]}"))
        for v in COMPONENTS}),
    Amount=(float, Field(ge=0, description="payment amount in EUR")),
)


def load_reference() -> pd.DataFrame:
    return pd.read_csv(data_path("creditcard_ulb_dev.csv.gz"))


def undo_sampling(records: pd.DataFrame) -> np.ndarray:
    """Legitimate rows stand for 1 / 0.4 = 2.5 real payments each; frauds for one."""
    return np.where(records["Class"] == 1, 1.0, 1.0 / LEGITIMATE_SAMPLING_RATE)


DOMAIN = Domain(
    name="fraud/card",
    version="0.1.0",
    title="Fraud risk of a card payment",
    description=("Probability that a card payment is fraudulent, from its amount, time of "
                 "day and 28 anonymised components, with a review decision that minimises "
                 "the expected cost (missed frauds cost their amount, reviews a fee)."),
    record=CardPayment,
    label="Class",
    order_by="Time",
    load_reference=load_reference,
    primary_metric="auprc",
    # the floor a certified release must reach on a later-time split; the roadmap target
    # of 0.83 (published on easier random splits) is reported, and not reached, in the README
    certification_threshold=0.60,
    positive_label=1,
    outcome="the payment is fraud",
    weight=undo_sampling,
    cost_model=CostModel(false_positive=5.0, true_positive=5.0,
                         false_negative_column="Amount", currency="EUR", action="review"),
    extra_metrics=("recall_at_fpr:0.001", "recall_at_fpr:0.01", "precision_at_k:100"),
    train_params={},
    tags=("fraud", "payments", "cards", "rare-event", "cost-sensitive"),
    license="DbCL-1.0 / ODbL (data, cite Dal Pozzolo et al. 2015); Apache-2.0 (code)",
)


def hour_of_day(time: pd.Series) -> pd.Series:
    """Hours since midnight; the recording starts at midnight (traffic dips 1–6 h later)."""
    return (time % SECONDS_PER_DAY) / 3600.0


@hookimpl
def tracer_domains():
    return [DOMAIN]


@hookimpl
def tracer_features(domain, records, state):
    hours = hour_of_day(records["Time"])
    if state.fitting:
        fit_profile(records, hours, ["Amount", *COMPONENTS], state)
        fit_fraud_exemplars(records[COMPONENTS], state)
    out = pd.DataFrame({"amount": records["Amount"], "hour_of_day": hours})
    for v in COMPONENTS:
        out[v] = records[v]
    out["distance_to_known_fraud"] = nearest_fraud_distance(records[COMPONENTS], state)
    if state.fitting:
        add_quantiles(out, ["distance_to_known_fraud"], state)
    return out


@hookimpl
def tracer_train(domain, features, labels, weights, params):
    return train_booster(domain, features, labels, weights, params)


@hookimpl
def tracer_explain(domain, prediction):
    return explain(domain, prediction)


__all__ = ["DOMAIN", "CardPayment"]
