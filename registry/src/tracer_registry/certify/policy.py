"""The certification policy: the one fixed configuration every run of the validator uses.

Authors run ``tracer certify`` with exactly the policy the registry applies; there are no
flags to relax it. What reviewers may relax is narrow and visible: an allowance for one
static finding (rule, file, symbol) of one plugin, with a reason, shown in every report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tracer_registry.certify.report import Severity

#: Bump when a check, bound or list changes; attestations name the version they met.
POLICY_VERSION = "2026.11.1"

#: SPDX identifiers a certified plugin's code may be licensed under.
LICENSES = frozenset({
    "Apache-2.0", "MIT", "BSD-2-Clause", "BSD-3-Clause", "ISC", "MPL-2.0", "0BSD",
    "PSF-2.0", "Unlicense", "CC0-1.0", "Zlib",
})


@dataclass(frozen=True)
class Policy:
    version: str = POLICY_VERSION
    licenses: frozenset[str] = LICENSES
    # dynamic checks: the child process that runs plugin code
    wall_seconds: float = 600.0
    cpu_seconds: int = 900
    memory_bytes: int = 6 * 1024**3  # address space; XGBoost and BLAS reserve generously
    file_bytes: int = 512 * 1024**2
    # quality
    ece_bound: float = 0.05
    # one feature alone at this held-out ROC-AUC (or separating the classes) leaks the label
    leak_auc_bound: float = 0.99
    # ECE of a perfectly calibrated model on n held-out records is itself ~1/sqrt(n) noise
    # with 10 bins, so small evaluation sets get that much more room (600 rows: +0.041)
    ece_noise_allowance: float = 1.0
    explanation_tolerance: float = 1e-4
    explanation_rows: int = 25
    reproducibility_tolerance: float = 1e-9
    # speed: one record, predict + explain, measured in the child
    speed_calls: int = 200
    speed_p99_budget_ms: float = 50.0
    # human review: approvals needed (M of the N registered reviewers)
    reviewers_required: int = 2
    # which checks stop certification (error) and which only inform reviewers (warning)
    warnings: frozenset[str] = field(default_factory=lambda: frozenset({
        "metadata.readme", "speed.p99"}))

    def ece_limit(self, evaluation_rows: int) -> float:
        return self.ece_bound + self.ece_noise_allowance / max(evaluation_rows, 1) ** 0.5

    def severity(self, check_id: str) -> Severity:
        return "warning" if check_id in self.warnings else "error"


#: What the registry runs, and what ``tracer certify`` runs for authors.
REGISTRY_POLICY = Policy()
