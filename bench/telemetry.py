"""What the telemetry middleware costs a request (tracer.api.telemetry).

Times, in one run: a trivial ASGI app called directly (the floor), the same app behind the
``Telemetry`` middleware, and a whole Tracer request (``GET /v1/domains`` through the real
app, in-process ASGI, no socket) as the yardstick. Both registry modes: in-process, and
prometheus-client's multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``, what ``tracer serve
--workers N`` runs; a child process, since the mode is chosen at import). Prints the
per-request cost in µs and as a share of the Tracer request; writes
``bench/results/telemetry.md``.

    .venv/bin/python bench/telemetry.py [--requests 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


async def _inner(scope, receive, send):
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


class _Host:
    domains = {"esports/lol-10min": object()}


_ROUTE: list[object] = []


def _scope():
    if not _ROUTE:
        from starlette.routing import Route

        _ROUTE.append(Route("/v1/domains/{domain:path}/predict", _inner))
    return {"type": "http", "method": "POST", "path": "/v1/domains/x/predict",
            "route": _ROUTE[0], "path_params": {"domain": "esports/lol-10min"}, "headers": []}


async def _loop(app, n: int) -> float:
    async def receive():
        return {"type": "http.request", "body": b""}

    async def send(_message):
        return None

    start = time.perf_counter()
    for _ in range(n):
        await app(_scope(), receive, send)
    return (time.perf_counter() - start) / n


def measure(n: int) -> dict[str, float]:
    from tracer.api.telemetry import Telemetry

    wrapped = Telemetry(_inner, _Host())  # type: ignore[arg-type]
    floor, timed = [], []
    for _ in range(5):  # interleaved rounds; the median of each
        floor.append(asyncio.run(_loop(_inner, n)))
        timed.append(asyncio.run(_loop(wrapped, n)))
    return {"floor_us": statistics.median(floor) * 1e6,
            "middleware_us": statistics.median(timed) * 1e6}


def tracer_request_us(n: int) -> float:
    import httpx
    from tracer.api import create_app
    from tracer.host import PluginHost
    from tracer.settings import get_settings
    from tracer.tracking import ModelStore

    settings = get_settings()
    settings.ensure_home()
    host = PluginHost(settings)
    app = create_app(settings, host, ModelStore(settings))

    async def run() -> float:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            await client.get("/v1/domains")
            start = time.perf_counter()
            for _ in range(n):
                await client.get("/v1/domains")
            return (time.perf_counter() - start) / n

    return statistics.median(asyncio.run(run()) for _ in range(3)) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.requests)))
        return
    with tempfile.TemporaryDirectory() as home:
        os.environ["TRACER_HOME"] = home
        single = measure(args.requests)
        yardstick = tracer_request_us(max(200, args.requests // 50))
        mp_dir = Path(home) / "mp"
        mp_dir.mkdir()
        child = subprocess.run([sys.executable, __file__, "--child", "--requests",
                                str(args.requests)], capture_output=True, text=True,
                               check=True, env={**os.environ,
                                                "PROMETHEUS_MULTIPROC_DIR": str(mp_dir)})
        multi = json.loads(child.stdout.strip().splitlines()[-1])
    lines = ["| mode | floor µs | with middleware µs | cost µs/request | cost / Tracer request |",
             "|---|---|---|---|---|"]
    for name, m in (("in-process registry", single), ("multiprocess (--workers N)", multi)):
        cost = m["middleware_us"] - m["floor_us"]
        lines.append(f"| {name} | {m['floor_us']:.2f} | {m['middleware_us']:.2f} | "
                     f"{cost:.2f} | {cost / yardstick:.1%} |")
    lines.append(f"\nTracer request (GET /v1/domains, in-process ASGI, middleware included): "
                 f"{yardstick:.0f} µs")
    table = "\n".join(lines)
    print(table)
    out = Path(__file__).parent / "results" / "telemetry.md"
    out.write_text("# Telemetry middleware cost (bench/telemetry.py)\n\n" + table + "\n")


if __name__ == "__main__":
    main()
