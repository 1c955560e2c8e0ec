"""Reading and extracting wheels without trusting them.

Nothing here imports or runs the wheel's code. Before anything is extracted every member
is checked: no ``.pth``, bytecode or unreadable source (``contents``), no absolute paths,
no ``..`` components, no backslashes or drive letters, no symlinks or other special files,
sizes under a limit (a zip bomb is refused from its declared sizes and again while
reading), and every file listed in RECORD with a matching sha256. Extraction then writes
only regular files whose resolved path stays under the target directory.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import stat
import zipfile
from dataclasses import dataclass, field
from email.parser import BytesParser
from pathlib import Path, PurePosixPath
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename

from tracer_registry.contents import forbidden_members
from tracer_registry.domains import declared_domains
from tracer_registry.verify import Refusal

MAX_MEMBERS = 5_000
MAX_UNPACKED_BYTES = 200_000_000


@dataclass
class WheelInfo:
    name: str  # canonical distribution name
    version: str
    filename: str
    summary: str = ""
    readme: str = ""
    license: str = ""
    requires_tracer: str = ""
    entry_points: dict[str, dict[str, str]] = field(default_factory=dict)
    files: int = 0
    domains: list[str] = field(default_factory=list)  # declared in source, read as data

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def parse_filename(filename: str) -> tuple[str, str]:
    if "/" in filename or "\\" in filename or not filename.endswith(".whl"):
        raise Refusal("metadata", f"{filename!r} is not a wheel file name")
    try:
        name, version, _, _ = parse_wheel_filename(filename)
    except InvalidWheelFilename as exc:
        raise Refusal("metadata", f"{filename!r}: {exc}") from None
    return str(name), str(version)


def _check_member(info: zipfile.ZipInfo) -> None:
    name = info.filename
    if info.flag_bits & 0x1:
        raise Refusal("contents", f"wheel member {name!r} is encrypted: it cannot be checked")
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise Refusal("paths", f"wheel member {name!r} is a symlink")
    # type bits 0 means "regular" (hatchling writes bare permissions)
    if stat.S_IFMT(mode) not in (0, stat.S_IFREG, stat.S_IFDIR):
        raise Refusal("paths", f"wheel member {name!r} is not a regular file")
    if "\\" in name or "\x00" in name or (len(name) > 1 and name[1] == ":"):
        raise Refusal("paths", f"wheel member {name!r} has a backslash, NUL or drive letter")
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts:
        raise Refusal("paths", f"wheel member {name!r} escapes the install directory")


def _open(data: bytes) -> zipfile.ZipFile:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise Refusal("metadata", "the wheel is not a zip archive") from None
    members = archive.infolist()
    if len(members) > MAX_MEMBERS:
        raise Refusal("size", f"the wheel has {len(members)} members, over {MAX_MEMBERS}")
    if sum(m.file_size for m in members) > MAX_UNPACKED_BYTES:
        raise Refusal("size", f"the wheel unpacks to more than {MAX_UNPACKED_BYTES} bytes")
    for member in members:
        _check_member(member)
    return archive


def _read(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> bytes:
    with archive.open(member) as handle:
        data = handle.read(member.file_size + 1)
    if len(data) != member.file_size:
        raise Refusal("size", f"wheel member {member.filename!r} is larger than declared")
    return data


def _check_record(archive: zipfile.ZipFile, dist_info: str) -> int:
    try:
        record = archive.read(f"{dist_info}/RECORD").decode()
    except KeyError:
        raise Refusal("metadata", f"{dist_info}/RECORD is missing") from None
    listed: dict[str, str] = {}
    for row in csv.reader(io.StringIO(record)):
        if row:
            listed[row[0]] = row[1] if len(row) > 1 else ""
    count = 0
    for member in archive.infolist():
        if member.is_dir():
            continue
        name = member.filename
        if name == f"{dist_info}/RECORD":
            continue
        expected = listed.get(name)
        if not expected or not expected.startswith("sha256="):
            raise Refusal("metadata", f"{name!r} is not in RECORD with a sha256")
        digest = base64.urlsafe_b64encode(hashlib.sha256(_read(archive, member)).digest())
        if digest.rstrip(b"=").decode() != expected.removeprefix("sha256="):
            raise Refusal("digest", f"{name!r} does not match its RECORD hash")
        count += 1
    return count


def _entry_points(text: str) -> dict[str, dict[str, str]]:
    groups: dict[str, dict[str, str]] = {}
    current = None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = groups.setdefault(line[1:-1].strip(), {})
        elif current is not None and "=" in line:
            key, value = line.split("=", 1)
            current[key.strip()] = value.strip()
    return groups


def inspect_wheel(data: bytes, filename: str) -> WheelInfo:
    """Check a wheel's members and RECORD, and read its metadata (never its code)."""
    name, version = parse_filename(filename)
    archive = _open(data)
    dist_infos = {PurePosixPath(m.filename).parts[0] for m in archive.infolist()
                  if PurePosixPath(m.filename).parts[0].endswith(".dist-info")}
    if len(dist_infos) != 1:
        raise Refusal("metadata", f"the wheel has {len(dist_infos)} .dist-info directories, "
                                  "expected 1")
    dist_info = dist_infos.pop()
    files = _check_record(archive, dist_info)
    regular = [m for m in archive.infolist() if not m.is_dir()]
    bad = forbidden_members([m.filename for m in regular],
                            lambda n: _read(archive, archive.getinfo(n)))
    if bad:
        raise Refusal("contents", f"wheel member {bad[0]['file']!r}: {bad[0]['why']}"
                      + (f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""),
                      files=bad)
    try:
        metadata = BytesParser().parsebytes(archive.read(f"{dist_info}/METADATA"))
    except KeyError:
        raise Refusal("metadata", f"{dist_info}/METADATA is missing") from None
    meta_name, meta_version = metadata.get("Name", ""), metadata.get("Version", "")
    if canonicalize_name(meta_name) != name or meta_version != version:
        raise Refusal("metadata", f"METADATA says {meta_name} {meta_version}, the file name "
                                  f"says {name} {version}")
    requires_tracer = ""
    for line in metadata.get_all("Requires-Dist") or []:
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            raise Refusal("metadata", f"bad Requires-Dist {line!r}") from None
        if canonicalize_name(requirement.name) == "tracer" and requirement.marker is None:
            requires_tracer = str(requirement.specifier)
    try:
        entry_text = archive.read(f"{dist_info}/entry_points.txt").decode()
    except KeyError:
        entry_text = ""
    body = metadata.get_payload()
    return WheelInfo(name=name, version=version, filename=filename,
                     summary=metadata.get("Summary", ""),
                     readme=body if isinstance(body, str) else "",
                     license=metadata.get("License-Expression") or metadata.get("License") or "",
                     requires_tracer=requires_tracer, entry_points=_entry_points(entry_text),
                     files=files, domains=declared_domains(
                         [m.filename for m in regular],
                         lambda n: _read(archive, archive.getinfo(n))))


def extract_wheel(data: bytes, target: Path) -> list[str]:
    """Unpack a checked wheel into ``target`` (a fresh staging directory)."""
    archive = _open(data)
    root = target.resolve()
    written = []
    for member in archive.infolist():
        if member.is_dir():
            continue
        destination = (root / member.filename).resolve()
        if not destination.is_relative_to(root):
            raise Refusal("paths", f"wheel member {member.filename!r} resolves outside "
                                   "the install directory")
        destination.parent.mkdir(parents=True, exist_ok=True)
        with open(destination, "xb") as out:  # never follow or overwrite what is there
            out.write(_read(archive, member))
        written.append(member.filename)
    return written
