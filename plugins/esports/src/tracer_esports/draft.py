"""What a Dota 2 draft says before the horn: hero strength, synergy and counters.

Statistics are learned from the training part's results only (``FeatureState`` while
fitting) and stored as plain JSON. Every number is an empirical-Bayes log-odds, shrunk
towards what the simpler model expects, so a pair seen in five games says almost nothing:

- hero strength ``h[i]``: what hero *i* adds to its team's log-odds of winning (a ridge
  logistic regression on the picks);
- synergy ``s[i, j]``: how much better heroes *i* and *j* do on the same team than
  ``h[i] + h[j]`` predicts;
- counter ``c[i, j]``: how much better hero *i* does against hero *j* than ``h[i] - h[j]``
  predicts (so ``c[j, i] == -c[i, j]``).

While fitting, each training row gets its statistics from the *other* folds (out-of-fold
target encoding); otherwise the booster would learn that a row's own result is baked into
its features and trust them far too much.
"""

from __future__ import annotations

from typing import Any

import numpy as np

HEROES = 113
#: pseudo-games of the prior behind every shrunk rate
PRIOR_GAMES = 20.0
FOLDS = 5
#: inverse ridge strength of the hero-strength regression
RIDGE_C = 0.1


def sides(picks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """0/1 matrices (games × heroes) of Radiant's and Dire's picks."""
    return (picks == 1).astype(np.float64), (picks == -1).astype(np.float64)


def _shrunk_logit(wins: np.ndarray, games: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """Log-odds of ``wins / games`` pulled towards ``expected`` by ``PRIOR_GAMES`` games."""
    prior = 1.0 / (1.0 + np.exp(-expected))
    rate = (wins + PRIOR_GAMES * prior) / (games + PRIOR_GAMES)
    return np.log(rate / (1.0 - rate)) - expected


def learn(picks: np.ndarray, radiant_won: np.ndarray) -> dict[str, Any]:
    """Hero strength, synergy and counter statistics of these games, as plain JSON."""
    from scipy import sparse

    # ten picks per game: sparse products count pairs in O(games), not O(games × heroes²)
    radiant, dire = (sparse.csr_matrix(side) for side in sides(picks))
    won = sparse.diags(radiant_won.astype(np.float64))
    lost = sparse.diags(1.0 - radiant_won.astype(np.float64))
    strength = _strength(picks, radiant_won)

    def dense(matrix: Any) -> np.ndarray:
        return np.asarray(matrix.toarray(), dtype=np.float64)

    together = dense(radiant.T @ radiant + dire.T @ dire)
    together_wins = dense(radiant.T @ won @ radiant + dire.T @ lost @ dire)
    synergy = _shrunk_logit(together_wins, together, strength[:, None] + strength[None, :])
    np.fill_diagonal(synergy, 0.0)
    against = dense(radiant.T @ dire + dire.T @ radiant)
    against_wins = dense(radiant.T @ won @ dire + dire.T @ lost @ radiant)
    counter = _shrunk_logit(against_wins, against, strength[:, None] - strength[None, :])
    return {
        "games": int(len(picks)),
        "hero_strength": _rounded(strength),
        # pairs never seen carry exactly 0 and are left out: the JSON stays small
        "synergy": _pairs(np.triu(synergy, 1)),
        "counter": _pairs(np.triu(counter, 1)),
    }


def _strength(picks: np.ndarray, radiant_won: np.ndarray) -> np.ndarray:
    """Each hero's worth in log-odds, from a ridge logistic regression on all ten picks.

    Unlike a hero's raw win rate, this credits the hero and not the teammates it tends to be
    drafted with. Heroes never picked get 0.
    """
    from sklearn.linear_model import LogisticRegression

    if len(np.unique(radiant_won)) < 2:
        return np.zeros(HEROES)
    from scipy import sparse

    # sparse picks (ten of 113 per game): the same fit, an order of magnitude faster
    model = LogisticRegression(C=RIDGE_C, max_iter=1000).fit(sparse.csr_matrix(picks),
                                                             radiant_won)
    return model.coef_[0] * (np.abs(picks).sum(0) > 0)


def _rounded(values: np.ndarray) -> list[float]:
    return [round(float(v), 5) for v in values]


def _pairs(matrix: np.ndarray) -> list[list[float]]:
    """Upper-triangle entries ``[i, j, value]`` (0-based hero columns) that are not zero."""
    rows, cols = np.nonzero(np.abs(matrix) > 5e-6)
    return [[int(i), int(j), round(float(matrix[i, j]), 5)]
            for i, j in zip(rows, cols, strict=True)]


def _matrix(pairs: list[list[float]], antisymmetric: bool) -> np.ndarray:
    out = np.zeros((HEROES, HEROES))
    if pairs:
        i, j, v = (np.asarray(column) for column in zip(*pairs, strict=True))
        i, j = i.astype(int), j.astype(int)
        out[i, j] = v
        out[j, i] = -v if antisymmetric else v
    return out


def score(picks: np.ndarray, stats: dict[str, Any]) -> dict[str, np.ndarray]:
    """Radiant-minus-Dire hero strength, synergy and counter of each game, in log-odds."""
    radiant, dire = sides(picks)
    strength = np.asarray(stats["hero_strength"], dtype=np.float64)
    synergy = _matrix(stats["synergy"], antisymmetric=False)
    counter = _matrix(stats["counter"], antisymmetric=True)

    def team_synergy(team: np.ndarray) -> np.ndarray:
        return ((team @ synergy) * team).sum(1) / 2  # each pair counted once

    return {
        "hero_strength_lead": radiant @ strength - dire @ strength,
        "synergy_lead": team_synergy(radiant) - team_synergy(dire),
        "counter_lead": ((radiant @ counter) * dire).sum(1),
    }


def empty() -> dict[str, Any]:
    """Statistics of no games: every score is 0 (nothing was learned)."""
    return {"games": 0, "hero_strength": [0.0] * HEROES, "synergy": [], "counter": []}


def out_of_fold(picks: np.ndarray, radiant_won: np.ndarray) -> dict[str, np.ndarray]:
    """Scores of the training games, each from statistics of the other folds only."""
    folds = np.array_split(np.arange(len(picks)), min(FOLDS, len(picks)))
    parts: dict[str, list[np.ndarray]] = {}
    for k, rows in enumerate(folds):
        rest = np.concatenate([f for m, f in enumerate(folds) if m != k])
        stats = learn(picks[rest], radiant_won[rest]) if len(rest) else empty()
        for name, values in score(picks[rows], stats).items():
            parts.setdefault(name, []).append(values)
    return {name: np.concatenate(values) for name, values in parts.items()}
