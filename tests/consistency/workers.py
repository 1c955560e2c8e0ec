"""Real API worker processes for the consistency tests: ``tracer serve`` subprocesses on
127.0.0.1 sharing one platform database (SQLite file or PostgreSQL) and one TRACER_HOME."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def environment(values: dict[str, str]) -> dict[str, str]:
    """This process's environment without any TRACER_ or PROMETHEUS_ variable, plus
    ``values``."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TRACER_", "PROMETHEUS_"))}
    return {**env, "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true", **values}


@contextmanager
def served(env: dict[str, str], workers: int = 1) -> Iterator[tuple[str, subprocess.Popen]]:
    """``tracer serve`` with ``workers`` processes on a free port until the block ends."""
    port = free_port()
    # the server's log goes to a file, never a pipe nobody reads: a full pipe blocks it
    log = tempfile.TemporaryFile()  # noqa: SIM115 - closed when the server has stopped
    process = subprocess.Popen(
        [sys.executable, "-m", "tracer.cli", "serve", "--host", "127.0.0.1", "--port",
         str(port), "--workers", str(workers)], env=env, stdout=subprocess.DEVNULL,
        stderr=log, start_new_session=True)

    def tail() -> str:
        log.seek(0)
        return log.read().decode(errors="replace")[-4000:]

    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(1200):  # bounded polls: start-up imports take seconds on busy cores
            if process.poll() is not None:
                raise AssertionError("tracer serve exited: " + tail())
            try:
                if httpx.get(f"{url}/openapi.json", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.25)
        else:
            raise AssertionError("tracer serve did not answer: " + tail())
        yield url, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def eventually(check: Callable[[], object], polls: int = 600, pause: float = 0.1) -> object:
    """The first truthy ``check()``, polled up to ``polls`` times (a generous bound, never
    a timed assertion); fails with the last value otherwise."""
    last: object = None
    for _ in range(polls):
        last = check()
        if last:
            return last
        time.sleep(pause)
    raise AssertionError(f"still not so after {polls} polls: {last!r}")
