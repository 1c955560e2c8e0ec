"""Build a fixture plugin project into a wheel, optionally broken on purpose.

A minimal PEP 427 writer (METADATA, WHEEL, entry_points.txt, RECORD) so tests can make
wheels a real build backend refuses to make: files added after RECORD, parent-directory
paths, symlinks, native binaries, changed metadata.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import stat
import tomllib
import zipfile
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"
MALICIOUS = Path(__file__).parent.parent / "fixtures" / "malicious"


def _digest(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(
        b"=").decode()


def build_wheel(project: Path, out: Path, *, version: str | None = None,
                metadata: dict[str, str | None] | None = None, readme: str | None = None,
                extra: dict[str, bytes] | None = None,
                after_record: dict[str, bytes] | None = None,
                symlinks: dict[str, str] | None = None, tag: str = "py3-none-any",
                purelib: bool = True, filename: str | None = None) -> Path:
    meta = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    name, version = meta["name"], version or meta["version"]
    dist = f"{name.replace('-', '_')}-{version}"
    files: dict[str, bytes] = {}
    for path in sorted((project / "src").rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            files[path.relative_to(project / "src").as_posix()] = path.read_bytes()
    files.update(extra or {})
    fields = {"Metadata-Version": "2.4", "Name": name, "Version": version,
              "Summary": meta.get("description", ""),
              "License-Expression": meta.get("license"),
              "Requires-Python": meta.get("requires-python")}
    fields.update(metadata or {})
    lines = [f"{k}: {v}" for k, v in fields.items() if v is not None]
    lines += [f"Requires-Dist: {d}" for d in meta.get("dependencies", [])]
    lines.append("Description-Content-Type: text/markdown")
    body = readme if readme is not None else (project / meta["readme"]).read_text()
    files[f"{dist}.dist-info/METADATA"] = ("\n".join(lines) + "\n\n" + body).encode()
    files[f"{dist}.dist-info/WHEEL"] = (
        f"Wheel-Version: 1.0\nGenerator: tracer-tests\nRoot-Is-Purelib: "
        f"{'true' if purelib else 'false'}\nTag: {tag}\n").encode()
    points = meta.get("entry-points", {}).get("tracer", {})
    files[f"{dist}.dist-info/entry_points.txt"] = (
        "[tracer]\n" + "".join(f"{k} = {v}\n" for k, v in points.items())).encode()
    record = io.StringIO()
    writer = csv.writer(record, lineterminator="\n")
    for member, data in files.items():
        writer.writerow([member, _digest(data), len(data)])
    writer.writerow([f"{dist}.dist-info/RECORD", "", ""])
    files[f"{dist}.dist-info/RECORD"] = record.getvalue().encode()
    files.update(after_record or {})
    out.mkdir(parents=True, exist_ok=True)
    target = out / (filename or f"{dist}-{tag}.whl")
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as z:
        for member, data in files.items():
            z.writestr(member, data)
        for member, pointee in (symlinks or {}).items():
            info = zipfile.ZipInfo(member)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            z.writestr(info, pointee)
    return target
