"""The audit hook a runner installs before it imports any plugin code: a reporting layer.

The kernel is the boundary (``tracer.runner.sandbox``: namespaces, a read-only view,
seccomp, rlimits); this hook only makes what a plugin tried visible. ``sys.addaudithook``
hooks cannot be removed, and an exception raised in one aborts the audited operation, so
every socket, new process, ``ctypes`` library load and write outside the runner's scratch
folder is refused here too and recorded with the phase it happened in and the innermost
plugin frame ("opened a socket in tracer_features at plugin.py:12"). Certification reads
these records; plugin code could tamper with them, never with what the kernel denies.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path
    from types import FrameType

NETWORK_EVENTS = {"socket.__new__", "socket.connect", "socket.bind", "socket.getaddrinfo",
                  "socket.gethostbyname", "socket.gethostbyaddr", "socket.sendto",
                  "socket.sendmsg", "socket.getnameinfo"}
PROCESS_EVENTS = {"subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn",
                  "os.fork", "os.forkpty", "pty.spawn", "os.startfile", "os.kill", "os.killpg",
                  "ctypes.dlopen"}
#: events that change the path in their first argument (and the second, for moves/links)
PATH_EVENTS = {"os.remove", "os.rename", "os.mkdir", "os.rmdir", "os.chmod", "os.chown",
               "os.link", "os.truncate", "os.utime", "shutil.rmtree", "shutil.move",
               "shutil.make_archive", "os.chflags", "os.mkfifo", "os.mknod", "os.setxattr",
               "os.removexattr"}
#: events that only create or change their second argument (reading the first is fine)
DESTINATION_EVENTS = {"shutil.copyfile", "shutil.copymode", "shutil.copystat",
                      "shutil.unpack_archive", "os.symlink"}
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC


class Guard:
    def __init__(self, allowed_roots: list[Path], plugin_roots: list[Path]) -> None:
        self.allowed = [str(p.resolve()) for p in allowed_roots] + [os.devnull]
        self.plugin_roots = [str(p.resolve()) for p in plugin_roots]
        self.phase = "setup"
        self.violations: list[dict[str, Any]] = []
        self._inside = False

    def install(self) -> None:
        sys.addaudithook(self)

    def _inside_allowed(self, path: Any) -> bool:
        if isinstance(path, int):
            return True  # an already open descriptor; its opening was checked
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        if not isinstance(path, str | os.PathLike):
            return False
        resolved = os.path.realpath(os.fspath(path))
        return any(resolved == root or resolved.startswith(root + os.sep)
                   for root in self.allowed)

    def _plugin_frame(self) -> str | None:
        frame: FrameType | None = sys._getframe(2)
        while frame is not None:
            name = frame.f_code.co_filename
            if any(name.startswith(root) for root in self.plugin_roots):
                return f"{name.rsplit(os.sep, 1)[-1]}:{frame.f_lineno} in {frame.f_code.co_name}"
            frame = frame.f_back
        return None

    def _refuse(self, kind: str, event: str, args: tuple[Any, ...]) -> None:
        self.violations.append({
            "kind": kind, "event": event, "phase": self.phase,
            "detail": repr(args)[:200], "plugin_frame": self._plugin_frame()})
        raise PermissionError(f"plugin runner: {kind} is not allowed ({event})")

    def __call__(self, event: str, args: tuple[Any, ...]) -> None:
        if self._inside:
            return
        self._inside = True
        try:
            self._check(event, args)
        finally:
            self._inside = False

    def _check(self, event: str, args: tuple[Any, ...]) -> None:
        if event in NETWORK_EVENTS:
            self._refuse("network", event, args)
        elif event in PROCESS_EVENTS:
            self._refuse("process", event, args)
        elif event == "open":
            path, mode, flags = (tuple(args) + (None, None))[:3]
            writes = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags & WRITE_FLAGS)
            if writes and not self._inside_allowed(path):
                self._refuse("filesystem-write", event, args)
        elif event in PATH_EVENTS:
            targets = [a for a in args[:2] if isinstance(a, str | bytes | os.PathLike)]
            if any(not self._inside_allowed(t) for t in targets):
                self._refuse("filesystem-write", event, args)
        elif event in DESTINATION_EVENTS:
            if len(args) > 1 and not self._inside_allowed(args[1]):
                self._refuse("filesystem-write", event, args)
        elif event == "sqlite3.connect":
            database = args[0] if args else ""
            if database not in (":memory:", "") and not self._inside_allowed(database):
                self._refuse("filesystem-write", event, args)
