"""The kill list as signed data: a target of the catalog index, copied to hosts verified.

Every index the registry signs carries ``kill-list.json`` (the quarantined and revoked
releases, with their reasons) as a TUF target: the targets key signs its length and
sha256, the snapshot and timestamp keys its freshness, so it lives exactly as long as the
configured timestamp lifetime (``TRACER_REGISTRY__TIMESTAMP_LIFETIME_SECONDS``).

A host takes its kill list only from there (``sync``): ``tracer catalog refresh`` and
every install refresh the index from the pinned root, download the target (refused unless
it matches the signed hashes) and replace ``<plugin dir>/kill-list.json`` with those exact
bytes, which the host's runners gate every call on (``tracer.revocation``). A mirror that
drops an entry, replays an older kill list, or signs its own is refused by name and the
host keeps the list it had; a host that cannot refresh is told so (``freshness``).

The registry's own machine writes the same bytes when a status changes
(``revocation.write_kill_list``), so the file is always the signed document.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path

KILL_LIST = "kill-list.json"  # tracer.revocation.KILL_LIST: the host reads what we write
KILLED = ("quarantined", "revoked")


def document(releases: Iterable[dict[str, Any]]) -> bytes:
    """The kill list of ``releases`` (index entries or their like: listing, version,
    status, status_reason), in one canonical form: the same bytes wherever it is made."""
    entries = sorted(({"distribution": r["listing"], "version": r["version"],
                       "action": r["status"], "reason": r.get("status_reason") or ""}
                      for r in releases if r["status"] in KILLED),
                     key=lambda e: (e["distribution"], e["version"]))
    return json.dumps({"entries": entries}, indent=1, sort_keys=True).encode()


def write(plugins: Path, data: bytes) -> bool:
    """Atomically replace the host's kill list with ``data``; False if it already was."""
    path = plugins / KILL_LIST
    try:
        if path.read_bytes() == data:
            return False
    except OSError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{KILL_LIST}.{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return True


@dataclass(frozen=True)
class Synced:
    path: Path
    entries: int
    changed: bool
    timestamp_version: int
    expires: str

    def __str__(self) -> str:
        return (f"kill list: {self.entries} entr{'y' if self.entries == 1 else 'ies'} from "
                f"the signed index (timestamp version {self.timestamp_version}, valid until "
                f"{self.expires}) {'written to' if self.changed else 'unchanged at'} "
                f"{self.path}")


def sync(settings: Any, index: Any = None, updater: Any = None) -> Synced:
    """Refresh the signed index (unless ``updater`` did) and copy its kill list here.

    Raises ``Refusal`` (``index``, ``freshness``) and leaves the host's list untouched when
    the index or the kill list does not verify or cannot be fetched.
    """
    from tuf.api.metadata import Metadata, Timestamp

    from tracer_registry.catalog import client
    from tracer_registry.verify import Refusal

    index = index or client(settings)
    updater = updater or index.refresh()
    if updater.get_targetinfo(KILL_LIST) is None:
        raise Refusal("index", f"the signed catalog index has no {KILL_LIST}: the registry "
                               "must re-sign it (tracer catalog sign-index)")
    data, _ = index.download(updater, KILL_LIST)
    try:
        entries = json.loads(data)["entries"]
        if not all(isinstance(e, dict) and e.get("distribution") for e in entries):
            raise ValueError("an entry without a distribution")
    except (ValueError, KeyError, TypeError) as exc:
        raise Refusal("index", f"the signed {KILL_LIST} is not a kill list ({exc})") from None
    changed = write(settings.plugins_path, data)
    timestamp = Metadata[Timestamp].from_file(str(index.metadata_dir / "timestamp.json"))
    return Synced(settings.plugins_path / KILL_LIST, len(entries), changed,
                  timestamp.signed.version, timestamp.signed.expires.isoformat())
