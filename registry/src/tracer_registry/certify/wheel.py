"""Reading a wheel as data: members, METADATA, RECORD, entry points. Nothing is imported.

Extraction refuses any member that would land outside the target folder, so a wheel that
failed the path checks can still be read safely for its report.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import stat
import zipfile
from dataclasses import dataclass
from email.parser import Parser
from functools import cached_property
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from tracer_registry.errors import CertificationError

if TYPE_CHECKING:
    from email.message import Message

MAX_MEMBER_BYTES = 200 * 1024**2


@dataclass(frozen=True)
class Member:
    name: str
    size: int
    is_symlink: bool


def record_digest(data: bytes) -> str:
    """The RECORD form of a sha256: ``sha256=<urlsafe base64, no padding>``."""
    raw = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class Wheel:
    """An opened ``.whl`` file."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise CertificationError(f"{self.path}: no such wheel file", wheel=str(self.path))
        self.data = self.path.read_bytes()
        #: label-free records of registry evaluation sets, by domain, for the sandbox
        self.evaluation_records: dict[str, bytes] = {}
        try:
            self.zip = zipfile.ZipFile(io.BytesIO(self.data))
        except zipfile.BadZipFile:
            raise CertificationError(f"{self.path}: not a wheel (not a zip archive)",
                                     wheel=str(self.path)) from None

    @cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @cached_property
    def members(self) -> list[Member]:
        out = []
        for info in self.zip.infolist():
            if info.is_dir():
                continue
            mode = info.external_attr >> 16
            out.append(Member(info.filename, info.file_size, stat.S_ISLNK(mode)))
        return out

    def read(self, name: str) -> bytes:
        info = self.zip.getinfo(name)
        if info.file_size > MAX_MEMBER_BYTES:
            raise CertificationError(f"{self.path.name}: member {name} is {info.file_size} "
                                     f"bytes, over the {MAX_MEMBER_BYTES} limit")
        return self.zip.read(info)

    @cached_property
    def dist_info(self) -> str | None:
        """The ``<name>-<version>.dist-info`` folder holding METADATA, if exactly one."""
        folders = {m.name.split("/", 1)[0] for m in self.members
                   if m.name.count("/") == 1 and m.name.endswith(".dist-info/METADATA")}
        return folders.pop() if len(folders) == 1 else None

    def _dist_file(self, name: str) -> bytes | None:
        if self.dist_info is None:
            return None
        try:
            return self.read(f"{self.dist_info}/{name}")
        except KeyError:
            return None

    @cached_property
    def metadata(self) -> Message:
        raw = self._dist_file("METADATA")
        return Parser().parsestr(raw.decode("utf-8", "replace") if raw else "")

    @cached_property
    def wheel_info(self) -> Message:
        raw = self._dist_file("WHEEL")
        return Parser().parsestr(raw.decode("utf-8", "replace") if raw else "")

    @property
    def name(self) -> str:
        return self.metadata.get("Name", "") or ""

    @property
    def version(self) -> str:
        return self.metadata.get("Version", "") or ""

    @property
    def description(self) -> str:
        body = self.metadata.get_payload()
        return body if isinstance(body, str) else ""

    @cached_property
    def record(self) -> dict[str, tuple[str, str]] | None:
        """RECORD rows: path -> (hash, size); None when the wheel has no RECORD."""
        raw = self._dist_file("RECORD")
        if raw is None:
            return None
        rows = csv.reader(io.StringIO(raw.decode("utf-8", "replace")))
        return {row[0]: (row[1] if len(row) > 1 else "", row[2] if len(row) > 2 else "")
                for row in rows if row}

    @cached_property
    def entry_points(self) -> dict[str, str]:
        """The ``tracer`` group of entry_points.txt: name -> ``module[:attr]``."""
        raw = self._dist_file("entry_points.txt")
        if raw is None:
            return {}
        group, out = None, {}
        for line in raw.decode("utf-8", "replace").splitlines():
            line = line.strip()
            if not line or line.startswith(("#", ";")):
                continue
            if line.startswith("["):
                group = line.strip("[]").strip()
            elif group == "tracer" and "=" in line:
                key, value = line.split("=", 1)
                out[key.strip()] = value.strip()
        return out

    @property
    def python_files(self) -> list[str]:
        return [m.name for m in self.members if m.name.endswith((".py", ".pyw"))
                and not m.is_symlink]

    def extract_to(self, target: Path) -> Path:
        """Write every regular member under ``target``; refuse anything that escapes it."""
        root = target.resolve()
        for member in self.members:
            if member.is_symlink:
                raise CertificationError(f"{self.path.name}: refusing to extract symlink "
                                         f"{member.name}")
            dest = (root / PurePosixPath(member.name)).resolve()
            if not dest.is_relative_to(root) or dest == root:
                raise CertificationError(f"{self.path.name}: refusing to extract "
                                         f"{member.name!r} outside the target folder")
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(self.read(member.name))
        if self.evaluation_records:  # beside the wheel's files, never among them
            folder = root.parent / "registry-evaluation"
            folder.mkdir(exist_ok=True)
            for domain, data in self.evaluation_records.items():
                (folder / f"{domain.replace('/', '__')}.csv").write_bytes(data)
        return root
