"""Keyless Sigstore bundles and PEP 740 attestations, verified offline.

The trust root is a file pinned in this package (``trusted_root.json``, the Sigstore
public-good root copied from the ``sigstore`` wheel), never the TUF cache in the home
directory, which may be stale and which an attacker with that directory could replace.
The identity policy is built from the publisher's trusted-publisher records.

sigstore-python raises ``VerificationError`` for most failures but some malformed bundles
raise other exceptions (``AttributeError``...): any exception is a refusal.
"""

from __future__ import annotations

import base64
import hashlib
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from tracer_registry.verify.refusal import Refusal, TrustedPublisherRule, VerifiedIdentity

PINNED_TRUST_ROOT = Path(__file__).with_name("trusted_root.json")
IN_TOTO = "application/vnd.in-toto+json"
STATEMENT_TYPES = ("https://in-toto.io/Statement/v1", "https://in-toto.io/Statement/v0.1")

# Fulcio certificate extensions (github.com/sigstore/fulcio docs/oid-info.md)
_ISSUER_V1 = "1.3.6.1.4.1.57264.1.1"
_ISSUER_V2 = "1.3.6.1.4.1.57264.1.8"
_CLAIMS = {"source_repository": "1.3.6.1.4.1.57264.1.12",
           "source_ref": "1.3.6.1.4.1.57264.1.14",
           "source_digest": "1.3.6.1.4.1.57264.1.13",
           "build_trigger": "1.3.6.1.4.1.57264.1.20",
           "runner_environment": "1.3.6.1.4.1.57264.1.11"}


@lru_cache(maxsize=4)
def verifier_for(trust_root: Path = PINNED_TRUST_ROOT):
    from sigstore.models import TrustedRoot
    from sigstore.verify import Verifier

    return Verifier(trusted_root=TrustedRoot.from_file(str(trust_root)))


def _der_utf8(raw: bytes) -> str:
    """Decode a DER UTF8String (the v2 Fulcio extensions are DER-wrapped)."""
    if len(raw) < 2 or raw[0] != 0x0C:
        raise ValueError("not a DER UTF8String")
    length, offset = raw[1], 2
    if length & 0x80:
        count = length & 0x7F
        length, offset = int.from_bytes(raw[2:2 + count], "big"), 2 + count
    return raw[offset:offset + length].decode()


def _extension(cert, dotted: str, der: bool) -> str | None:
    from cryptography import x509

    try:
        value = cert.extensions.get_extension_for_oid(x509.ObjectIdentifier(dotted)).value
    except x509.ExtensionNotFound:
        return None
    raw = value.value
    return _der_utf8(raw) if der else raw.decode()


def certificate_identity(cert) -> tuple[str | None, str | None, dict[str, str]]:
    """(SAN, OIDC issuer, selected build claims) of a Fulcio certificate."""
    from cryptography import x509

    try:
        san_ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = (san_ext.get_values_for_type(x509.UniformResourceIdentifier)
                 + san_ext.get_values_for_type(x509.RFC822Name))
    except x509.ExtensionNotFound:
        names = []
    issuer = _extension(cert, _ISSUER_V2, der=True) or _extension(cert, _ISSUER_V1, der=False)
    claims = {key: v for key, oid in _CLAIMS.items() if (v := _extension(cert, oid, der=True))}
    return (names[0] if names else None), issuer, claims


def _policy(rules: list[TrustedPublisherRule]):
    from sigstore.errors import VerificationError

    class PolicyRefusal(VerificationError):
        def __init__(self, check: str, message: str) -> None:
            super().__init__(message)
            self.check = check

    class TrustedPublisherPolicy:
        """Issuer first (a wrong issuer is its own answer), then the workflow identity."""

        def verify(self, cert) -> None:
            san, issuer, _ = certificate_identity(cert)
            same_issuer = [r for r in rules if r.issuer == issuer]
            if not same_issuer:
                wanted = sorted({r.issuer for r in rules}) or ["(no trusted publisher)"]
                raise PolicyRefusal("issuer", f"certificate issuer {issuer!r} is not the "
                                              f"trusted publisher's ({', '.join(wanted)})")
            if san is None or not any(r.matches_identity(san) for r in same_issuer):
                identities = ", ".join(r.expected_identity() + "…" for r in same_issuer)
                raise PolicyRefusal("identity", f"certificate identity {san!r} does not "
                                                f"match the trusted publisher ({identities})")

    return TrustedPublisherPolicy(), PolicyRefusal


def _classify(exc: BaseException) -> tuple[str, str]:
    check = getattr(exc, "check", None)
    if check:
        return check, str(exc)
    text = str(exc) or type(exc).__name__
    lowered = text.lower()
    if "digest mismatch" in lowered:
        return "digest", text
    if "signature is invalid" in lowered:
        return "signature", text
    from sigstore.errors import VerificationError

    if isinstance(exc, VerificationError):
        # certificate chain, SCT, log inclusion, verified time: all anchored in the root
        return "trust root", text
    return "bundle", f"{type(exc).__name__}: {text}"


def _load_bundle(raw: bytes):
    from sigstore.models import Bundle

    try:
        return Bundle.from_json(raw)
    except Exception as exc:  # noqa: BLE001 -- any parse failure refuses the bundle
        raise Refusal("bundle", f"not a valid Sigstore bundle ({type(exc).__name__}: "
                                f"{str(exc)[:200]})") from None


def check_statement(payload: bytes, sha256: str, filename: str | None,
                    payload_type: str = IN_TOTO) -> dict[str, Any]:
    """The in-toto statement must name this artifact: its sha256 and (if bound) its name."""
    if payload_type != IN_TOTO:
        raise Refusal("bundle", f"DSSE payload type {payload_type!r} is not {IN_TOTO}")
    try:
        statement = json.loads(payload)
        subjects = statement["subject"]
        kind = statement["_type"]
    except Exception:  # noqa: BLE001
        raise Refusal("bundle", "DSSE payload is not an in-toto statement") from None
    if kind not in STATEMENT_TYPES or not isinstance(subjects, list):
        raise Refusal("bundle", f"unsupported in-toto statement type {kind!r}")
    covering = [s for s in subjects if isinstance(s, dict)
                and (s.get("digest") or {}).get("sha256") == sha256]
    if not covering:
        raise Refusal("digest", f"the signed statement covers no file with sha256 {sha256}")
    if filename is not None and not any(s.get("name") == filename for s in covering):
        names = ", ".join(repr(s.get("name")) for s in covering)
        raise Refusal("name", f"the signed statement names {names}, not {filename!r}")
    return statement


def verify_keyless(artifact: bytes, bundle_raw: bytes, rules: list[TrustedPublisherRule], *,
                   filename: str | None = None,
                   trust_root: Path = PINNED_TRUST_ROOT) -> VerifiedIdentity:
    """Verify a keyless bundle (message signature or DSSE) for ``artifact``."""
    bundle = _load_bundle(bundle_raw)
    sha256 = hashlib.sha256(artifact).hexdigest()
    policy, _ = _policy(rules)
    verifier = verifier_for(trust_root)
    statement = None
    try:
        if bundle._dsse_envelope is None:
            declared = json.loads(bundle_raw)["messageSignature"]["messageDigest"]["digest"]
            signed = base64.b64decode(declared).hex()
            if signed != sha256:
                raise Refusal("digest", f"the bundle signs sha256 {signed}, the file is {sha256}")
            verifier.verify_artifact(artifact, bundle, policy)
        else:
            payload_type, payload = verifier.verify_dsse(bundle, policy)
            # verify_dsse never looks at the artifact: bind it through the statement
            statement = check_statement(payload, sha256, filename, payload_type)
    except Refusal:
        raise
    except Exception as exc:  # noqa: BLE001
        check, text = _classify(exc)
        raise Refusal(check, text) from None
    san, issuer, claims = certificate_identity(bundle.signing_certificate)
    return VerifiedIdentity(method="keyless", sha256=sha256, signer=san or "", issuer=issuer,
                            subject_name=filename if statement is not None else None,
                            claims=claims, transparency_log=True)


def verify_attestation(artifact: bytes, filename: str, attestation_raw: bytes,
                       rules: list[TrustedPublisherRule], *,
                       trust_root: Path = PINNED_TRUST_ROOT) -> VerifiedIdentity:
    """Verify a PEP 740 attestation (as PyPI serves it) with our pinned root and policy.

    pypi-attestations' own ``verify`` uses sigstore's production verifier (the cache);
    we convert the attestation to a bundle and apply the same subject rules ourselves.
    """
    from pypi_attestations import Attestation

    try:
        bundle_raw = Attestation.model_validate_json(attestation_raw).to_bundle().to_json()
    except Exception as exc:  # noqa: BLE001
        raise Refusal("bundle", f"not a valid PEP 740 attestation ({type(exc).__name__})") \
            from None
    identity = verify_keyless(artifact, bundle_raw.encode(), rules, filename=filename,
                              trust_root=trust_root)
    return VerifiedIdentity(**{**identity.as_dict(), "method": "pep740"})
