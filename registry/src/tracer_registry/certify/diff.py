"""What changed between two wheels: the reviewer's view of a recertification."""

from __future__ import annotations

import difflib
import hashlib
import io
import zipfile
from typing import Any

MAX_DIFF_LINES = 400


def _files(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {i.filename.split(".dist-info/", 1)[-1] if ".dist-info/" in i.filename
                else i.filename: z.read(i) for i in z.infolist() if not i.is_dir()}


def diff_wheels(old: bytes, new: bytes) -> dict[str, Any]:
    """Files added, removed and changed, with a unified diff of changed text files.

    dist-info files are compared by their name inside the folder, so a version bump does
    not show every metadata file as removed and added; RECORD is left out (it changes
    whenever anything does).
    """
    a, b = _files(old), _files(new)
    a.pop("RECORD", None)
    b.pop("RECORD", None)
    changed = sorted(n for n in a.keys() & b.keys() if a[n] != b[n])
    lines: list[str] = []
    binary = []
    for name in changed:
        try:
            before, after = a[name].decode(), b[name].decode()
        except UnicodeDecodeError:
            binary.append({"file": name, "old_sha256": hashlib.sha256(a[name]).hexdigest(),
                           "new_sha256": hashlib.sha256(b[name]).hexdigest()})
            continue
        lines += difflib.unified_diff(before.splitlines(), after.splitlines(),
                                      f"a/{name}", f"b/{name}", lineterm="")
    return {"added": sorted(b.keys() - a.keys()), "removed": sorted(a.keys() - b.keys()),
            "changed": changed, "binary_changed": binary,
            "diff": "\n".join(lines[:MAX_DIFF_LINES]),
            "diff_truncated": len(lines) > MAX_DIFF_LINES}
