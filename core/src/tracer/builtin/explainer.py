"""The built-in explainer: generic sentences when a domain brings no ``tracer_explain``."""

from __future__ import annotations

from tracer.domain import Domain, Explanation, Prediction
from tracer.explain import format_value, rank_factors
from tracer.hookspecs import hookimpl


@hookimpl(trylast=True)
def tracer_explain(domain: Domain, prediction: Prediction) -> Explanation:
    def sentence(feature: str, value: object, contribution: float) -> str:
        verb = "raises" if contribution > 0 else "lowers"
        return f"{feature} = {format_value(value)} {verb} the chance that {domain.outcome}"

    factors = rank_factors(prediction, sentence)
    top = factors[0].sentence if factors else "no single factor stands out"
    summary = (f"{prediction.probability:.0%} chance that {domain.outcome} "
               f"(base rate {prediction.base_rate:.0%}); strongest reason: {top}.")
    return Explanation(factors=factors, summary=summary)
