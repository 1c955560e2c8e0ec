"""Certification attestations: an in-toto statement in a DSSE envelope, signed offline.

The statement's subject is the wheel (its sha256); the predicate says what was certified:
level, plugin name and version, policy version, the publisher's bundle digest and
identity, every check's outcome, who reviewed it, when, and when it expires (two years
later). The envelope carries one ECDSA P-256 signature per approving reviewer plus the
registry's; ``verify_attestation`` demands the registry's and at least M distinct
reviewers' (the M-of-N threshold), the subject digest of the wheel being installed, a
matching name and version, and an unexpired window. Signatures are over DSSE's PAE, so a
signature can never be replayed on another payload type.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tracer_registry.certify.levels import CERTIFIED
from tracer_registry.errors import CertificationError

PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://tracer.dev/attestations/certification/v1"
VALID_YEARS = 2


# -- keys ---------------------------------------------------------------------------------

def generate_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def public_pem(key: ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey) -> str:
    public = key.public_key() if isinstance(key, ec.EllipticCurvePrivateKey) else key
    return public.public_bytes(serialization.Encoding.PEM,
                               serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def load_public(pem: str) -> ec.EllipticCurvePublicKey:
    try:
        key = serialization.load_pem_public_key(pem.encode())
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise CertificationError(f"public_pem: not a PEM public key ({exc})".split("\n")[0],
                                 field="public_pem") from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise CertificationError("attestation keys must be ECDSA P-256 public keys")
    return key


def keyid(key: ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey | str) -> str:
    """sha256 of the DER SubjectPublicKeyInfo, hex: the same for a key and its public half."""
    public = load_public(key) if isinstance(key, str) else (
        key.public_key() if isinstance(key, ec.EllipticCurvePrivateKey) else key)
    der = public.public_bytes(serialization.Encoding.DER,
                              serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def save_private(key: ec.EllipticCurvePrivateKey, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    path.chmod(0o600)
    return path


def load_private(path: Path) -> ec.EllipticCurvePrivateKey:
    try:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise CertificationError(f"{path}: cannot read an EC private key: {exc}") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise CertificationError(f"{path}: not an ECDSA P-256 private key")
    return key


# -- statement ----------------------------------------------------------------------------

def add_years(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February in a year without one
        return moment.replace(year=moment.year + years, day=28)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def build_statement(*, wheel: str, wheel_sha256: str, plugin: str, version: str,
                    policy_version: str, publisher: dict[str, Any], checks: list[dict],
                    report_sha256: str, reviewers: list[str], threshold: int,
                    reviewed_at: datetime, level: str = CERTIFIED) -> dict[str, Any]:
    return {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": wheel, "digest": {"sha256": wheel_sha256}}],
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "level": level,
            "plugin": {"name": plugin, "version": version},
            "policy_version": policy_version,
            "publisher": publisher,
            "checks": [{"id": c["id"], "status": c["status"], "severity": c["severity"]}
                       for c in checks],
            "report_sha256": report_sha256,
            "review": {"reviewers": reviewers, "threshold": threshold},
            "reviewed_at": iso(reviewed_at),
            "expires_at": iso(add_years(reviewed_at, VALID_YEARS)),
        },
    }


def canonical(statement: dict[str, Any]) -> bytes:
    return json.dumps(statement, sort_keys=True, separators=(",", ":")).encode()


# -- DSSE ---------------------------------------------------------------------------------

def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE pre-authentication encoding: what every signature actually covers."""
    kind = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def envelope(payload: bytes) -> dict[str, Any]:
    return {"payloadType": PAYLOAD_TYPE, "payload": base64.b64encode(payload).decode(),
            "signatures": []}


def payload_of(env: dict[str, Any]) -> bytes:
    try:
        return base64.b64decode(env["payload"], validate=True)
    except (KeyError, TypeError, ValueError) as exc:
        raise CertificationError(f"attestation envelope has no valid payload: {exc}") from None


def sign(env: dict[str, Any], key: ec.EllipticCurvePrivateKey) -> dict[str, Any]:
    """Add ``key``'s signature to the envelope (once per key)."""
    message = pae(env["payloadType"], payload_of(env))
    signature = key.sign(message, ec.ECDSA(hashes.SHA256()))
    kid = keyid(key)
    env["signatures"] = [s for s in env["signatures"] if s.get("keyid") != kid]
    env["signatures"].append({"keyid": kid, "sig": base64.b64encode(signature).decode()})
    return env


def signature_valid(env: dict[str, Any], signature: dict[str, Any],
                    key: ec.EllipticCurvePublicKey) -> bool:
    try:
        raw = base64.b64decode(signature["sig"], validate=True)
        key.verify(raw, pae(env["payloadType"], payload_of(env)), ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, KeyError, TypeError, ValueError):
        return False
    return True


# -- verification -------------------------------------------------------------------------

@dataclass
class TrustPolicy:
    """What a host trusts: registry keys, reviewer keys (keyid -> reviewer) and M."""

    registry_keys: dict[str, str]  # keyid -> public PEM
    reviewer_keys: dict[str, tuple[str, str]]  # keyid -> (reviewer, public PEM)
    threshold: int = 1

    def to_json(self) -> str:
        return json.dumps({"registry_keys": self.registry_keys,
                           "reviewer_keys": {k: list(v) for k, v in self.reviewer_keys.items()},
                           "threshold": self.threshold}, indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> TrustPolicy:
        data = json.loads(text)
        return cls(registry_keys=data["registry_keys"],
                   reviewer_keys={k: tuple(v) for k, v in data["reviewer_keys"].items()},
                   threshold=int(data["threshold"]))


@dataclass
class VerifiedAttestation:
    plugin: str
    version: str
    level: str
    wheel_sha256: str
    policy_version: str
    reviewers: list[str]
    reviewed_at: datetime
    expires_at: datetime
    statement: dict[str, Any] = field(repr=False)


def verify_attestation(env: dict[str, Any] | str | bytes, *, wheel_sha256: str,
                       trust: TrustPolicy, name: str | None = None,
                       version: str | None = None, now: datetime | None = None,
                       ) -> VerifiedAttestation:
    """Check a certification attestation for the wheel about to be installed.

    Raises ``CertificationError`` naming the first thing wrong: envelope, signatures
    (registry, reviewer threshold), statement, subject digest, plugin, level, window.
    """
    if isinstance(env, str | bytes):
        try:
            env = json.loads(env)
        except json.JSONDecodeError as exc:
            raise CertificationError(f"attestation is not JSON: {exc}") from None
    if not isinstance(env, dict) or env.get("payloadType") != PAYLOAD_TYPE:
        raise CertificationError(f"attestation is not a DSSE envelope of {PAYLOAD_TYPE}")
    now = now or datetime.now(UTC)
    registry_ok = False
    reviewers: set[str] = set()
    for signature in env.get("signatures") or []:
        kid = signature.get("keyid")
        if kid in trust.registry_keys:
            registry_ok |= signature_valid(env, signature, load_public(trust.registry_keys[kid]))
        elif kid in trust.reviewer_keys:
            reviewer, pem = trust.reviewer_keys[kid]
            if signature_valid(env, signature, load_public(pem)):
                reviewers.add(reviewer)
    if not registry_ok:
        raise CertificationError("attestation is not signed by a trusted registry key")
    if len(reviewers) < trust.threshold:
        raise CertificationError(f"attestation has {len(reviewers)} valid reviewer "
                                 f"signature(s); the policy needs {trust.threshold}")
    try:
        statement = json.loads(payload_of(env))
        predicate = statement["predicate"]
        subject_digests = {s["digest"]["sha256"] for s in statement["subject"]}
        reviewed_at = parse_time(predicate["reviewed_at"])
        expires_at = parse_time(predicate["expires_at"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CertificationError(f"attestation statement is malformed: {exc}") from None
    if statement.get("_type") != STATEMENT_TYPE or \
            statement.get("predicateType") != PREDICATE_TYPE:
        raise CertificationError("attestation is not a Tracer certification statement")
    if wheel_sha256 not in subject_digests:
        raise CertificationError(f"attestation covers {sorted(subject_digests)}, not the "
                                 f"wheel being installed (sha256 {wheel_sha256})")
    plugin = predicate.get("plugin", {})
    if name is not None and plugin.get("name") != name or \
            version is not None and plugin.get("version") != version:
        raise CertificationError(f"attestation is for {plugin.get('name')} "
                                 f"{plugin.get('version')}, not {name} {version}")
    if predicate.get("level") != CERTIFIED:
        raise CertificationError(f"attestation level is {predicate.get('level')!r}, "
                                 "not certified")
    if now >= expires_at:
        raise CertificationError(f"certification of {plugin.get('name')} "
                                 f"{plugin.get('version')} expired at {iso(expires_at)}; "
                                 "it needs recertification")
    if now < reviewed_at:
        raise CertificationError(f"attestation is dated in the future ({iso(reviewed_at)})")
    return VerifiedAttestation(plugin=plugin["name"], version=plugin["version"],
                               level=predicate["level"], wheel_sha256=wheel_sha256,
                               policy_version=predicate.get("policy_version", ""),
                               reviewers=sorted(reviewers), reviewed_at=reviewed_at,
                               expires_at=expires_at, statement=statement)
