"""Building blocks for explanations: ranking contributions into factors, number wording."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tracer.domain import Factor, Prediction

if TYPE_CHECKING:
    from collections.abc import Callable

#: How many factors an answer carries by default.
TOP_FACTORS = 5


def rank_factors(prediction: Prediction, sentence: Callable[[str, Any, float], str],
                 top: int = TOP_FACTORS) -> list[Factor]:
    """The ``top`` features by absolute contribution, each with a sentence.

    ``sentence(feature, value, contribution)`` says the factor in the domain's words.
    """
    ranked = sorted(prediction.contributions.items(), key=lambda kv: -abs(kv[1]))[:top]
    factors = []
    for feature, contribution in ranked:
        value = prediction.features.get(feature)
        factors.append(Factor(feature=feature, value=value, contribution=float(contribution),
                              direction="up" if contribution > 0 else "down",
                              sentence=sentence(feature, value, contribution)))
    return factors


def format_value(value: Any) -> str:
    """A number as a person would write it: 2,410 / 0.37 / 12.5."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        f = float(value)
        if f.is_integer():
            return f"{int(f):,}"
        return f"{f:,.2f}" if abs(f) < 1000 else f"{f:,.0f}"
    return str(value)
