"""The hooks Tracer calls for this domain (entry point group ``tracer``).

Only ``tracer_domains`` and ``tracer_features`` are required; ``tracer_explain`` puts
the reasons in the domain's words. Training uses Tracer's built-in XGBoost trainer (add a
``tracer_train`` hook to bring your own). The hook reference is Tracer's docs/hooks.md.
"""

from __future__ import annotations

import pandas as pd
from tracer import Explanation, hookimpl
from tracer.explain import format_value, rank_factors

from {{ cookiecutter.package_name }}.domain import DOMAIN

#: how each feature reads in a sentence
PHRASES = {
    "tenure_months": "a customer for {} months",
    "monthly_spend": "pays {} a month",
    "spend_vs_typical": "pays {}× the typical monthly amount",
    "support_tickets": "{} support tickets in the last 30 days",
    "logins_last_30d": "{} logins in the last 30 days",
    "late_payments": "{} late payments in the last year",
    "plan_basic": "on the basic plan: {}",
    "plan_premium": "on the premium plan: {}",
}


@hookimpl
def tracer_domains():
    return [DOMAIN]


@hookimpl
def tracer_features(domain, records, state):
    if state.fitting:
        # learned on the training part only, and stored as JSON with the model
        state.values["typical_spend"] = float(records["monthly_spend"].median())
    return pd.DataFrame({
        "tenure_months": records["tenure_months"],
        "monthly_spend": records["monthly_spend"],
        "spend_vs_typical": records["monthly_spend"] / state.values["typical_spend"],
        "support_tickets": records["support_tickets"],
        "logins_last_30d": records["logins_last_30d"],
        "late_payments": records["late_payments"],
        "plan_basic": (records["plan"] == "basic").astype(float),
        "plan_premium": (records["plan"] == "premium").astype(float),
    })


def sentence(feature: str, value: float, contribution: float) -> str:
    shown = format_value(bool(value)) if feature.startswith("plan_") else format_value(value)
    effect = "raises" if contribution > 0 else "lowers"
    return f"{PHRASES[feature].format(shown).capitalize()} ({effect} the risk of cancelling)"


@hookimpl
def tracer_explain(domain, prediction):
    factors = rank_factors(prediction, sentence)
    reasons = "; ".join(f.sentence for f in factors[:2]) or "no single reason stands out"
    summary = f"{prediction.probability:.0%} chance that {domain.outcome}: {reasons}."
    return Explanation(factors=factors, summary=summary)
