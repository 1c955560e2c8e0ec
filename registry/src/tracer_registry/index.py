"""The catalog index as TUF metadata: the registry signs it, hosts verify it.

Registry side (``IndexRepository``): four roles (root, targets, snapshot, timestamp), one EC
P-256 key each, kept under ``<home>/registry/index/keys`` (in a real deployment the root key
lives offline). Each target is a release's wheel or bundle, with its length and sha256 and,
in ``custom``, what the registry verified (identity, keys, status, certification level);
``catalog.json`` is a target listing every release, so a host chooses versions from signed
data only. Every change re-signs targets, snapshot and timestamp with a higher version and
a fresh expiry.

Host side (``IndexClient``): python-tuf's ``Updater`` with a fetcher that reads the
registry's directory. It keeps its own trusted copy of the metadata under
``<home>/registry/trusted`` and refuses an index that was rolled back (a version lower than
one it trusted), expired (frozen), tampered with (bad signature), mixed and matched
(targets not the version snapshot names), or a download longer or other than signed.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from securesystemslib.signer import CryptoSigner, SSlibKey
from tuf.api import exceptions as tuf_errors
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
from tuf.ngclient import Updater, UpdaterConfig
from tuf.ngclient.fetcher import FetcherInterface

from tracer_registry.verify import Refusal

ROLES = ("root", "targets", "snapshot", "timestamp")
LIFETIME = {"root": timedelta(days=365), "targets": timedelta(days=30),
            "snapshot": timedelta(days=7), "timestamp": timedelta(days=1)}
CATALOG = "catalog.json"
_SCHEME = "tracer-index://"


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


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

    def initialize(self) -> None:
        """Create root metadata v1 (once)."""
        if (self.metadata / "root.json").exists():
            return
        root = Root(expires=_now() + LIFETIME["root"], consistent_snapshot=False)
        for role in ROLES:
            root.add_key(self._signer(role).public_key, role)
        md = Metadata(root)
        md.sign(self._signer("root"))
        self._write("root", md, versioned=True)

    def publish(self, entries: list[dict[str, Any]], files: dict[str, Path], *,
                now: datetime | None = None) -> int:
        """Sign a new index holding ``entries`` (catalog rows) and ``files`` (path → file).

        Returns the new targets version. ``now`` moves the clock (tests sign expired
        metadata this way).
        """
        self.initialize()
        now = (now or _now()).replace(microsecond=0)
        self.targets.mkdir(parents=True, exist_ok=True)
        signed_targets: dict[str, TargetFile] = {}
        for path, source in files.items():
            target = self._target_path(path)
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.exists():
                shutil.copyfile(source, target)
            info = TargetFile.from_file(path, str(target), ["sha256"])
            signed_targets[path] = info
        for entry in entries:
            path = entry["wheel_target"]
            if path in signed_targets:
                signed_targets[path].unrecognized_fields["custom"] = entry
        catalog = json.dumps({"releases": entries}, sort_keys=True, indent=1).encode()
        catalog_path = self.targets / CATALOG
        catalog_path.write_bytes(catalog)
        signed_targets[CATALOG] = TargetFile.from_file(CATALOG, str(catalog_path), ["sha256"])

        old = {role: self._read(role) for role in ("targets", "snapshot", "timestamp")}
        version = {role: (md.signed.version + 1 if md else 1) for role, md in old.items()}
        targets = Metadata(Targets(version=version["targets"], targets=signed_targets,
                                   expires=now + LIFETIME["targets"]))
        targets.sign(self._signer("targets"))
        self._write("targets", targets)
        snapshot = Metadata(Snapshot(version=version["snapshot"],
                                     meta={"targets.json": MetaFile(version["targets"])},
                                     expires=now + LIFETIME["snapshot"]))
        snapshot.sign(self._signer("snapshot"))
        self._write("snapshot", snapshot)
        timestamp = Metadata(Timestamp(version=version["timestamp"],
                                       snapshot_meta=MetaFile(version["snapshot"]),
                                       expires=now + LIFETIME["timestamp"]))
        timestamp.sign(self._signer("timestamp"))
        self._write("timestamp", timestamp)
        return version["targets"]

    def _target_path(self, path: str) -> Path:
        target = (self.targets / path).resolve()
        if not target.is_relative_to(self.targets.resolve()) or path == CATALOG:
            raise ValueError(f"bad target path {path!r}")
        return target


class _DirectoryFetcher(FetcherInterface):
    """Serves ``tracer-index://metadata/…`` and ``…/targets/…`` from the registry directory.

    In a multi-machine deployment this is an HTTPS fetcher; the verification is the same.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()

    def _fetch(self, url: str) -> Iterator[bytes]:
        if not url.startswith(_SCHEME):
            raise tuf_errors.DownloadHTTPError(f"unsupported URL {url}", 400)
        path = (self.root / url.removeprefix(_SCHEME)).resolve()
        if not path.is_relative_to(self.root) or not path.is_file():
            raise tuf_errors.DownloadHTTPError(f"{url} not found", 404)

        def chunks() -> Iterator[bytes]:
            with open(path, "rb") as handle:
                while chunk := handle.read(65536):
                    yield chunk

        return chunks()


class IndexClient:
    """A host's view of the registry index; every answer passed TUF verification."""

    def __init__(self, repository: Path, state: Path) -> None:
        self.repository = Path(repository)
        self.state = Path(state)
        self.metadata_dir = self.state / "metadata"
        self.download_dir = self.state / "downloads"

    def _bootstrap(self) -> None:
        """Trust on first use of this machine's registry: copy root v1 once.

        A host on another machine gets the registry's root.json out of band instead.
        """
        if (self.metadata_dir / "root.json").exists():
            return
        self.metadata_dir.mkdir(parents=True, exist_ok=True)
        first = self.repository / "metadata" / "1.root.json"
        if not first.exists():
            raise Refusal("index", "the registry has not published an index yet")
        shutil.copyfile(first, self.metadata_dir / "root.json")

    def _updater(self) -> Updater:
        self._bootstrap()
        self.download_dir.mkdir(parents=True, exist_ok=True)
        return Updater(metadata_dir=str(self.metadata_dir),
                       metadata_base_url=f"{_SCHEME}metadata/",
                       target_dir=str(self.download_dir),
                       target_base_url=f"{_SCHEME}targets/",
                       fetcher=_DirectoryFetcher(self.repository),
                       config=UpdaterConfig(prefix_targets_with_hash=False), bootstrap=None)

    def refresh(self) -> Updater:
        updater = self._updater()
        try:
            updater.refresh()
        except tuf_errors.ExpiredMetadataError as exc:
            raise Refusal("index", f"the catalog index expired (frozen?): {exc}") from None
        except tuf_errors.BadVersionNumberError as exc:
            raise Refusal("index", f"the catalog index was rolled back or mixed: {exc}") \
                from None
        except tuf_errors.UnsignedMetadataError as exc:
            raise Refusal("index", f"the catalog index signature does not verify: {exc}") \
                from None
        except (tuf_errors.RepositoryError, tuf_errors.DownloadError) as exc:
            raise Refusal("index", f"the catalog index is invalid: "
                                   f"{type(exc).__name__}: {exc}") from None
        return updater

    def download(self, updater: Updater, path: str) -> tuple[bytes, dict[str, Any]]:
        """A target's bytes (length and sha256 as signed) and its signed custom fields."""
        info = updater.get_targetinfo(path)
        if info is None:
            raise Refusal("index", f"{path} is not in the signed index")
        destination = self.download_dir / f".{os.getpid()}-{info.hashes['sha256']}"
        try:
            updater.download_target(info, str(destination))
        except tuf_errors.DownloadLengthMismatchError as exc:
            raise Refusal("size", f"{path}: download longer than the signed length "
                                  f"{info.length} ({exc})") from None
        except (tuf_errors.LengthOrHashMismatchError, tuf_errors.DownloadError) as exc:
            raise Refusal("index", f"{path}: the download does not match the signed index "
                                   f"({type(exc).__name__}: {exc})") from None
        try:
            return destination.read_bytes(), dict(info.unrecognized_fields.get("custom", {}))
        finally:
            destination.unlink(missing_ok=True)

    def catalog(self, updater: Updater) -> list[dict[str, Any]]:
        data, _ = self.download(updater, CATALOG)
        return json.loads(data)["releases"]
