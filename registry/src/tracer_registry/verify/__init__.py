"""Verification of release signatures; every refusal names the failed check.

``verify_release`` picks the path from the bundle's shape: a PEP 740 attestation, a
keyless Sigstore bundle (certificate), or a public-key bundle (air-gapped publishing).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from tracer_registry.verify.keyed import key_id, load_public_key, pae, verify_key_bundle
from tracer_registry.verify.keyless import (
    PINNED_TRUST_ROOT,
    verify_attestation,
    verify_keyless,
)
from tracer_registry.verify.model_dir import verify_model_directory
from tracer_registry.verify.refusal import (
    CHECKS,
    Refusal,
    TrustedPublisherRule,
    VerifiedIdentity,
)

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["CHECKS", "PINNED_TRUST_ROOT", "Refusal", "TrustedPublisherRule", "VerifiedIdentity",
           "bundle_kind", "key_id", "load_public_key", "pae", "verify_attestation",
           "verify_key_bundle", "verify_keyless", "verify_model_directory", "verify_release"]


def bundle_kind(raw: bytes) -> str:
    """``pep740``, ``keyless`` or ``key``; a bundle of no known shape is refused."""
    try:
        document = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise Refusal("bundle", "the bundle is not JSON (stripped or truncated?)") from None
    if not isinstance(document, dict):
        raise Refusal("bundle", "the bundle is not a JSON object")
    if "envelope" in document and "verification_material" in document:
        return "pep740"
    material = document.get("verificationMaterial")
    if not isinstance(material, dict):
        raise Refusal("bundle", "the bundle has no verification material (stripped?)")
    return "key" if "publicKey" in material else "keyless"


def verify_release(artifact: bytes, filename: str, bundle_raw: bytes, *,
                   rules: list[TrustedPublisherRule], keys: dict[str, str],
                   trust_root: Path = PINNED_TRUST_ROOT) -> VerifiedIdentity:
    kind = bundle_kind(bundle_raw)
    if kind == "pep740":
        return verify_attestation(artifact, filename, bundle_raw, rules, trust_root=trust_root)
    if kind == "key":
        return verify_key_bundle(artifact, bundle_raw, keys, filename=filename,
                                 trust_root=trust_root)
    if not rules:
        raise Refusal("identity", "the publisher has no trusted-publisher record for keyless "
                                  "bundles in this namespace")
    return verify_keyless(artifact, bundle_raw, rules, filename=filename, trust_root=trust_root)
