"""``quality.leaderboard`` reads the paired difference to logistic regression that the
lifecycle reports with every model, and says plainly when a model does not beat it."""

from __future__ import annotations

from tracer_registry.certify.leaderboard_check import leaderboard_check
from tracer_registry.certify.policy import REGISTRY_POLICY


def outcome(diff: float, low: float, high: float, higher_is_better: bool = True) -> dict:
    key = "auprc_minus_logistic_regression"
    return {"domains": {"acme/fraud": {
        "primary_metric": "auprc", "higher_is_better": higher_is_better, "value": 0.8,
        "rows": {"evaluation": 1000},
        "metrics": {"auprc": 0.8, key: diff, f"{key}_low": low, f"{key}_high": high}}}}


def test_a_model_better_beyond_noise_passes():
    check = leaderboard_check(outcome(0.1, 0.04, 0.17), REGISTRY_POLICY)
    assert check.status == "passed"
    assert "+0.1000 [+0.0400, +0.1700]" in check.message
    assert check.evidence["acme/fraud"]["auprc_minus_logistic_regression_low"] == 0.04


def test_a_tie_with_logistic_regression_is_reported_not_hidden():
    check = leaderboard_check(outcome(0.002, -0.01, 0.015), REGISTRY_POLICY)
    assert (check.status, check.severity, check.blocking) == ("failed", "warning", False)
    assert "not better than logistic regression beyond noise" in check.message


def test_for_a_loss_better_means_below_zero():
    assert leaderboard_check(outcome(-0.1, -0.2, -0.05, False), REGISTRY_POLICY).status == \
        "passed"
    assert leaderboard_check(outcome(0.1, 0.05, 0.2, False), REGISTRY_POLICY).status == "failed"


def test_a_run_without_the_comparison_says_so():
    plain = outcome(0, 0, 0)
    plain["domains"]["acme/fraud"]["metrics"] = {"auprc": 0.8}
    check = leaderboard_check(plain, REGISTRY_POLICY)
    assert check.status == "failed" and "no logistic-regression comparison" in check.message
    assert leaderboard_check({"domains": {}}, REGISTRY_POLICY).status == "skipped"
