"""Start runner processes from one thread that lives as long as the host process.

A runner box is started with bubblewrap's ``--die-with-parent`` (the box must not outlive
its host). That is ``PR_SET_PDEATHSIG``, and Linux fires it when the *thread* that forked
the child exits, not when the process does. Requests run on a server's thread pool (AnyIO
retires a worker thread after 10 s idle), so a runner forked by a request thread was killed
with SIGKILL some seconds after a burst, mid-call or between calls, and the next request
waited for a fresh runner: under load the pool restarted runners every ~10 s.

Every ``Popen`` of a runner therefore goes through one daemon thread per process, which
never returns: the parent-death signal then means what it says, the host process is gone.
After a ``fork`` the child process makes its own thread (threads do not survive a fork).
"""

from __future__ import annotations

import os
import queue
import subprocess
import threading
from typing import Any

_Job = tuple[list[str], dict[str, Any], dict[str, Any], threading.Event]
_lock = threading.Lock()
_jobs: queue.SimpleQueue[_Job] | None = None
_owner_pid: int | None = None
#: processes started so far by this process's spawner (for diagnostics and tests)
started = 0


def popen(command: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
    """``subprocess.Popen(command, **kwargs)``, forked by the long-lived spawner thread."""
    done, slot = threading.Event(), dict[str, Any]()
    _queue().put((command, kwargs, slot, done))
    done.wait()
    if "error" in slot:
        raise slot["error"]
    process: subprocess.Popen[bytes] = slot["process"]
    return process


def _queue() -> queue.SimpleQueue[_Job]:
    global _jobs, _owner_pid
    with _lock:
        if _jobs is None or _owner_pid != os.getpid():
            _jobs, _owner_pid = queue.SimpleQueue(), os.getpid()
            threading.Thread(target=_serve, args=(_jobs,), daemon=True,
                             name="tracer-runner-spawner").start()
        return _jobs


def _serve(jobs: queue.SimpleQueue[_Job]) -> None:
    global started
    while True:  # never returns: this thread's exit would kill every runner it started
        command, kwargs, slot, done = jobs.get()
        try:
            slot["process"] = subprocess.Popen(command, **kwargs)
            started += 1
        except BaseException as exc:  # noqa: BLE001 -- handed to the caller, raised there
            slot["error"] = exc
        finally:
            done.set()
