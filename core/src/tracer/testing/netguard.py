"""Import a plugin with the network blocked: ``python -m tracer.testing.netguard MODULE [ATTR]``.

An audit hook (PEP 578) refuses every network socket, connection and name lookup made
while the plugin module is imported and its ``tracer_domains`` is called. A plugin that
swallows the refusal is still caught: every attempt is recorded and reported, and the
process exits with status 3. Local (AF_UNIX) sockets are allowed.
"""

from __future__ import annotations

import importlib
import socket
import sys
import sysconfig
import traceback
from typing import Any

BLOCKED = frozenset({
    "socket.__new__", "socket.connect", "socket.connect_ex", "socket.bind", "socket.sendto",
    "socket.sendmsg", "socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyname_ex",
    "socket.gethostbyaddr", "socket.getnameinfo", "urllib.Request", "http.client.connect",
    "ftplib.connect", "smtplib.connect", "poplib.connect", "imaplib.open", "telnetlib.Telnet.open",
})

attempts: list[str] = []
_STDLIB = sysconfig.get_paths()["stdlib"]


def _local(event: str, args: tuple[Any, ...]) -> bool:
    if event == "socket.__new__":
        return len(args) > 1 and args[1] == getattr(socket, "AF_UNIX", None)
    if event in ("socket.connect", "socket.bind", "socket.connect_ex"):
        return bool(args) and getattr(args[0], "family", None) == getattr(socket, "AF_UNIX", None)
    return False


def guard(event: str, args: tuple[Any, ...]) -> None:
    if event not in BLOCKED or _local(event, args):
        return
    stack = traceback.extract_stack()[:-1]
    # name the plugin's line, not the standard library's or the guard's
    frame = next((f for f in reversed(stack) if not f.filename.startswith(_STDLIB)
                  and "tracer/testing" not in f.filename and not f.filename.startswith("<")),
                 None)
    where = f" at {frame.filename}:{frame.lineno}" if frame else ""
    attempts.append(f"{event}{where}")
    raise ConnectionRefusedError(f"network access while importing a Tracer plugin: {event}")


def main(argv: list[str]) -> int:
    module_name, attribute = argv[0], (argv[1] if len(argv) > 1 else None)
    sys.addaudithook(guard)
    try:
        plugin = importlib.import_module(module_name)
        if attribute:
            plugin = getattr(plugin, attribute)
        domains = getattr(plugin, "tracer_domains", None)
        if callable(domains):
            domains()
    except Exception:
        if not attempts:
            raise
    if attempts:
        print("network attempts: " + "; ".join(attempts[:5]))
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
