"""Public-key Sigstore bundles (air-gapped publishing), verified with ``cryptography``.

sigstore-python cannot load a bundle whose verification material is a public key
(``expected certificate in bundle``), so this module verifies them itself:

- the bundle is the Sigstore bundle format (v0.3 ``publicKey.hint``), holding either a
  ``messageSignature`` (ECDSA over the artifact's sha256) or a ``dsseEnvelope`` whose
  signature covers the DSSE pre-authentication encoding (PAE), never the bare payload:
  signing the bare payload would let a signature over one payload type pass as another;
- only EC keys (P-256/384/521) a publisher registered are tried; the hint picks one but is
  not trusted on its own (it is unsigned);
- the artifact's sha256 is compared to what was signed *before* any signature check, with
  the digest we computed, never the one the bundle declares;
- a transparency-log entry, when present, must carry a valid signed entry timestamp from a
  Rekor key in the pinned trust root and describe this very signature, key and digest.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from tracer_registry.verify.keyless import PINNED_TRUST_ROOT, check_statement
from tracer_registry.verify.refusal import Refusal, VerifiedIdentity

if TYPE_CHECKING:
    from pathlib import Path

_CURVE_HASH: dict[str, type[hashes.SHA256 | hashes.SHA384 | hashes.SHA512]] = {
    "secp256r1": hashes.SHA256, "secp384r1": hashes.SHA384,
    "secp521r1": hashes.SHA512}
MAX_BUNDLE_BYTES = 1_000_000


def load_public_key(pem: str | bytes) -> ec.EllipticCurvePublicKey:
    """An EC public key from PEM; anything else (RSA, Ed25519, junk) is refused."""
    try:
        key = serialization.load_pem_public_key(pem.encode() if isinstance(pem, str) else pem)
    except Exception:  # noqa: BLE001
        raise Refusal("key", "not a PEM public key") from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name not in _CURVE_HASH:
        raise Refusal("key", "only EC P-256, P-384 and P-521 public keys are accepted")
    return key


def key_id(key: ec.EllipticCurvePublicKey) -> str:
    """sha256 of the DER SubjectPublicKeyInfo (the conformance suite's hint, in hex)."""
    der = key.public_bytes(serialization.Encoding.DER,
                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding."""
    kind = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def _b64(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        raise Refusal("bundle", f"{what} is missing")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise Refusal("bundle", f"{what} is not base64") from None


def _hint_matches(hint: str | None, kid: str) -> bool:
    if not hint:
        return False
    try:
        as_b64 = base64.b64decode(hint, validate=True).hex()
    except (binascii.Error, ValueError):
        as_b64 = None
    return hint.lower() == kid or as_b64 == kid


def _ordered_keys(hint: str | None, keys: dict[str, str]) -> list[tuple[str, Any]]:
    loaded = [(kid, load_public_key(pem)) for kid, pem in keys.items()]
    return sorted(loaded, key=lambda item: not _hint_matches(hint, item[0]))


def _verifies(key: ec.EllipticCurvePublicKey, signature: bytes, data: bytes,
              prehashed: bool = False) -> bool:
    algorithm: hashes.HashAlgorithm | Prehashed = _CURVE_HASH[key.curve.name]()
    if prehashed:
        algorithm = Prehashed(hashes.SHA256())
    try:
        key.verify(signature, data, ec.ECDSA(algorithm))
        return True
    except InvalidSignature:
        return False


def parse_bundle(raw: bytes) -> dict[str, Any]:
    if len(raw) > MAX_BUNDLE_BYTES:
        raise Refusal("size", f"bundle is {len(raw)} bytes, over {MAX_BUNDLE_BYTES}")
    try:
        bundle = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise Refusal("bundle", "bundle is not JSON") from None
    if not isinstance(bundle, dict) or not str(bundle.get("mediaType", "")).startswith(
            "application/vnd.dev.sigstore.bundle"):
        raise Refusal("bundle", "not a Sigstore bundle (mediaType)")
    material = bundle.get("verificationMaterial")
    if not isinstance(material, dict) or not isinstance(material.get("publicKey"), dict):
        raise Refusal("bundle", "bundle has no publicKey verification material")
    if ("messageSignature" in bundle) == ("dsseEnvelope" in bundle):
        raise Refusal("bundle", "bundle needs exactly one of messageSignature, dsseEnvelope")
    return bundle


def verify_key_bundle(artifact: bytes, bundle_raw: bytes, keys: dict[str, str], *,
                      filename: str | None = None,
                      trust_root: Path = PINNED_TRUST_ROOT) -> VerifiedIdentity:
    """Verify a public-key bundle for ``artifact`` against registered ``keys`` (id → PEM)."""
    bundle = parse_bundle(bundle_raw)
    if not keys:
        raise Refusal("key", "the publisher has no registered signing key")
    sha256 = hashlib.sha256(artifact).digest()
    hint = bundle["verificationMaterial"]["publicKey"].get("hint")
    candidates = _ordered_keys(hint if isinstance(hint, str) else None, keys)
    signer: tuple[str, Any] | None = None
    subject_name = None
    if "messageSignature" in bundle:
        message = bundle["messageSignature"]
        declared = message.get("messageDigest") or {}
        if declared.get("algorithm") != "SHA2_256":
            raise Refusal("bundle", f"unsupported digest algorithm {declared.get('algorithm')!r}")
        if _b64(declared.get("digest"), "messageDigest.digest") != sha256:
            raise Refusal("digest", f"the bundle signs another file (sha256 "
                                    f"{_b64(declared.get('digest'), 'digest').hex()}, "
                                    f"this file is {sha256.hex()})")
        signature = _b64(message.get("signature"), "messageSignature.signature")
        signer = next(((kid, k) for kid, k in candidates
                       if _verifies(k, signature, sha256, prehashed=True)), None)
    else:
        envelope = bundle["dsseEnvelope"]
        payload = _b64(envelope.get("payload"), "dsseEnvelope.payload")
        payload_type = envelope.get("payloadType")
        signatures = envelope.get("signatures")
        if not isinstance(payload_type, str) or not isinstance(signatures, list) \
                or not signatures:
            raise Refusal("bundle", "DSSE envelope needs payloadType and signatures")
        message = pae(payload_type, payload)
        for entry in signatures:
            signature = _b64((entry or {}).get("sig"), "dsseEnvelope.signatures[].sig")
            signer = next(((kid, k) for kid, k in candidates if _verifies(k, signature, message)),
                          None)
            if signer:
                break
        if signer:
            check_statement(payload, sha256.hex(), filename, payload_type)
            subject_name = filename
    if signer is None:
        raise Refusal("key", "no signature verifies with a key this publisher registered "
                             f"({len(keys)} key(s) tried)")
    logged = _check_tlog(bundle, signer[1], sha256, trust_root)
    return VerifiedIdentity(method="key", sha256=sha256.hex(), signer=f"key:{signer[0]}",
                            key_id=signer[0], subject_name=subject_name, transparency_log=logged)


def _check_tlog(bundle: dict[str, Any], key: ec.EllipticCurvePublicKey, sha256: bytes,
                trust_root: Path) -> bool:
    """Verify Rekor v1 signed entry timestamps, if the bundle carries log entries."""
    import rfc8785

    entries = bundle["verificationMaterial"].get("tlogEntries") or []
    if not entries:
        return False  # air-gapped: no log to consult; the registered key is the trust
    root = json.loads(trust_root.read_text())
    log_keys = {}
    for tlog in root.get("tlogs", []):
        raw = base64.b64decode(tlog["publicKey"]["rawBytes"])
        log_keys[base64.b64decode(tlog["logId"]["keyId"]).hex()] = raw
    for entry in entries:
        try:
            log_id = base64.b64decode(entry["logId"]["keyId"]).hex()
            body_b64 = entry["canonicalizedBody"]
            promise = base64.b64decode(entry["inclusionPromise"]["signedEntryTimestamp"])
            signed = rfc8785.dumps({"body": body_b64,
                                    "integratedTime": int(entry["integratedTime"]),
                                    "logID": log_id, "logIndex": int(entry["logIndex"])})
            body = json.loads(base64.b64decode(body_b64))
        except Exception:  # noqa: BLE001
            raise Refusal("bundle", "malformed transparency log entry") from None
        if log_id not in log_keys:
            raise Refusal("trust root", f"log {log_id[:16]}… is not in the pinned trust root")
        log_key = serialization.load_der_public_key(log_keys[log_id])
        try:
            if not isinstance(log_key, ec.EllipticCurvePublicKey):  # Rekor's keys are EC
                raise TypeError(f"a {type(log_key).__name__}, not an EC key")
            log_key.verify(promise, signed, ec.ECDSA(hashes.SHA256()))
        except (InvalidSignature, TypeError):
            raise Refusal("trust root", "the log's signed entry timestamp does not verify "
                                        "with the pinned Rekor key") from None
        if body.get("kind") != "hashedrekord":
            continue  # other entry kinds: the signed timestamp above is what we check
        spec = body.get("spec", {})
        logged_key = base64.b64decode(spec.get("signature", {}).get("publicKey", {})
                                      .get("content", ""))
        logged_digest = spec.get("data", {}).get("hash", {}).get("value")
        if logged_digest != sha256.hex() or load_public_key(logged_key).public_numbers() \
                != key.public_numbers():
            raise Refusal("trust root", "the log entry records another digest or key")
    return True
