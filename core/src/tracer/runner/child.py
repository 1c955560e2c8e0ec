"""The runner process: ``python -I -m tracer.runner.child`` inside the sandbox.

Order matters. The platform's own libraries load first (they are not under test and
``ctypes`` library loads are refused later); then rlimits and the seccomp filter are set,
then the reporting audit hook, and only then the plugin's entry points are imported. From
that point on the process can still compute and answer on its pipes, and nothing else:
no sockets, no new processes, no writes outside its ``/scratch``, no raised limits.

Messages (``tracer.runner.protocol``): ``start`` (paths, entry points, limits) → the
plugins' records and domains; then ``call`` requests, one at a time, each answered with
``ok`` or an ``error`` that names the exception.
"""

from __future__ import annotations

import os
import sys
import time
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tracer.runner.serve import Serve


def main() -> int:
    requests, replies = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(2, 1)  # a plugin's print() goes to stderr, never into the protocol
    sys.stdout = sys.stderr

    from tracer.runner import protocol

    try:
        start, _ = protocol.receive(requests)
    except EOFError:
        return 0
    try:
        serve = _prepare(start)
        ready = serve.load(start)
    except BaseException as exc:  # noqa: BLE001 -- report whatever stopped the start
        protocol.send(replies, {"ok": False, "error": _error(exc),
                                "traceback": traceback.format_exc()[-2000:]})
        return 1
    protocol.send(replies, {"ok": True, **ready})
    while True:
        # block in read(): a poll before sleeping cost ~2 ms of CPU after every answer (a
        # one-row call's host scoring takes longer than that, so the poll rarely paid off)
        try:
            header, buffers = protocol.receive(requests)
        except EOFError:
            return 0
        out: list[Any] = []
        started = time.perf_counter()
        try:
            answer = serve.handle(header, buffers, out)
            answer["runner_ms"] = (time.perf_counter() - started) * 1e3  # for diagnostics
            # the host replaces a runner near its RLIMIT_CPU before the kernel kills it
            answer["cpu_seconds"] = time.process_time()
            protocol.send(replies, {"ok": True, **answer}, out)
        except BaseException as exc:  # noqa: BLE001 -- a plugin error is the call's answer
            protocol.send(replies, {"ok": False, "error": _error(exc),
                                    "traceback": traceback.format_exc()[-2000:],
                                    "cpu_seconds": time.process_time()})


def _error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:2000]


def _prepare(start: dict[str, Any]) -> Serve:
    import resource

    # platform libraries first: plugins share them, and they load shared objects
    import numpy  # noqa: F401
    import pandas  # noqa: F401
    import pluggy  # noqa: F401
    import pydantic  # noqa: F401
    import xgboost  # noqa: F401

    import tracer.domain
    import tracer.hookspecs  # noqa: F401
    from tracer.runner import seccomp
    from tracer.runner.audit import Guard
    from tracer.runner.sandbox import SCRATCH
    from tracer.runner.serve import Serve

    limits = start["limits"]
    for name, value in (("RLIMIT_AS", limits["memory_bytes"]),
                        ("RLIMIT_CPU", limits["cpu_seconds"]),
                        ("RLIMIT_NOFILE", limits["open_files"]),
                        ("RLIMIT_FSIZE", limits["file_bytes"]), ("RLIMIT_CORE", 0)):
        which = getattr(resource, name)
        _, hard = resource.getrlimit(which)
        value = int(value) if hard == resource.RLIM_INFINITY else min(int(value), hard)
        resource.setrlimit(which, (value, value))  # soft = hard: it can never be raised
    seccomp.install(deny_exec=True)
    sys.dont_write_bytecode = True
    guard = Guard(allowed_roots=[Path(SCRATCH)],
                  plugin_roots=[Path(p) for p in start["plugin_roots"]])
    guard.install()
    return Serve(guard)


if __name__ == "__main__":
    sys.exit(main())
