"""Reasons in the words of a fraud analyst, although most inputs are anonymised.

``V1``…``V28`` mean nothing to a person, but "lower than 99.7 % of legitimate
transactions" does: each component is placed against legitimate training traffic. Amount
and time of day are said plainly, and the summary weighs the expected cost of reviewing
the payment against the expected loss of letting it through.
"""

from __future__ import annotations

import math

from tracer import Domain, Explanation, Prediction
from tracer.explain import rank_factors

from tracer_fraud.traffic import PROFILE, hour_share, share_below

SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£"}


def money(value: float, currency: str) -> str:
    symbol = SYMBOLS.get(currency)
    return f"{symbol}{value:,.2f}" if symbol else f"{value:,.2f} {currency}"


def share(fraction: float) -> str:
    """A share of traffic, never rounded up: 99.8 %, and two decimals above 99.9 %."""
    if fraction >= 0.999:
        return f"{math.floor(fraction * 10_000) / 100:.2f} %"
    return f"{math.floor(fraction * 1000) / 10:.1f} %"


def chance(p: float) -> str:
    if p >= 0.1:
        return f"{p:.0%}".replace("%", " %")
    if p >= 0.001:
        return f"{p * 100:.2f} %"
    return f"{p * 100:.3f} %"


def signed(value: float) -> str:
    return f"{value:.2f}".replace("-", "−")


def against_legitimate(below: float, noun: str, more: str, less: str) -> str:
    """Where a value sits in legitimate traffic, from the share of it that lies below."""
    if below <= 0.0:
        return f"{less} than any legitimate {noun[:-1]} seen in training"
    if below >= 1.0:
        return f"{more} than any legitimate {noun[:-1]} seen in training"
    if below < 0.5:
        return f"{less} than {share(1 - below)} of legitimate {noun}"
    return f"{more} than {share(below)} of legitimate {noun}"


def period(hour: int) -> str:
    return ("at night" if hour < 6 else "in the morning" if hour < 12
            else "in the afternoon" if hour < 18 else "in the evening")


def sentence(feature: str, value: float, prediction: Prediction, currency: str) -> str:
    state = prediction.state
    if feature == "amount":
        where = against_legitimate(share_below(state, "Amount", value), "payments",
                                   "larger", "smaller")
        return f"Amount {money(value, currency)}, {where}"
    if feature == "hour_of_day":
        hour, minute = int(value) % 24, int(round((value % 1) * 60)) % 60
        return (f"Made at {hour:02d}:{minute:02d} {period(hour)}, an hour that carries "
                f"{share(hour_share(state, hour))} of legitimate payments")
    if feature == "distance_to_known_fraud":
        below = share_below(state, feature, value)
        lead = ("Close to a fraud seen in training" if below < 0.1
                else "Unlike the frauds seen in training" if below > 0.9
                else "As far from known frauds as legitimate traffic")
        where = against_legitimate(below, "transactions", "farther", "closer")
        return f"{lead}: {where}"
    where = against_legitimate(share_below(state, feature, value), "transactions",
                               "higher", "lower")
    return f"{feature} = {signed(value)}, {where}"


def explain(domain: Domain, prediction: Prediction) -> Explanation:
    currency = domain.cost_model.currency if domain.cost_model else "EUR"
    has_profile = PROFILE in prediction.state.values

    def say(feature: str, value: float, contribution: float) -> str:
        text = (sentence(feature, value, prediction, currency) if has_profile
                else f"{feature} = {signed(value)}")
        return f"{text} ({'points to fraud' if contribution > 0 else 'looks legitimate'})"

    # every factor, ranked: the platform keeps the top ones it was asked for, and all of
    # them together add up to the logit of the probability
    factors = rank_factors(prediction, say, top=len(prediction.contributions))
    p = prediction.probability
    action = domain.cost_model.action if domain.cost_model else "review"
    verdict = f"{action.capitalize()} it" if prediction.label else "Let it through"
    parts = [f"{verdict}: {chance(p)} chance the payment is fraud "
             f"(typical rate {chance(prediction.base_rate)})."]
    cost = prediction.expected_cost
    if cost:
        parts.append(f"Expected cost if you {action} it {money(cost['act'], currency)}, "
                     f"if you let it through {money(cost['do_not_act'], currency)}.")
        # the label follows the model's one threshold; this payment's own amount may disagree
        cheaper_to_act = cost["act"] < cost["do_not_act"]
        if cheaper_to_act != bool(prediction.label):
            better = f"a {action}" if cheaper_to_act else "letting it through"
            parts.append(f"For this amount alone, {better} would cost less.")
    if factors:
        parts.append("Main signs: " + "; ".join(f.sentence for f in factors[:2]) + ".")
    return Explanation(factors=factors, summary=" ".join(parts))
