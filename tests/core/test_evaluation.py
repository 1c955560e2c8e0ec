"""Metrics and decisions, checked against brute force and hand-worked numbers."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tracer import CostModel
from tracer.evaluation import (
    accuracy,
    bootstrap_ci,
    expected_calibration_error,
    expected_cost,
    min_cost_threshold,
    precision_at_k,
    recall_at_fpr,
)


def test_weighted_accuracy_counts_weights():
    y = np.array([1, 0, 0])
    p = np.array([0.9, 0.8, 0.1])
    assert accuracy(y, p) == pytest.approx(2 / 3)
    assert accuracy(y, p, np.array([1.0, 2.5, 2.5])) == pytest.approx(3.5 / 6)


def test_recall_at_fpr_hand_example():
    y = np.array([1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
    p = np.array([.95, .7, .2, .9, .6, .5, .4, .3, .15, .1, .05, .02, .01])
    # 10 negatives; at 0 % FPR no negative may be flagged: only 0.95 is above 0.9
    assert recall_at_fpr(y, p, fpr=0.0) == pytest.approx(1 / 3)
    # at 10 % the negative 0.9 may be flagged: the cut drops to 0.6, catching 0.95 and 0.7
    assert recall_at_fpr(y, p, fpr=0.1) == pytest.approx(2 / 3)
    # at 70 % seven negatives are flagged, the cut is 0.15: the 0.2 positive is caught too
    assert recall_at_fpr(y, p, fpr=0.7) == pytest.approx(1.0)


def test_precision_at_k():
    y = np.array([1, 0, 1, 0])
    p = np.array([0.9, 0.8, 0.7, 0.1])
    assert precision_at_k(y, p, k=2) == 0.5
    assert precision_at_k(y, p, k=3) == pytest.approx(2 / 3)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.floats(0, 1), st.floats(0.5, 3),
                          st.floats(0, 500)), min_size=2, max_size=40),
       st.floats(0.5, 20))
def test_min_cost_threshold_matches_brute_force(rows, fee):
    y = np.array([int(r[0]) for r in rows])
    p = np.round(np.array([r[1] for r in rows]), 2)
    w = np.array([r[2] for r in rows])
    amounts = np.array([r[3] for r in rows])
    cost = CostModel(false_positive=fee, false_negative_column="amount")
    threshold, best = min_cost_threshold(y, p, w, cost, amounts)
    candidates = [*np.unique(p), 1.01]
    brute = min(expected_cost(y, p, w, t, cost, amounts) for t in candidates)
    assert best == pytest.approx(brute, rel=1e-9, abs=1e-6)
    assert expected_cost(y, p, w, threshold, cost, amounts) == pytest.approx(best, abs=1e-6)


def test_calibration_error_is_small_for_calibrated_scores():
    rng = np.random.default_rng(0)
    p = rng.random(20_000)
    y = (rng.random(20_000) < p).astype(int)
    assert expected_calibration_error(y, p) < 0.02
    assert expected_calibration_error(y, np.clip(p * 1.6, 0, 1)) > 0.1


def test_bootstrap_interval_contains_the_estimate_and_narrows_with_data():
    rng = np.random.default_rng(1)
    def interval(n):
        p = rng.random(n)
        y = (rng.random(n) < p).astype(int)
        return bootstrap_ci("roc_auc", y, p, samples=200, seed=0)
    small, large = interval(200), interval(5_000)
    assert small[0] < small[1] and large[0] < large[1]
    assert (large[1] - large[0]) < (small[1] - small[0])
