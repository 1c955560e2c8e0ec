"""Certification: an automated validator, human review, and signed, expiring attestations.

``certify_wheel`` runs the checks (plugin code only ever runs in a sandboxed child
process); reviewers work a queue (``review``); approval yields an in-toto statement in a
DSSE envelope signed by M-of-N reviewers and the registry (``attestation``), which hosts
check with ``verify_attestation`` before installing when a tenant requires certified
plugins.
"""

from tracer_registry.certify.attestation import TrustPolicy, verify_attestation
from tracer_registry.certify.policy import POLICY_VERSION, REGISTRY_POLICY, Policy
from tracer_registry.certify.report import CheckResult, Report
from tracer_registry.certify.static_checks import Allowance
from tracer_registry.certify.validator import certify_wheel

__all__ = [
    "POLICY_VERSION",
    "REGISTRY_POLICY",
    "Allowance",
    "CheckResult",
    "Policy",
    "Report",
    "TrustPolicy",
    "certify_wheel",
    "verify_attestation",
]
