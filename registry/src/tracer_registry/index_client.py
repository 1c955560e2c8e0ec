"""The host side of the catalog index: python-tuf's ``Updater`` over the registry's files.

It keeps its own trusted copy of the metadata under ``<home>/registry/trusted`` and refuses
an index that was rolled back (a version lower than one it trusted), expired (frozen or
replayed), tampered with (bad signature), mixed and matched (targets not the version
snapshot names), or a download longer or other than signed. Its first root is the pinned
one from the registry's shipped configuration, never one read from the index itself.
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tuf.api import exceptions as tuf_errors
from tuf.api.metadata import Metadata, Root, Timestamp
from tuf.ngclient import Updater, UpdaterConfig
from tuf.ngclient.fetcher import FetcherInterface

from tracer_registry.index import _SCHEME, CATALOG, LIFETIME, _now
from tracer_registry.verify import Refusal

if TYPE_CHECKING:
    from collections.abc import Iterator


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
    """A host's view of the registry index; every answer passed TUF verification.

    The first root it trusts is ``pinned_root`` (shipped configuration), never a root read
    from the index being verified. ``lifetime`` is the configured timestamp lifetime: a
    host whose last verified refresh is older stops installing and says so.
    """

    def __init__(self, repository: Path, state: Path, *, pinned_root: Path | None = None,
                 lifetime: timedelta = LIFETIME["timestamp"]) -> None:
        self.repository = Path(repository)
        self.state = Path(state)
        self.metadata_dir = self.state / "metadata"
        self.download_dir = self.state / "downloads"
        self.pinned_root = pinned_root
        self.lifetime = lifetime
        self.freshness_file = self.state / "last-refresh.json"

    def _bootstrap(self) -> None:
        """Trust the pinned root (configuration shipped with the registry), once."""
        if (self.metadata_dir / "root.json").exists():
            return
        if self.pinned_root is None or not Path(self.pinned_root).is_file():
            raise Refusal("index", f"no pinned catalog root at {self.pinned_root}: install the "
                                   "root.json shipped with the registry (TRACER_REGISTRY__"
                                   "PINNED_ROOT); a host never trusts a root on first use")
        try:
            Metadata[Root].from_bytes(Path(self.pinned_root).read_bytes())
        except Exception as exc:  # noqa: BLE001 -- any unreadable file is refused alike
            raise Refusal("index", f"the pinned catalog root {self.pinned_root} is not root "
                                   f"metadata ({type(exc).__name__})") from None
        self.metadata_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.pinned_root, self.metadata_dir / "root.json")

    def _updater(self) -> Updater:
        self._bootstrap()
        self.download_dir.mkdir(parents=True, exist_ok=True)
        return Updater(metadata_dir=str(self.metadata_dir),
                       metadata_base_url=f"{_SCHEME}metadata/",
                       target_dir=str(self.download_dir),
                       target_base_url=f"{_SCHEME}targets/",
                       fetcher=_DirectoryFetcher(self.repository),
                       config=UpdaterConfig(prefix_targets_with_hash=False), bootstrap=None)

    def last_refresh(self) -> datetime | None:
        try:
            return datetime.fromisoformat(json.loads(self.freshness_file.read_text())["at"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _stale(self, why: str) -> Refusal:
        last = self.last_refresh()
        since = (f"the last verified refresh was at {last.isoformat()}" if last
                 else "this host has never refreshed it")
        return Refusal("freshness", f"cannot refresh the catalog index ({why}); {since}, "
                                    f"and the timestamp lifetime is "
                                    f"{int(self.lifetime.total_seconds())} s, so installs "
                                    "stop until a fresh signed index is reachable")

    def refresh(self) -> Updater:
        updater = self._updater()
        try:
            updater.refresh()
        except tuf_errors.ExpiredMetadataError as exc:
            raise self._stale(f"the index it was served expired (frozen or replayed?): {exc}") \
                from None
        except tuf_errors.BadVersionNumberError as exc:
            raise Refusal("index", f"the catalog index was rolled back or mixed: {exc}") \
                from None
        except tuf_errors.UnsignedMetadataError as exc:
            raise Refusal("index", f"the catalog index signature does not verify: {exc}") \
                from None
        except tuf_errors.DownloadError as exc:
            raise self._stale(f"{type(exc).__name__}: {exc}") from None
        except tuf_errors.RepositoryError as exc:
            raise Refusal("index", f"the catalog index is invalid: "
                                   f"{type(exc).__name__}: {exc}") from None
        timestamp = Metadata[Timestamp].from_file(str(self.metadata_dir / "timestamp.json"))
        if timestamp.signed.expires - _now() > self.lifetime + timedelta(minutes=5):
            # signed for longer than this host accepts: an old long-lived timestamp replayed
            raise Refusal("freshness", f"the index timestamp expires at "
                                       f"{timestamp.signed.expires.isoformat()}, beyond this "
                                       f"host's lifetime of {int(self.lifetime.total_seconds())}"
                                       " s from now")
        tmp = self.freshness_file.with_suffix(".tmp")
        tmp.write_text(json.dumps({"at": _now().isoformat(),
                                   "timestamp_version": timestamp.signed.version}))
        os.replace(tmp, self.freshness_file)
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
