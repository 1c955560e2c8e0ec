"""Runner processes on the host side: start, call with a deadline, kill, pool.

A runner serves one (distribution, tenant) pair, one call at a time, so no plugin memory
can carry one tenant's records into another tenant's answers. The pool keeps at most
``settings.runner.max`` of them alive (the least recently used is stopped to start
another) and stops any idle for ``runner.idle_seconds``. A runner that crashes, breaks
the protocol or misses a deadline is killed — its threads die with it — and the call
fails with a ``PluginError`` saying so; the next call starts a fresh one. A runner near
its life's CPU limit (``runner.cpu_seconds``, as it reports with each answer) is replaced
before the kernel would kill it mid-call: the call on it finishes, the next goes to a new one.

Runner processes are forked by one long-lived thread (``spawner``: the box's parent-death
signal follows the forking thread), and a runner's pipes are closed only when no call is
using them (``Runner.session``): a pipe closed under a waiting call would let the next
runner's pipe take the same descriptor number, and that call would read its answers.
"""

from __future__ import annotations

import collections
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tracer.errors import PluginError
from tracer.runner import protocol, sandbox, spawner

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path
    from typing import IO

    from tracer.settings import Settings

PLATFORM_TENANT = "_platform"  # calls that carry no tenant's records (reference data)


@dataclass(frozen=True)
class RunnerSpec:
    """What one runner loads: a distribution's entry points and its own files."""

    distribution: str
    version: str | None
    entry_points: tuple[tuple[str, str], ...]  # (name, "module:attr")
    files: tuple[tuple[Path, str], ...] = ()  # (host path, name under /plugin)
    roots: tuple[str, ...] = ()  # where its code lives in the box (for audit reports)


@dataclass
class Runner:
    spec: RunnerSpec
    tenant: str
    process: subprocess.Popen[bytes]
    requests: int
    replies: int
    started: float = field(default_factory=time.monotonic)
    last_used: float = field(default_factory=time.monotonic)
    calls: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    stderr_tail: collections.deque[str] = field(
        default_factory=lambda: collections.deque(maxlen=40))
    ready: dict[str, Any] = field(default_factory=dict)
    # guards the three flags below; never held across a call
    _state: threading.Lock = field(default_factory=threading.Lock, repr=False)
    stopped: bool = False  # killed: takes no more calls
    busy: bool = False  # a call is on the pipes (inside ``session``)
    closed: bool = False  # the pipes are closed
    retiring: bool = False  # out of the pool: stopped as soon as no call holds it
    cpu_seconds: float = 0.0  # CPU the runner reported using so far (its RLIMIT_CPU budget)

    @property
    def alive(self) -> bool:
        return not self.stopped and self.process.poll() is None

    @contextlib.contextmanager
    def session(self) -> Iterator[bool]:
        """Hold the pipes for one call; yields False when the runner is dead or stopped.

        Its pipes stay open until the session ends, even if another thread kills the
        runner meanwhile (the call then fails on the dead process, not on a reused fd)."""
        with self.lock:
            with self._state:
                self.busy = usable = self.alive
            try:
                yield usable
            finally:
                with self._state:
                    self.busy = False
                    close, retire = self.stopped, self.retiring
                if close:
                    self._close()
                elif retire:
                    self.kill()

    def worn(self, settings: Settings) -> bool:
        """Near its life's CPU limit: replaced before the kernel kills it mid-call (a
        runner serving one busy tenant for hours reaches ``runner.cpu_seconds``)."""
        return self.cpu_seconds >= 0.9 * settings.runner.cpu_seconds

    def retire(self) -> None:
        """Stop now if no call holds the runner, else as that call ends."""
        with self._state:
            self.retiring = True
            later = self.busy
        if not later:
            self.kill()

    def kill(self) -> None:
        """Stop the process now; close its pipes now or when the call using them ends."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)
        with self._state:
            self.stopped = True
            close = not self.busy
        if close:
            self._close()

    def _close(self) -> None:
        with self._state:
            if self.closed:
                return
            self.closed = True
        for fd in (self.requests, self.replies):
            with contextlib.suppress(OSError):
                os.close(fd)

    def state(self) -> dict[str, Any]:
        return {"tenant": self.tenant, "pid": self.process.pid, "alive": self.alive,
                "calls": self.calls, "age_seconds": round(time.monotonic() - self.started, 1),
                "idle_seconds": round(time.monotonic() - self.last_used, 1)}


def _drain(stream: IO[bytes], tail: collections.deque[str]) -> None:
    for line in iter(stream.readline, b""):
        tail.append(line.decode(errors="replace").rstrip())
    stream.close()


def _receive(runner: Runner, deadline: float) -> tuple[dict[str, Any], list[Any]]:
    if not protocol.wait_readable(runner.replies, max(deadline - time.monotonic(), 0)):
        raise TimeoutError
    # the first bytes arrived: the rest of a message follows at pipe speed, bounded again
    return protocol.receive(runner.replies)


def start(settings: Settings, spec: RunnerSpec, tenant: str) -> Runner:
    argv = [sys.executable, "-I", "-B", "-m", "tracer.runner.child"]
    command = sandbox.command(settings, list(spec.files), argv)
    to_child_r, to_child_w = os.pipe()
    from_child_r, from_child_w = os.pipe()
    try:
        # bwrap itself stays PID 1 of the box, and /proc/1/environ is readable from
        # inside: it gets no environment of the host's at all
        process = spawner.popen(command, stdin=to_child_r, stdout=from_child_w,
                                stderr=subprocess.PIPE, start_new_session=True,
                                close_fds=True, env={"PATH": "/usr/bin:/bin"})
    finally:
        os.close(to_child_r)
        os.close(from_child_w)
    runner = Runner(spec, tenant, process, to_child_w, from_child_r)
    threading.Thread(target=_drain, args=(process.stderr, runner.stderr_tail),
                     daemon=True, name=f"runner-stderr-{process.pid}").start()
    start_msg = {"op": "start", "paths": [sandbox.PLUGIN_ROOT, *sandbox.import_path(settings)],
                 "plugin_roots": [sandbox.PLUGIN_ROOT, *spec.roots],
                 "entry_points": [{"name": n, "value": v} for n, v in spec.entry_points],
                 "limits": {"memory_bytes": settings.runner.memory_bytes,
                            "cpu_seconds": settings.runner.cpu_seconds,
                            "open_files": settings.runner.open_files,
                            "file_bytes": settings.runner.file_bytes}}
    with runner.session():
        header, _ = exchange(runner, start_msg, [], settings.runner.start_seconds,
                             what="start")
    runner.ready = header
    return runner


def exchange(runner: Runner, header: dict[str, Any], buffers: list[Any], seconds: float,
             what: str) -> tuple[dict[str, Any], list[Any]]:
    """Send one request and wait for its answer; kill the runner on any failure.

    The caller holds ``runner.session()`` (one call at a time on a runner's pipes)."""
    deadline = time.monotonic() + seconds
    name = runner.spec.distribution
    try:
        protocol.send(runner.requests, header, buffers)
        reply, reply_buffers = _receive(runner, deadline)
    except TimeoutError:
        runner.kill()
        raise PluginError(f"plugin {name}: {what} did not answer within {seconds:g} s; its "
                          "runner was stopped", plugin=name) from None
    except (EOFError, OSError, protocol.ProtocolError, ValueError) as exc:
        runner.kill()
        code = runner.process.returncode
        why = _exit_reason(code)
        tail = " | ".join(list(runner.stderr_tail)[-3:])
        raise PluginError(f"plugin {name}: its runner {why} during {what}"
                          + (f" ({type(exc).__name__}: {exc})" if not isinstance(exc, EOFError)
                             else "") + (f"; last output: {tail}" if tail else ""),
                          plugin=name) from None
    finally:
        runner.last_used = time.monotonic()
        runner.calls += 1
    cpu = reply.get("cpu_seconds")
    if isinstance(cpu, int | float) and cpu >= 0:
        runner.cpu_seconds = float(cpu)
    if not reply.get("ok"):
        raise PluginError(f"plugin {name} raised {reply.get('error')} in {what}", plugin=name,
                          remote_traceback=reply.get("traceback"))
    return reply, reply_buffers


def _exit_reason(code: int | None) -> str:
    if code is None:
        return "broke the protocol"
    if code < 0:
        names: dict[int, str] = {signal.SIGKILL: "was killed (memory or CPU limit, or stopped)",
                 signal.SIGXCPU: "ran out of CPU time", signal.SIGXFSZ: "wrote too large a file",
                 signal.SIGSEGV: "crashed (segmentation fault)",
                 signal.SIGSYS: "made a forbidden system call"}
        return names.get(-code, f"ended on signal {-code}")
    return f"exited with status {code}"


class Pool:
    """Live runners of one host, keyed by (distribution, tenant)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._runners: dict[tuple[str, str], Runner] = {}
        self._lock = threading.Lock()
        self._starting: dict[tuple[str, str], threading.Lock] = {}

    def get(self, spec: RunnerSpec, tenant: str) -> Runner:
        key = (spec.distribution, tenant)
        with self._lock:
            starting = self._starting.setdefault(key, threading.Lock())
        with starting:  # one start per key: concurrent first calls share one runner
            with self._lock:
                runner = self._runners.get(key)
                if runner is not None and runner.alive and runner.spec == spec \
                        and not runner.worn(self.settings):
                    return runner
                if runner is not None:  # dead, loaded from files since replaced, or worn
                    self._runners.pop(key).retire()  # a call on it still gets its answer
                self._evict_locked(keep=self.settings.runner.max - 1)
            runner = start(self.settings, spec, tenant)
            with self._lock:
                self._runners[key] = runner
            return runner

    def _evict_locked(self, keep: int) -> None:
        now = time.monotonic()
        for key, runner in list(self._runners.items()):
            idle = now - runner.last_used > self.settings.runner.idle_seconds
            if not runner.alive or (idle and not runner.lock.locked()):
                self._runners.pop(key).kill()
        while len(self._runners) > max(keep, 0):
            free = [k for k, r in self._runners.items() if not r.lock.locked()]
            if not free:  # every runner is mid-call: go over the budget rather than break one
                break
            key = min(free, key=lambda k: self._runners[k].last_used)
            self._runners.pop(key).kill()

    def evict_idle(self) -> None:
        with self._lock:
            self._evict_locked(keep=self.settings.runner.max)

    def kill(self, distribution: str | None = None) -> int:
        """Stop every runner of ``distribution`` (all when None); return how many."""
        with self._lock:
            keys = [k for k in self._runners if distribution is None or k[0] == distribution]
            for key in keys:
                self._runners.pop(key).kill()
        return len(keys)

    def runners(self) -> list[Runner]:
        with self._lock:
            return list(self._runners.values())

    def states(self, distribution: str) -> list[dict[str, Any]]:
        with self._lock:
            return [r.state() for (d, _), r in self._runners.items() if d == distribution]
