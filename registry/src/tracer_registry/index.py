"""The catalog index as TUF metadata: the registry signs it, hosts verify it.

Registry side (``IndexRepository``): four roles (root, targets, snapshot, timestamp), one EC
P-256 key each, kept under ``<home>/registry/index/keys`` (in a real deployment the root key
lives offline). Each target is a release's wheel or bundle, with its length and sha256 and,
in ``custom``, what the registry verified (identity, keys, status, certification level);
``catalog.json`` is a target listing every release, so a host chooses versions from signed
data only; ``kill-list.json`` is the signed kill list hosts copy (``kill_list``). Every
change re-signs targets, snapshot and timestamp with a higher version and a fresh expiry.

Host side (``IndexClient``): python-tuf's ``Updater`` with a fetcher that reads the
registry's directory. It keeps its own trusted copy of the metadata under
``<home>/registry/trusted`` and refuses an index that was rolled back (a version lower than
one it trusted), expired (frozen), tampered with (bad signature), mixed and matched
(targets not the version snapshot names), or a download longer or other than signed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from securesystemslib.signer import CryptoSigner, SSlibKey
from tuf.api.metadata import (
    Metadata,
    MetaFile,
    Root,
    Snapshot,
    TargetFile,
    Targets,
    Timestamp,
)
from tuf.api.serialization.json import JSONSerializer

from tracer_registry.kill_list import KILL_LIST
from tracer_registry.kill_list import document as kill_list_document
from tracer_registry.verify import Refusal

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

ROLES = ("root", "targets", "snapshot", "timestamp")
LIFETIME: dict[str, timedelta] = {"root": timedelta(days=365), "targets": timedelta(days=30),
            "snapshot": timedelta(days=7), "timestamp": timedelta(days=1)}
CATALOG = "catalog.json"
_SCHEME = "tracer-index://"


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


class IndexRepository:
    """The registry's signed index (one directory: metadata/, targets/, keys/)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.metadata = self.root / "metadata"
        self.targets = self.root / "targets"
        self.keys = self.root / "keys"

    # -- keys ----------------------------------------------------------------------------

    def _signer(self, role: str) -> CryptoSigner:
        path = self.keys / f"{role}.pem"
        key: PrivateKeyTypes
        if not path.exists():
            self.keys.mkdir(parents=True, exist_ok=True)
            key = ec.generate_private_key(ec.SECP256R1())
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(key.private_bytes(serialization.Encoding.PEM,
                                            serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption()))
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        return CryptoSigner(key, SSlibKey.from_crypto(key.public_key()))

    # -- writing -------------------------------------------------------------------------

    def _write(self, role: str, md: Metadata, *, versioned: bool = False) -> None:
        self.metadata.mkdir(parents=True, exist_ok=True)
        data = md.to_bytes(JSONSerializer(compact=False))
        names = [f"{md.signed.version}.{role}.json"] if versioned else []
        for name in [*names, f"{role}.json"]:
            tmp = self.metadata / f".{name}.tmp"
            tmp.write_bytes(data)
            os.replace(tmp, self.metadata / name)

    def _read(self, role: str) -> Metadata | None:
        path = self.metadata / f"{role}.json"
        return Metadata.from_file(str(path)) if path.exists() else None

    def initialize(self, pinned: Path | None = None) -> None:
        """Create root metadata v1 (once) and, for a single-machine deployment, write it
        to ``pinned`` (the host configuration the registry ships)."""
        if (self.metadata / "root.json").exists():
            return
        root = Root(expires=_now() + LIFETIME["root"], consistent_snapshot=False)
        for role in ROLES:
            root.add_key(self._signer(role).public_key, role)
        md = Metadata(root)
        md.sign(self._signer("root"))
        self._write("root", md, versioned=True)
        if pinned is not None and not pinned.exists():
            pinned.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(self.metadata / "1.root.json", pinned)

    def export_root(self, destination: Path) -> Path:
        """Write root v1 for hosts to pin (the registry's shipped configuration)."""
        source = self.metadata / "1.root.json"
        if not source.exists():
            raise Refusal("index", "the registry has not created its index yet")
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, destination)
        return destination

    def publish(self, entries: list[dict[str, Any]], files: dict[str, tuple[Path, str]], *,
                now: datetime | None = None,
                lifetime: dict[str, timedelta] | None = None) -> int:
        """Sign a new index holding ``entries`` (catalog rows) and ``files``.

        ``files`` maps a target path to (source file, sha256 the catalog records). Every
        source and every file already in the targets folder is hashed and must be that
        digest before anything is written: a swapped file is refused, never signed.
        Returns the new targets version. ``now`` moves the clock (tests sign expired
        metadata this way); ``lifetime`` overrides role lifetimes (the timestamp's is
        configured, see ``config``).
        """
        self.initialize()
        now = (now or _now()).replace(microsecond=0)
        lifetimes = {**LIFETIME, **(lifetime or {})}
        staged: list[tuple[str, Path, Path]] = []
        for path, (source, expected) in files.items():
            target = self._target_path(path)
            for where, what in ((source, "the stored blob"), (target, "the targets folder")):
                if where.exists() and (actual := _sha256(where)) != expected:
                    raise Refusal("digest", f"{path}: {what} holds sha256 {actual}, the "
                                            f"catalog records {expected}; the index is not "
                                            "re-signed over a file it cannot verify",
                                  actual=actual, recorded=expected)
            if not target.exists() and not source.exists():
                raise Refusal("digest", f"{path}: sha256 {expected} is missing from storage")
            staged.append((path, source, target))
        self.targets.mkdir(parents=True, exist_ok=True)
        signed_targets: dict[str, TargetFile] = {}
        for path, source, target in staged:
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.exists():
                shutil.copyfile(source, target)
            signed_targets[path] = TargetFile.from_file(path, str(target), ["sha256"])
            if signed_targets[path].hashes["sha256"] != files[path][1]:  # changed meanwhile
                raise Refusal("digest", f"{path}: the targets folder changed while signing")
        for entry in entries:
            path = entry["wheel_target"]
            if path in signed_targets:
                signed_targets[path].unrecognized_fields["custom"] = entry
        catalog = json.dumps({"releases": entries}, sort_keys=True, indent=1).encode()
        catalog_path = self.targets / CATALOG
        catalog_path.write_bytes(catalog)
        signed_targets[CATALOG] = TargetFile.from_file(CATALOG, str(catalog_path), ["sha256"])
        kill_path = self.targets / KILL_LIST  # signed like the catalog (``kill_list``)
        kill_path.write_bytes(kill_list_document(entries))
        signed_targets[KILL_LIST] = TargetFile.from_file(KILL_LIST, str(kill_path), ["sha256"])

        old = {role: self._read(role) for role in ("targets", "snapshot", "timestamp")}
        version = {role: (md.signed.version + 1 if md else 1) for role, md in old.items()}
        targets = Metadata(Targets(version=version["targets"], targets=signed_targets,
                                   expires=now + lifetimes["targets"]))
        targets.sign(self._signer("targets"))
        self._write("targets", targets)
        snapshot = Metadata(Snapshot(version=version["snapshot"],
                                     meta={"targets.json": MetaFile(version["targets"])},
                                     expires=now + lifetimes["snapshot"]))
        snapshot.sign(self._signer("snapshot"))
        self._write("snapshot", snapshot)
        timestamp = Metadata(Timestamp(version=version["timestamp"],
                                       snapshot_meta=MetaFile(version["snapshot"]),
                                       expires=now + lifetimes["timestamp"]))
        timestamp.sign(self._signer("timestamp"))
        self._write("timestamp", timestamp)
        return version["targets"]

    def _target_path(self, path: str) -> Path:
        target = (self.targets / path).resolve()
        if not target.is_relative_to(self.targets.resolve()) or path in (CATALOG, KILL_LIST):
            raise ValueError(f"bad target path {path!r}")
        return target


from tracer_registry.index_client import IndexClient  # noqa: E402 -- re-export

__all__ = ["CATALOG", "LIFETIME", "ROLES", "IndexClient", "IndexRepository"]
