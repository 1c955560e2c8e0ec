"""Choosing the champion: time-aware cross-validation of every candidate on the training part.

Expanding windows over the training part in the domain's order: window *k* fits on every
row before cut *k* and is scored on the rows up to cut *k + 1*. Features learn their state
on each window's fitting rows only, exactly as in a real run, and nothing of the evaluation
part is read. Each candidate's out-of-fold margins are Platt-scaled the way the served
model will be (one fit on the pooled out-of-fold margins), then scored per window.

The rule, in order:

1. the best mean primary metric over the windows leads;
2. a candidate within one standard error of the leader (of the paired per-window
   differences) is a near-tie; among near-ties the lowest mean log-loss leads;
3. candidates within one standard error of that log-loss are tied, and the simplest
   (lowest ``complexity``) of them wins.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypedDict

import numpy as np

from tracer.candidates import Candidate, CandidateDict, fit, margin, size
from tracer.domain import HIGHER_IS_BETTER, Domain, FeatureState
from tracer.evaluation import METRICS
from tracer.features import compute_features
from tracer.model import fit_platt, sigmoid

if TYPE_CHECKING:
    import pandas as pd

    from tracer.host import PluginHost

WINDOWS = 3
#: the first window fits on the earliest 40 % of the training part
FIRST_FIT = 0.4


@dataclass(frozen=True)
class Window:
    fit: slice
    validate: slice


def expanding_windows(n: int, windows: int = WINDOWS, first: float = FIRST_FIT) -> list[Window]:
    edges = np.linspace(first * n, n, windows + 1).round().astype(int)
    return [Window(slice(0, int(edges[k])), slice(int(edges[k]), int(edges[k + 1])))
            for k in range(windows)]


@dataclass
class Standing:
    """One candidate's line in the leaderboard."""

    candidate: Candidate
    folds: list[dict[str, float]] = field(default_factory=list)
    sizes: list[str] = field(default_factory=list)
    margins: list[np.ndarray] = field(default_factory=list)
    calibration: dict[str, float] = field(default_factory=lambda: {"a": 1.0, "b": 0.0})

    def mean(self, metric: str) -> float:
        return float(np.mean([f[metric] for f in self.folds]))

    def spread(self, metric: str) -> float:
        values = [f[metric] for f in self.folds]
        return float(np.std(values, ddof=1)) if len(values) > 1 else 0.0

    @property
    def oof_margin(self) -> np.ndarray:
        return np.concatenate(self.margins)


class WindowDict(TypedDict):
    fit_rows: int
    validate_rows: int


class StandingDict(CandidateDict):
    """One leaderboard line: the candidate, its primary metric and log-loss over the
    windows (mean and sample spread), each window's metrics and the fitted sizes."""

    mean: float
    spread: float
    log_loss: float
    log_loss_spread: float
    folds: list[dict[str, float]]
    sizes: list[str]


class LeaderboardDict(TypedDict):
    """``Leaderboard.as_dict``: what a run logs as ``leaderboard.json`` and the CLI prints."""

    primary_metric: str
    winner: str
    reason: str
    windows: list[WindowDict]
    candidates: list[StandingDict]


@dataclass
class Leaderboard:
    primary: str
    windows: list[Window]
    standings: list[Standing]  # best first
    winner: Standing
    reason: str

    @property
    def oof_rows(self) -> np.ndarray:
        return np.concatenate([np.arange(w.validate.start, w.validate.stop)
                               for w in self.windows])

    def as_dict(self) -> LeaderboardDict:
        p = self.primary
        return {
            "primary_metric": p, "winner": self.winner.candidate.name, "reason": self.reason,
            "windows": [{"fit_rows": w.fit.stop, "validate_rows": w.validate.stop
                         - w.validate.start} for w in self.windows],
            "candidates": [{
                **s.candidate.as_dict(), "mean": s.mean(p), "spread": s.spread(p),
                "log_loss": s.mean("log_loss"), "log_loss_spread": s.spread("log_loss"),
                "folds": s.folds, "sizes": s.sizes} for s in self.standings],
        }


Progress = Callable[[str], None]


def cross_validate(host: PluginHost, domain: Domain, candidates: list[Candidate],
                   records: pd.DataFrame, labels: np.ndarray, weights: np.ndarray | None,
                   params: dict[str, Any], windows: int = WINDOWS) -> Leaderboard:
    """Fit every candidate on every window of ``records`` (the training part, in order)."""
    usable = [w for w in expanding_windows(len(records), windows)
              if len(np.unique(labels[w.fit])) == 2 and len(np.unique(labels[w.validate])) == 2]
    if not usable:  # too few rows or one class everywhere: one window over the latest third
        cut = int(len(records) * 2 / 3)
        usable = [Window(slice(0, cut), slice(cut, len(records)))]
    standings = [Standing(c) for c in candidates]
    with ThreadPoolExecutor(max_workers=1) as pool:
        _fit_windows(host, domain, standings, usable, records, labels, weights, params, pool)
    rows = np.concatenate([np.arange(w.validate.start, w.validate.stop) for w in usable])
    y_oof = labels[rows]
    w_oof = None if weights is None else weights[rows]
    for standing in standings:
        standing.calibration = fit_platt(standing.oof_margin, y_oof, w_oof)
        for window, raw in zip(usable, standing.margins, strict=True):
            y = labels[window.validate]
            w = None if weights is None else weights[window.validate]
            p = sigmoid(standing.calibration["a"] * raw + standing.calibration["b"])
            standing.folds.append({m: METRICS[m](y, p, w, threshold=0.5)
                                   for m in dict.fromkeys((domain.primary_metric, "log_loss"))})
    winner, reason = choose(standings, domain.primary_metric)
    sign = 1.0 if HIGHER_IS_BETTER[domain.primary_metric] else -1.0
    ranked = sorted(standings, key=lambda s: (s is not winner, -sign * s.mean(
        domain.primary_metric), s.mean("log_loss")))
    return Leaderboard(domain.primary_metric, usable, ranked, winner, reason)


def _fit_windows(host: PluginHost, domain: Domain, standings: list[Standing],
                 usable: list[Window], records: pd.DataFrame, labels: np.ndarray,
                 weights: np.ndarray | None, params: dict[str, Any], pool: Any) -> None:
    for window in usable:
        y_fit = labels[window.fit]
        w_fit = None if weights is None else weights[window.fit]
        state = FeatureState(fitting=True, labels=y_fit, weights=w_fit)
        x_fit = compute_features(host, domain, records.iloc[window.fit].reset_index(drop=True),
                                 state)
        state.fitting, state.labels, state.weights = False, None, None
        x_val = compute_features(
            host, domain, records.iloc[window.validate].reset_index(drop=True), state)
        # two lanes for two cores: the platform's own candidates in a worker thread, plugin
        # trainers on this thread only (plugin calls may go over one pipe to a runner)
        local = [st for st in standings if st.candidate.kind != "trainer"]
        lane = pool.submit(_fit_each, host, domain, local, x_fit, y_fit, w_fit, params)
        fitted = {id(st): fit(host, domain, st.candidate, x_fit, y_fit, w_fit, params)
                  for st in standings if st.candidate.kind == "trainer"}
        fitted.update({id(st): f for st, f in zip(local, lane.result(), strict=True)})
        for standing in standings:
            standing.margins.append(margin(fitted[id(standing)], x_val))
            standing.sizes.append(size(fitted[id(standing)]))


def _fit_each(host: PluginHost, domain: Domain, standings: list[Standing], x: pd.DataFrame,
              y: np.ndarray, w: np.ndarray | None, params: dict[str, Any]) -> list[Any]:
    return [fit(host, domain, st.candidate, x, y, w, params) for st in standings]


def _paired_se(a: Standing, b: Standing, metric: str) -> float:
    d = np.array([fa[metric] - fb[metric] for fa, fb in zip(a.folds, b.folds, strict=True)])
    return float(np.std(d, ddof=1) / np.sqrt(len(d))) if len(d) > 1 else 0.0


def choose(standings: list[Standing], primary: str) -> tuple[Standing, str]:
    """The winner by the module's rule, and the rule's verdict in one sentence."""
    sign = 1.0 if HIGHER_IS_BETTER[primary] else -1.0
    leader = max(standings, key=lambda s: sign * s.mean(primary))
    near = [s for s in standings
            if sign * (leader.mean(primary) - s.mean(primary)) <= _paired_se(leader, s, primary)]
    lowest = min(near, key=lambda s: s.mean("log_loss"))
    tied = [s for s in near
            if s.mean("log_loss") - lowest.mean("log_loss") <= _paired_se(s, lowest, "log_loss")]
    winner = min(tied, key=lambda s: (s.candidate.complexity, s.mean("log_loss")))
    name = winner.candidate.name
    if len(standings) == 1:
        reason = f"{name} is the only candidate compared"
    elif len(near) == 1:
        reason = f"{name} leads on mean {primary}, beyond one standard error of every other"
    elif len(tied) == 1:
        reason = (f"{len(near)} candidates within one standard error on {primary}; {name} has "
                  "the lowest log-loss among them")
    else:
        reason = (f"{len(near)} candidates within one standard error on {primary} and "
                  f"{len(tied)} of them on log-loss; {name} is the simplest of those")
    return winner, reason


def leaderboard_markdown(board: Leaderboard) -> str:
    """The leaderboard as a markdown table: mean ± spread over the windows, each window."""
    p = board.primary
    k = len(board.windows)
    head = (f"| candidate | {p} mean ± sd | " + " | ".join(f"window {i + 1}" for i in range(k))
            + " | log-loss mean ± sd | size |")
    lines = [head, "|---" * (4 + k) + "|"]
    for s in board.standings:
        mark = "**" if s is board.winner else ""
        cells = " | ".join(f"{f[p]:.4f}" for f in s.folds)
        lines.append(f"| {mark}{s.candidate.name}{mark} | {s.mean(p):.4f} ± {s.spread(p):.4f} | "
                     f"{cells} | {s.mean('log_loss'):.4f} ± {s.spread('log_loss'):.4f} | "
                     f"{s.sizes[-1] if s.sizes else ''} |")
    return "\n".join(lines)
