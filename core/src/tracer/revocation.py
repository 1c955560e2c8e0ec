"""Revocation on a running host: the kill list, re-read whenever it changes.

The registry writes ``kill-list.json`` in the plugin dir (revoke, quarantine) from its
signed state; a host only reads it. Every call into a third-party plugin first ``stat``s
the file (``gate``), so a revoke written by any process on the machine applies to the next
call; a watcher thread (``watch``, started by the API) re-reads it every
``plugins.kill_list_poll_seconds`` and kills the revoked plugin's runners — their threads die with
them — even when no request arrives. An unreadable list fails closed.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from typing import TYPE_CHECKING, Any

from packaging.utils import canonicalize_name

from tracer.errors import PluginRevokedError

if TYPE_CHECKING:
    from tracer.plugin_record import PluginRecord

log = logging.getLogger("tracer.host")
KILL_LIST = "kill-list.json"


class Revocation:
    """Mixed into ``PluginHost``: what the kill list says, applied."""

    settings: Any
    records: dict[str, Any]
    revoked: dict[str, str]
    _pool: Any
    _kill_stamp: tuple[int, int, int] | None
    _kill_lock: threading.Lock
    _watch_stop: threading.Event | None
    unregister: Any  # PluginHost.unregister

    def kill_list(self) -> dict[str, str]:
        """``{"name" or "name==version": reason}`` from the kill list file, if any.

        The registry writes it (revoke, quarantine); the host only reads it. An unreadable
        list fails closed: every non-built-in plugin is treated as killed.
        """
        path = self.settings.plugins_path / KILL_LIST
        try:
            entries = json.loads(path.read_text())["entries"]
            return {(canonicalize_name(e["distribution"])
                     + (f"=={e['version']}" if e.get("version") else "")):
                    f"{e.get('action', 'revoked')}: {e.get('reason', '')}" for e in entries}
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            log.error("kill list %s unreadable (%s): treating every plugin as killed", path, exc)
            return {"*": f"kill list unreadable: {exc}"}

    def _killed(self, record: PluginRecord, kills: dict[str, str] | None = None) -> str | None:
        kills = self.kill_list() if kills is None else kills
        if not kills or record.builtin or record.distribution is None:
            return None
        name = canonicalize_name(record.distribution)
        for key in (name, f"{name}=={record.version}", "*"):
            if key in kills:
                return kills[key]
        return None

    def apply_kill_list(self) -> list[str]:
        """Unload loaded plugins the kill list names (running hosts call this); returns them.

        Their runners are killed (threads die with them) and their domains answer
        ``PluginRevokedError`` (HTTP 410, with the reason) from then on.
        """
        with self._kill_lock:
            self._kill_stamp = self._stamp()
            kills = self.kill_list()
            unloaded = []
            for record in list(self.records.values()):
                reason = self._killed(record, kills)
                if reason is not None and record.status == "loaded":
                    for domain in record.domains:
                        self.revoked[domain] = reason
                    self.unregister(record.name)
                    record.status, record.error = "skipped", reason
                    self.records[record.name] = record
                    unloaded.append(record.name)
            if unloaded:
                log.warning("kill list: unloaded %s", ", ".join(unloaded))
            return unloaded

    def _stamp(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.settings.plugins_path / KILL_LIST)
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def refresh_kill_list(self) -> list[str]:
        """Re-read the kill list if the file changed since the last look (a ``stat``)."""
        if self._stamp() == self._kill_stamp:
            return []
        return self.apply_kill_list()

    def watch(self, interval: float | None = None) -> threading.Event:
        """Re-read the kill list every ``interval`` seconds in a daemon thread (serving
        hosts); also stops idle runners. Returns the event that stops it."""
        interval = interval or self.settings.plugins.kill_list_poll_seconds
        stop = self._watch_stop = threading.Event()

        def loop() -> None:
            while not stop.wait(interval):
                try:
                    self.refresh_kill_list()
                    if self._pool is not None:
                        self._pool.evict_idle()
                except Exception:
                    log.exception("kill-list watcher")

        threading.Thread(target=loop, daemon=True, name="tracer-kill-list").start()
        return stop

    def gate(self, record: PluginRecord) -> None:
        """Refuse a call into ``record``'s plugin once the kill list names it."""
        self.refresh_kill_list()
        if record.status != "loaded":
            raise PluginRevokedError(f"plugin {record.distribution or record.name} is not "
                                     f"serving: {record.error}", plugin=record.name)

