"""What legitimate card traffic looks like, learned while fitting and stored as JSON.

Explanations describe a payment against legitimate payments only ("lower than 99.7 % of
legitimate transactions"): frauds would drag the reference towards themselves. The
profile is a table of quantiles per column, fine-grained in the tails where unusual values
live, plus the share of legitimate payments in each hour of the day.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd
    from tracer import FeatureState

#: quantile levels: every 0.01 % in the outer 0.2 %, every 0.1 % in the 2 % tails, every
#: 1 % in between: frauds live in the tails, where "lower than 99.97 %" needs resolution
LEVELS: list[float] = sorted({round(float(x), 5) for x in (
    *np.arange(0.0, 0.002, 0.0001), *np.arange(0.002, 0.02, 0.001),
    *np.arange(0.02, 0.98, 0.01), *np.arange(0.98, 0.998, 0.001),
    *np.arange(0.998, 1.0, 0.0001), 1.0)})

PROFILE = "legitimate_profile"


def legitimate_rows(records: pd.DataFrame, state: FeatureState) -> pd.DataFrame:
    """The training records known to be legitimate; all of them when labels are unknown
    (frauds are a fraction of a percent, so the quantiles barely move)."""
    if state.labels is None:
        return records
    return records[np.asarray(state.labels) == 0]


def fit_profile(records: pd.DataFrame, hours: pd.Series, columns: list[str],
                state: FeatureState) -> None:
    """Store quantiles of ``columns`` and the hourly share of legitimate traffic."""
    legit = legitimate_rows(records, state)
    counts = np.bincount(hours.loc[legit.index].to_numpy().astype(int) % 24, minlength=24)
    state.values[PROFILE] = {
        "levels": LEVELS, "quantiles": {}, "rows": len(legit),
        "hour_share": [round(float(c), 6) for c in counts / max(counts.sum(), 1)],
    }
    add_quantiles(records, columns, state)


def add_quantiles(frame: pd.DataFrame, columns: list[str], state: FeatureState) -> None:
    """Add legitimate-traffic quantiles of more columns (derived features, too)."""
    legit = legitimate_rows(frame, state)
    state.values[PROFILE]["quantiles"].update(
        {c: [round(float(v), 6) for v in np.quantile(legit[c].to_numpy(), LEVELS)]
         for c in columns})


def share_below(state: FeatureState, column: str, value: float) -> float:
    """Share of legitimate training payments with a smaller ``column`` value (0..1)."""
    profile = state.values[PROFILE]
    q = np.asarray(profile["quantiles"][column])
    levels = profile["levels"]
    first = int(np.searchsorted(q, value, side="left"))  # first quantile >= value
    after = int(np.searchsorted(q, value, side="right"))  # first quantile > value
    if first < after:  # the value is a quantile itself (ties: many payments of 1.00)
        return float((levels[first] + levels[after - 1]) / 2)
    if first == 0:
        return 0.0
    if first == len(q):
        return 1.0
    step = (value - q[first - 1]) / (q[first] - q[first - 1])
    return float(levels[first - 1] + step * (levels[first] - levels[first - 1]))


def hour_share(state: FeatureState, hour: int) -> float:
    """Share of legitimate training payments made in this hour of the day."""
    return float(state.values[PROFILE]["hour_share"][hour % 24])
