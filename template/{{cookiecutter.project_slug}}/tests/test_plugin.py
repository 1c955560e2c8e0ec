"""This plugin's own behaviour, on an in-test host (fixtures from tracer's pytest plugin)."""

import pandas as pd
from tracer import FeatureState
from tracer.features import compute_features

from {{ cookiecutter.package_name }} import plugin
from {{ cookiecutter.package_name }}.domain import DOMAIN, load_reference


def test_the_sample_has_a_few_hundred_ordered_records_with_both_outcomes():
    sample = load_reference()
    assert len(sample) == 600
    assert sample["observed_day"].is_monotonic_increasing
    assert sample[DOMAIN.label].sum() == 121


def test_spend_is_compared_with_the_typical_spend_learned_while_fitting(tracer_host,
                                                                        tracer_register):
    tracer_register(plugin, name="plugin-under-test")
    records = pd.DataFrame({"tenure_months": [3, 40], "monthly_spend": [20.0, 60.0],
                            "support_tickets": [4, 0], "logins_last_30d": [2, 25],
                            "late_payments": [1, 0], "plan": ["basic", "premium"]})
    state = FeatureState(fitting=True)
    features = compute_features(tracer_host, DOMAIN, records, state)
    assert state.values == {"typical_spend": 40.0}
    assert features["spend_vs_typical"].tolist() == [0.5, 1.5]
    assert features["plan_basic"].tolist() == [1.0, 0.0]


def test_sentences_say_what_raises_the_risk():
    assert plugin.sentence("support_tickets", 4.0, 0.8) == (
        "4 support tickets in the last 30 days (raises the risk of cancelling)")
    assert plugin.sentence("plan_premium", 1.0, -0.3) == (
        "On the premium plan: yes (lowers the risk of cancelling)")
