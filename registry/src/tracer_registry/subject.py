"""What a publisher's bundle signs: the sha256 digests it names, read without trusting it.

The signature itself was verified at publish; the bundle blob is content-addressed, so the
digests read here are the ones that were verified. The re-sign of the index and every
install compare the bytes they hold with these digests and with the catalog's record, so a
file swapped in storage (even one validly signed by the same key) is refused by name.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from tracer_registry.verify import Refusal


def _statement_digests(payload: bytes) -> set[str]:
    try:
        statement = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return set()
    subjects = statement.get("subject") if isinstance(statement, dict) else None
    return {str((s.get("digest") or {}).get("sha256")) for s in subjects or []
            if isinstance(s, dict) and isinstance(s.get("digest"), dict)
            and s["digest"].get("sha256")}


def _b64(value: Any) -> bytes:
    try:
        return base64.b64decode(value or "", validate=False)
    except (ValueError, TypeError):
        return b""


def signed_digests(bundle_raw: bytes) -> set[str]:
    """The sha256 hex digests a Sigstore bundle, public-key bundle or PEP 740 attestation
    signs (empty if it names none)."""
    try:
        document = json.loads(bundle_raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return set()
    if not isinstance(document, dict):
        return set()
    if "envelope" in document:  # PEP 740: {"envelope": {"statement": b64, ...}}
        return _statement_digests(_b64((document.get("envelope") or {}).get("statement")))
    if isinstance(document.get("dsseEnvelope"), dict):
        return _statement_digests(_b64(document["dsseEnvelope"].get("payload")))
    digest = ((document.get("messageSignature") or {}).get("messageDigest") or {})
    if digest.get("algorithm", "SHA2_256") == "SHA2_256" and digest.get("digest"):
        return {_b64(digest["digest"]).hex()}
    return set()


def check_bytes(what: str, data: bytes, *, recorded: str, bundle_raw: bytes | None) -> str:
    """Refuse ``data`` unless its sha256 is the catalog's record and what the bundle signs.

    Returns the digest. The message names both digests, so an operator sees the swap.
    """
    actual = hashlib.sha256(data).hexdigest()
    if actual != recorded:
        raise Refusal("digest", f"{what}: the bytes have sha256 {actual}, the catalog records "
                                f"{recorded} (swapped in storage?)", actual=actual,
                      recorded=recorded)
    if bundle_raw is not None:
        signed = signed_digests(bundle_raw)
        if actual not in signed:
            shown = ", ".join(sorted(signed)) or "no digest"
            raise Refusal("digest", f"{what}: the bytes have sha256 {actual}, the publisher's "
                                    f"bundle signs {shown}", actual=actual, signed=shown)
    return actual
