"""Swapping a release's files in the plugin directory, undone unless the install commits.

``PluginDirSwap.place`` unpacks a checked wheel into a staging folder, refuses to overwrite
another plugin's file, moves the installed version aside and puts the new files in place.
Until the installing transaction commits, ``undo`` puts everything back: ``bind`` ties the
swap to the session, so a failure at any later step (the load check, recording the
installation, the caller's own work, the commit itself) leaves the previous version, or
nothing, installed and importable.
"""

from __future__ import annotations

import os
import shutil
import uuid
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name
from sqlalchemy import event

from tracer_registry.verify import Refusal
from tracer_registry.wheels import extract_wheel

if TYPE_CHECKING:
    from pathlib import Path

    from sqlalchemy.orm import Session


def installed_files(plugins: Path, listing: str) -> tuple[str | None, list[Path]]:
    """Version and files (from RECORD) of ``listing`` in the plugin dir, if installed."""
    for dist_info in plugins.glob("*.dist-info"):
        stem = dist_info.name.removesuffix(".dist-info")
        dist_name, _, dist_version = stem.rpartition("-")
        if canonicalize_name(dist_name) != listing:
            continue
        files = []
        record = dist_info / "RECORD"
        for line in record.read_text().splitlines() if record.exists() else []:
            rel = line.split(",", 1)[0]
            path = (plugins / rel).resolve()
            if rel and path.is_relative_to(plugins.resolve()):
                files.append(path)
        return dist_version, files
    return None, []


def _move_all(files: list[Path], source_root: Path, target_root: Path) -> list[Path]:
    moved = []
    for path in files:
        if not path.exists():
            continue
        target = target_root / path.relative_to(source_root)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, target)
        moved.append(target)
    return moved


def _prune_empty(root: Path) -> None:
    for directory in sorted((p for p in root.rglob("*") if p.is_dir()), reverse=True):
        if directory != root and not any(directory.iterdir()):
            directory.rmdir()


class PluginDirSwap:
    def __init__(self, plugins: Path, listing: str) -> None:
        self.plugins = plugins
        self.listing = listing
        plugins.mkdir(parents=True, exist_ok=True)
        self.previous, self.old_files = installed_files(plugins, listing)
        self.staging = plugins / f".staging-{uuid.uuid4().hex}"
        self.backup = plugins / f".backup-{uuid.uuid4().hex}"
        self.placed: list[Path] = []
        self.settled = False

    def place(self, wheel: bytes) -> list[str]:
        """Put the new files in place (the old ones kept aside); returns their paths."""
        try:
            written = extract_wheel(wheel, self.staging)
            old = set(self.old_files)
            for rel in written:
                if (self.plugins / rel).exists() and (self.plugins / rel).resolve() not in old:
                    raise Refusal("paths", f"{rel} would overwrite a file of another plugin")
            _move_all(self.old_files, self.plugins, self.backup)
            _prune_empty(self.plugins)  # an empty old .dist-info would shadow the new one
            self.placed = _move_all([self.staging / rel for rel in written], self.staging,
                                    self.plugins)
            return written
        except BaseException:
            self.undo()
            raise
        finally:
            shutil.rmtree(self.staging, ignore_errors=True)

    def undo(self) -> None:
        """Remove what was placed and put the previous version back."""
        if self.settled:
            return
        self.settled = True
        for path in self.placed:
            path.unlink(missing_ok=True)
        _prune_empty(self.plugins)
        if self.backup.exists():
            _move_all([p for p in self.backup.rglob("*") if p.is_file()], self.backup,
                      self.plugins)
        shutil.rmtree(self.backup, ignore_errors=True)
        shutil.rmtree(self.staging, ignore_errors=True)

    def finish(self) -> None:
        """The install committed: forget the previous version's files."""
        if self.settled:
            return
        self.settled = True
        shutil.rmtree(self.backup, ignore_errors=True)
        _prune_empty(self.plugins)

    def bind(self, s: Session) -> None:
        """Finish when ``s`` commits, undo when it rolls back."""
        event.listen(s, "after_commit", lambda _s: self.finish(), once=True)
        event.listen(s, "after_rollback", lambda _s: self.undo(), once=True)
