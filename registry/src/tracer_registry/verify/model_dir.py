"""Directories signed with ``model_signing sign key`` (the model-signing v1.0 predicate).

The DSSE statement lists every file with its sha256; the subject digest is the sha256 of
those digests concatenated in name order. A directory verifies only if the signature is
a registered key's, the subject digest matches the manifest, and the files on disk are
exactly the manifest (none modified, added, deleted or renamed). Symlinks are refused.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

from tracer_registry.verify.keyed import _ordered_keys, _verifies, pae, parse_bundle
from tracer_registry.verify.refusal import Refusal, VerifiedIdentity

PREDICATE = "https://model_signing/signature/v1.0"
_IGNORED = {".git", ".gitignore", ".gitattributes", ".github"}


def _files(root: Path) -> dict[str, str]:
    found = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if rel.parts[0] in _IGNORED:
            continue
        if path.is_symlink():
            raise Refusal("paths", f"{rel} is a symlink")
        if path.is_file():
            found[rel.as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def verify_model_directory(directory: Path, bundle_raw: bytes,
                           keys: dict[str, str]) -> VerifiedIdentity:
    bundle = parse_bundle(bundle_raw)
    envelope = bundle.get("dsseEnvelope")
    if not isinstance(envelope, dict):
        raise Refusal("bundle", "a model-signing bundle holds a DSSE envelope")
    payload = base64.b64decode(envelope.get("payload", ""))
    message = pae(str(envelope.get("payloadType")), payload)
    hint = bundle["verificationMaterial"]["publicKey"].get("hint")
    signer = next(((kid, key) for kid, key in _ordered_keys(hint, keys)
                   for entry in envelope.get("signatures") or []
                   if _verifies(key, base64.b64decode(entry.get("sig", "")), message)), None)
    if signer is None:
        raise Refusal("key", "no signature verifies with a registered key")
    statement = json.loads(payload)
    if statement.get("predicateType") != PREDICATE:
        raise Refusal("bundle", f"predicate {statement.get('predicateType')!r} is not "
                                f"{PREDICATE}")
    manifest = {r["name"]: r["digest"] for r in statement["predicate"]["resources"]}
    combined = hashlib.sha256(b"".join(bytes.fromhex(manifest[name])
                                       for name in sorted(manifest))).hexdigest()
    if statement["subject"][0]["digest"]["sha256"] != combined:
        raise Refusal("digest", "the subject digest does not match the signed manifest")
    on_disk = _files(Path(directory))
    if on_disk != manifest:
        changed = sorted(set(on_disk.items()) ^ set(manifest.items()))
        names = sorted({name for name, _ in changed})
        raise Refusal("digest", f"files differ from the signed manifest: {', '.join(names)}")
    return VerifiedIdentity(method="key", sha256=combined, signer=f"key:{signer[0]}",
                            key_id=signer[0], subject_name=statement["subject"][0]["name"])
