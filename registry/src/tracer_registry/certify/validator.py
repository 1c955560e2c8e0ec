"""``certify_wheel``: every check, in order, into one report.

Static checks read the wheel as data in this process; dynamic checks run the plugin in
the sandbox child. A wheel whose paths could escape its folder is never extracted, so its
dynamic checks are reported as skipped (and the report fails on the path check).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from tracer import __version__ as TRACER_VERSION

from tracer_registry.certify.contents_checks import contents_checks
from tracer_registry.certify.domain_checks import check_domains
from tracer_registry.certify.evaluation import CHECK as EVALUATION_CHECK
from tracer_registry.certify.evaluation import registry_evaluation_check, withhold
from tracer_registry.certify.leaderboard_check import CHECK as LEADERBOARD_CHECK
from tracer_registry.certify.leaderboard_check import leaderboard_check
from tracer_registry.certify.metadata_checks import metadata_checks
from tracer_registry.certify.policy import REGISTRY_POLICY, Policy
from tracer_registry.certify.report import CheckResult, Report
from tracer_registry.certify.sandbox import DYNAMIC_CHECKS, dynamic_checks, run_in_sandbox
from tracer_registry.certify.static_checks import Allowance, static_checks
from tracer_registry.certify.wheel import Wheel

if TYPE_CHECKING:
    from pathlib import Path

    import pandas as pd

Progress = Callable[[str], None]


def certify_wheel(path: str | Path, *, policy: Policy = REGISTRY_POLICY,
                  published: str | None = None, allowances: Sequence[Allowance] = (),
                  progress: Progress | None = None,
                  owned_domains: Sequence[str] | None = None,
                  evaluation_sets: Mapping[str, pd.DataFrame] | None = None) -> Report:
    """Run every check on the wheel at ``path``.

    Args:
        published: the newest version of this plugin the registry already holds.
        allowances: reviewer-granted exceptions for static findings of this plugin.
        owned_domains: the domain prefixes the publisher claimed (None: a local run).
        evaluation_sets: the registry's own evaluation sets, by domain (``evaluation``).
    """
    return certify_with_outcome(path, policy=policy, published=published,
                                allowances=allowances, progress=progress,
                                owned_domains=owned_domains,
                                evaluation_sets=evaluation_sets)[0]


def certify_with_outcome(path: str | Path, *, policy: Policy = REGISTRY_POLICY,
                         published: str | None = None, allowances: Sequence[Allowance] = (),
                         progress: Progress | None = None,
                         owned_domains: Sequence[str] | None = None,
                         evaluation_sets: Mapping[str, pd.DataFrame] | None = None
                         ) -> tuple[Report, dict]:
    """``certify_wheel`` plus what the sandbox child reported (empty if it did not run)."""
    step = progress or (lambda _stage: None)
    wheel = Wheel(path)
    report = Report(plugin=wheel.name, version=wheel.version, wheel=wheel.path.name,
                    wheel_sha256=wheel.sha256, policy_version=policy.version,
                    tracer_version=TRACER_VERSION,
                    created_at=datetime.now(UTC).isoformat(timespec="seconds"))
    step("metadata")
    report.checks += metadata_checks(wheel, policy, published)
    report.checks.append(check_domains(wheel, policy, owned_domains))
    step("packaging")
    report.checks += contents_checks(wheel, policy)
    step("static safety")
    report.checks += static_checks(wheel, policy, list(allowances))
    if report.check("packaging.paths").status == "failed":
        report.checks += [CheckResult(c, "skipped", policy.severity(c),
                                      "not run: the wheel's paths are unsafe to extract", {})
                          for c in (*DYNAMIC_CHECKS, LEADERBOARD_CHECK, EVALUATION_CHECK)]
        return report, {}
    wheel.evaluation_records, outcomes = withhold(dict(evaluation_sets or {}))
    step("sandbox: import, conformance, training twice, explanations, speed")
    outcome = run_in_sandbox(wheel, policy)
    report.checks += dynamic_checks(outcome, policy)
    report.checks.append(leaderboard_check(outcome, policy))
    report.checks.append(registry_evaluation_check(outcome, policy, outcomes))
    return report, outcome
