"""``tracer serve``: the API, one uvicorn process per worker on one port.

One Python process is bound by its GIL, so ``--workers N`` (default ``settings.api.workers``)
runs N independent server processes. Each binds the port itself with ``SO_REUSEPORT`` and
the kernel spreads new connections over them; nothing is shared in memory, so each keeps its
own champion, key and enable caches, consistent through the database within the bounds the
settings name (``api.champion_refresh_seconds``, ``api.auth_cache_seconds``), and warms its
champions (:meth:`tracer.api.champions.ChampionCache.warm`) as it starts. The parent migrates
the database once, starts the workers, restarts one that dies and stops them all on
SIGINT/SIGTERM. Their Prometheus samples go to one directory (``telemetry.metrics_dir``, emptied
at start, ``PROMETHEUS_MULTIPROC_DIR`` for the workers) so that a scrape of any worker
sums them all; a worker that exits is marked dead there. uvicorn's own ``--workers`` mode
is not used: it left Nagle's algorithm on (FACTS.md), adding ~40 ms to every request.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import TYPE_CHECKING

import typer

from tracer.cli.context import console

if TYPE_CHECKING:
    from tracer.settings import Settings


def _socket(host: str, port: int, reuse_port: bool) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.set_inheritable(False)
    return sock


def serve_worker(host: str, port: int, *, reuse_port: bool = False, migrate: bool = True
                 ) -> None:
    """One server process (the whole server when there is one worker)."""
    import uvicorn

    from tracer.api import create_app
    from tracer.cli.context import host as plugin_host
    from tracer.cli.context import platform

    if migrate:
        h, store = platform()
    else:
        from tracer.tracking import ModelStore

        h = plugin_host()
        store = ModelStore(h.settings)
    app = create_app(h.settings, h, store, migrate=False)
    # the champions of enabled installs load while the server starts answering
    threading.Thread(target=app.state.platform.champions.warm, args=(h.settings,),
                     daemon=True, name="warm-champions").start()
    config = uvicorn.Config(app, log_level="warning", access_log=False,
                            loop="auto", http="auto")  # uvloop and httptools when installed
    server = uvicorn.Server(config)
    server.run(sockets=[_socket(host, port, reuse_port)])


def supervise(host: str, port: int, workers: int) -> None:
    """Start ``workers`` server processes on one port and keep them running."""
    from tracer.cli.context import migrated

    migrating = migrated()  # once, before any worker serves
    settings = migrating.settings
    migrating.close()  # this process serves nothing: no idle runners of its own meanwhile
    _socket(host, port, reuse_port=True).close()  # a busy port fails here, once, clearly
    metrics = _metrics_dir(settings)
    command = [sys.executable, "-m", "tracer.cli", "serve", "--host", host, "--port",
               str(port), "--worker-of-pool"]
    children: list[subprocess.Popen[bytes]] = [subprocess.Popen(command)
                                                for _ in range(workers)]
    stopping = False

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    restarts: list[float] = []
    while not stopping:
        time.sleep(0.5)
        for i, child in enumerate(children):
            if child.poll() is not None and not stopping:
                restarts = [t for t in restarts if t > time.monotonic() - 60] + [time.monotonic()]
                if len(restarts) > 5 * workers:
                    console.print(f"[red]workers keep dying (last exit {child.returncode}); "
                                  "stopping[/red]")
                    stop(signal.SIGTERM, None)
                    break
                console.print(f"worker {child.pid} exited ({child.returncode}); restarting")
                _mark_dead(metrics, child.pid)
                children[i] = subprocess.Popen(command)
    for child in children:
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
        _mark_dead(metrics, child.pid)


def _metrics_dir(settings: Settings) -> str:
    """This run's multiprocess directory, emptied; the workers inherit it (environment)."""
    import shutil

    path = (settings.telemetry.metrics_dir or settings.home / "metrics").resolve()
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(path)
    return str(path)


def _mark_dead(path: str, pid: int) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(pid, path)


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve(host: str = typer.Option(None, "--host", help="Default: settings.api.host "
                                       "(127.0.0.1)."),
              port: int = typer.Option(None, "--port", help="Default: settings.api.port."),
              workers: int = typer.Option(None, "--workers", min=1, help="Server processes "
                                          "on the port, one per core is best. Default: "
                                          "settings.api.workers."),
              worker_of_pool: bool = typer.Option(False, "--worker-of-pool", hidden=True),
              ) -> None:
        """Serve the HTTP API (predictions with reasons, training jobs, feedback, usage)."""
        from tracer.settings import get_settings

        settings = get_settings()
        host, port = host or settings.api.host, port or settings.api.port
        count = workers or settings.api.workers or os.cpu_count() or 1
        if worker_of_pool:
            serve_worker(host, port, reuse_port=True, migrate=False)
            return
        console.print(f"Tracer API on http://{host}:{port} (docs: http://{host}:{port}/docs)"
                      + (f", {count} workers" if count > 1 else ""))
        if count == 1:
            serve_worker(host, port)
        else:
            supervise(host, port, count)
