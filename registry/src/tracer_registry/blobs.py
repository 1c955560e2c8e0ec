"""The content-addressed store: ``<settings.blobs>/sha256/<ab>/<digest>``.

A blob's name is the sha256 of its bytes, so a stored object cannot change under its
name, the same wheel stored twice takes the space once, and reading checks the digest
again (a disk that flipped a bit is caught, not served).
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

from tracer.errors import NotFoundError

from tracer_registry.errors import RegistryError

_DIGEST = re.compile(r"^[0-9a-f]{64}$")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root) / "sha256"

    def path(self, digest: str) -> Path:
        if not _DIGEST.match(digest):
            # the digest becomes a path: anything else could walk out of the store
            raise RegistryError(f"not a sha256 hex digest: {digest[:80]!r}")
        return self.root / digest[:2] / digest

    def put(self, data: bytes) -> str:
        digest = sha256_hex(data)
        target = self.path(digest)
        if target.exists():
            return digest
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)  # atomic: readers see the whole blob or none
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return digest

    def get(self, digest: str) -> bytes:
        target = self.path(digest)
        if not target.is_file():
            raise NotFoundError(f"blob sha256:{digest} is not in the store", blob=digest)
        data = target.read_bytes()
        if sha256_hex(data) != digest:
            raise RegistryError(f"blob sha256:{digest} is corrupt on disk (digest differs)",
                                blob=digest, check="digest")
        return data

    def __contains__(self, digest: str) -> bool:
        return self.path(digest).is_file()
