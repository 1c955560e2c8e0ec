"""The registry's errors, each a kind from core's hierarchy (``tracer.errors``).

    tracer.errors.InvalidError (400)
    ├── RegistryError        publishing, verifying or installing a release failed
    │   └── verify.refusal.Refusal   a release or index refused by a named check
    └── CertificationError   a certification check, attestation or review failed

The ledger's ``LedgerError`` lives with the ledger (``tracer_registry.ledger.errors``), which
needs nothing else of the registry. Core's problem handler renders all of them by kind: the
status comes from the kind, the title and problem type from the class.
"""

from __future__ import annotations

from tracer.errors import InvalidError

__all__ = ["CertificationError", "RegistryError"]


class RegistryError(InvalidError):
    status, title, slug = 400, "Registry error", "registry"


class CertificationError(InvalidError):
    status, title, slug = 400, "Certification error", "certification"
