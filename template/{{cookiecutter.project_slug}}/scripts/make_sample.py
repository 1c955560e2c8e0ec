"""Write the synthetic sample dataset shipped with the plugin (run once; output committed).

    python scripts/make_sample.py src/{{ cookiecutter.package_name }}/data/sample.csv

Deterministic on every Python: only ``random.Random(seed).random()`` is used, whose
sequence the standard library promises to keep. Replace the sample with your own reference
data (and this script with where that data came from) when you make the plugin yours.
"""

from __future__ import annotations

import csv
import math
import random
import sys

SEED = 20261123
ROWS = 600
PLANS = ("basic", "standard", "premium")
COLUMNS = ("observed_day", "tenure_months", "monthly_spend", "support_tickets",
           "logins_last_30d", "late_payments", "plan", "churned")


def normal(rng: random.Random) -> float:
    """A standard normal draw (Box-Muller), built on random() alone."""
    u = 1.0 - rng.random()
    return math.sqrt(-2.0 * math.log(u)) * math.cos(2.0 * math.pi * rng.random())


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth), built on random() alone."""
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def rows(seed: int = SEED, n: int = ROWS) -> list[dict[str, object]]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        plan = PLANS[min(2, int(rng.random() * 3))]
        tenure = 1 + min(71, int(-math.log(1.0 - rng.random()) * 18))
        spend = round(max(9.0, {"basic": 25.0, "standard": 55.0, "premium": 95.0}[plan]
                          + 12.0 * normal(rng)), 2)
        tickets = poisson(rng, 0.9)
        logins = min(40, poisson(rng, 14.0 if tenure > 6 else 9.0))
        late = min(3, poisson(rng, 0.3))
        # thresholds and an interaction, as real churn has: new customers with several
        # tickets leave, late payments matter most on the cheapest plan
        logit = (-1.6 + 1.6 * (tickets >= 3) + 1.1 * (tenure <= 6) * (tickets >= 2)
                 - 0.02 * tenure - 0.09 * (min(logins, 20) - 12)
                 + 1.2 * late * (plan == "basic") + 0.3 * late
                 + {"basic": 0.3, "standard": 0.0, "premium": -0.5}[plan])
        churned = int(rng.random() < 1.0 / (1.0 + math.exp(-logit)))
        out.append({"observed_day": 1 + i * 365 // n, "tenure_months": tenure,
                    "monthly_spend": spend, "support_tickets": tickets,
                    "logins_last_30d": logins, "late_payments": late, "plan": plan,
                    "churned": churned})
    return out


def write(path: str) -> None:
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows())


if __name__ == "__main__":
    write(sys.argv[1] if len(sys.argv) > 1 else "sample.csv")
