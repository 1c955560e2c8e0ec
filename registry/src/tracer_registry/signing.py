"""Making bundles: air-gapped (a local EC key) and keyless (Fulcio + Rekor, online only).

The air-gapped bundle is the Sigstore bundle v0.3 format with ``publicKey.hint`` (the key
id) and a DSSE envelope around an in-toto statement whose subject is the wheel's file
name and sha256, so the signature binds the name as well as the bytes. No transparency
log is consulted: in an air-gapped deployment the registered key is the trust anchor.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tracer_registry.verify import key_id, pae

BUNDLE_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"
PREDICATE_TYPE = "https://tracer.dev/attestations/publish/v1"


def generate_key(path: Path) -> str:
    """Write a new EC P-256 private key (PEM, mode 0600) and return its public PEM."""
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    return public_pem(key)


def public_pem(key: ec.EllipticCurvePrivateKey) -> str:
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def load_private_key(path: Path) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{path}: not an EC private key")
    return key


def sign_with_key(artifact: bytes, filename: str, key: ec.EllipticCurvePrivateKey) -> bytes:
    """A public-key Sigstore bundle (DSSE, in-toto v1) for ``artifact`` named ``filename``."""
    statement = {"_type": "https://in-toto.io/Statement/v1",
                 "subject": [{"name": filename,
                              "digest": {"sha256": hashlib.sha256(artifact).hexdigest()}}],
                 "predicateType": PREDICATE_TYPE, "predicate": {}}
    payload = json.dumps(statement, sort_keys=True).encode()
    payload_type = "application/vnd.in-toto+json"
    digests: dict[str, type[hashes.SHA256 | hashes.SHA384 | hashes.SHA512]] = {
        "secp256r1": hashes.SHA256, "secp384r1": hashes.SHA384, "secp521r1": hashes.SHA512}
    digest = digests[key.curve.name]
    signature = key.sign(pae(payload_type, payload), ec.ECDSA(digest()))
    bundle = {"mediaType": BUNDLE_MEDIA_TYPE,
              "verificationMaterial": {"publicKey": {"hint": key_id(key.public_key())},
                                       "tlogEntries": []},
              "dsseEnvelope": {"payload": base64.b64encode(payload).decode(),
                               "payloadType": payload_type,
                               "signatures": [{"sig": base64.b64encode(signature).decode(),
                                               "keyid": ""}]}}
    return json.dumps(bundle).encode()


def sign_keyless(artifact: bytes, identity_token: str) -> bytes:  # pragma: no cover - online
    """Sign with Sigstore's public-good instance (Fulcio, Rekor): needs network and an
    OIDC token (CI's ambient credential), so it is tested only when online."""
    from sigstore.models import ClientTrustConfig
    from sigstore.oidc import IdentityToken
    from sigstore.sign import SigningContext

    context = SigningContext.from_trust_config(ClientTrustConfig.production())
    with context.signer(IdentityToken(identity_token), cache=True) as signer:
        return signer.sign_artifact(artifact).to_json().encode()
