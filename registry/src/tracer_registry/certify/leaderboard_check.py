"""``quality.leaderboard``: does the plugin's model beat the platform's logistic regression?

The lifecycle that certification runs compares the plugin's trainer with the platform's
candidates on time-aware cross-validation and reports, with the held-out metrics, the
paired-bootstrap difference between the chosen model and a standardised logistic
regression fitted on the same rows (``<primary>_minus_logistic_regression`` and its 95 %
interval). A model that does not beat it beyond noise is not refused for that alone, but
the report says so, in numbers, for reviewers and buyers: a warning, never silence.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tracer_registry.certify.report import CheckResult

if TYPE_CHECKING:
    from tracer_registry.certify.policy import Policy

CHECK = "quality.leaderboard"


def _verdict(name: str, d: dict[str, Any]) -> tuple[bool | None, str]:
    primary, metrics = d["primary_metric"], d.get("metrics") or {}
    key = f"{primary}_minus_logistic_regression"
    if key not in metrics:
        return None, f"{name}: no logistic-regression comparison was reported"
    diff, low, high = metrics[key], metrics[f"{key}_low"], metrics[f"{key}_high"]
    beats = low > 0 if d["higher_is_better"] else high < 0
    text = (f"{name}: {primary} {d['value']:.4f}, {diff:+.4f} [{low:+.4f}, {high:+.4f}] "
            "against the platform's logistic regression on the same held-out "
            f"{d['rows']['evaluation']} records (95 % paired bootstrap)")
    return beats, text


def leaderboard_check(outcome: dict[str, Any], policy: Policy) -> CheckResult:
    domains = {n: d for n, d in (outcome.get("domains") or {}).items() if "value" in d}
    if not domains:
        return CheckResult(CHECK, "skipped", "warning",
                           "not run: no domain was trained", {})
    verdicts = {n: _verdict(n, d) for n, d in domains.items()}
    unknown = [n for n, (ok, _) in verdicts.items() if ok is None]
    losing = [n for n, (ok, _) in verdicts.items() if ok is False]
    lines = "; ".join(text for _, text in verdicts.values())
    evidence = {n: {k: v for k, v in (domains[n].get("metrics") or {}).items()
                    if "logistic_regression" in k} for n in domains}
    if unknown:
        return CheckResult(CHECK, "failed", "warning",
                           f"{lines}. Train with a tracer that compares candidates", evidence)
    if losing:
        return CheckResult(
            CHECK, "failed", "warning",
            f"{lines}. {', '.join(losing)}: not better than logistic regression beyond noise; "
            "buyers could fit that themselves. Say so in the model card, or add features "
            "that a linear model cannot use", evidence)
    return CheckResult(CHECK, "passed", "warning",
                       f"{lines}: better beyond noise", evidence)
