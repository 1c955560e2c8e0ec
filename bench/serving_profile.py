"""Server CPU per explained prediction, by stage, against the floor's work in the same run.

    .venv/bin/python bench/serving_profile.py [--requests 3000] [--concurrency 8]
        [--home DIR] [--database-url postgresql+psycopg://…] [--synchronous FULL|NORMAL]

No sockets and no load generator: the ASGI apps are driven in-process by ``concurrency``
tasks sending one-row LoL requests, so CPU per request is the process's own user+system
CPU (``time.process_time``: the event loop, the group-commit writer thread and any worker
thread) over the requests answered, and stays steady on a shared machine. Stages, each
over the same requests:

- ``floor``: ``bench/floor_app.py`` (parse, one-row TreeSHAP, top five, JSON) as ASGI;
- ``tracer``: the whole Tracer app (middleware, routing, auth, validation, scoring,
  explanation, group commit) as ASGI;
- ``service``: ``PredictionService.answer`` alone (the app minus HTTP, routing and auth);
- ``score``: validation + scoring + explanation (``PredictionService._score``), no writes;
- ``writer``: the group-commit writer thread's own CPU during ``service`` (thread time).

The HTTP parsing uvicorn does for both servers is left out of every figure; what the table
shows is the difference that Tracer's code makes. ``--home`` keeps the trained model and
the database for the next run (training takes a while); ``--py-spy`` prints where to point
py-spy (``py-spy record --pid``) and waits before the ``tracer`` stage.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DOMAIN = "esports/lol-10min"
TENANT = "bench"


def prepare(home: Path) -> dict[str, Any]:
    """A trained champion, an enabled install and a key (reused when ``home`` has them)."""
    marker = home / "profile.json"
    if marker.exists():
        return json.loads(marker.read_text())
    from tracer import lifecycle
    from tracer.tracking import ModelStore

    from bench.tenant_setup import enabled_tenant

    settings, host, key = enabled_tenant(home, TENANT, DOMAIN)
    store = ModelStore(settings)
    result = lifecycle.train(host, store, DOMAIN, tenant=TENANT,
                             params={"candidates": ["domain trainer"]})
    model = store.load(result.model_name, result.version)
    model.booster.save_model(str(home / "booster.json"))
    info = {"key": key, "name": result.model_name, "version": result.version}
    marker.write_text(json.dumps(info))
    return info


class Driver:
    """``concurrency`` tasks each awaiting one call at a time until ``n`` calls are made."""

    def __init__(self, n: int, concurrency: int) -> None:
        self.n, self.concurrency = n, concurrency

    def run(self, call) -> tuple[float, float]:
        """(CPU ms per call, wall ms per call)."""
        async def main() -> tuple[float, float]:
            left = [self.n]

            async def worker() -> None:
                while left[0] > 0:
                    left[0] -= 1
                    await call()

            for _ in range(min(50, self.n)):  # warm: champion loaded, caches filled
                await call()
            cpu, wall = time.process_time(), time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(self.concurrency)))
            return (1000 * (time.process_time() - cpu) / self.n,
                    1000 * (time.perf_counter() - wall) / self.n)

        try:  # the loop tracer serve runs on (uvicorn's "auto")
            import uvloop
        except ImportError:  # pragma: no cover - not on this platform
            return asyncio.run(main())
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            return runner.run(main())


def asgi_call(app, path: str, body: bytes, headers: list[tuple[bytes, bytes]]):
    """One POST through an ASGI app; raises unless it answered 200."""
    scope_base = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                  "method": "POST", "scheme": "http", "path": path, "raw_path": path.encode(),
                  "query_string": b"", "root_path": "", "server": ("127.0.0.1", 8000),
                  "client": ("127.0.0.1", 50000),
                  "headers": [(b"host", b"127.0.0.1:8000"),
                              (b"content-type", b"application/json"),
                              (b"content-length", str(len(body)).encode()), *headers]}

    async def call() -> None:
        sent = False
        status = [0]
        chunks: list[bytes] = []

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.Event().wait()  # pragma: no cover - a disconnect never comes
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await app({**scope_base, "state": {}}, receive, send)
        if status[0] != 200:
            raise SystemExit(f"{path} answered {status[0]}: {b''.join(chunks)[:400]!r}")

    return call


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--home", type=Path, default=None)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--synchronous", default="FULL", choices=["FULL", "NORMAL"])
    parser.add_argument("--stages", default="floor,tracer,service,score")
    parser.add_argument("--py-spy", action="store_true")
    args = parser.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="tracer-profile-"))
    home.mkdir(parents=True, exist_ok=True)
    os.environ.update({"TRACER_HOME": str(home), "MLFLOW_DISABLE_TELEMETRY": "true",
                       "TRACER_TRAINING__BOOTSTRAP_SAMPLES": "100",
                       "TRACER_SQLITE_SYNCHRONOUS": args.synchronous})
    if args.database_url:
        os.environ["TRACER_DATABASE_URL"] = args.database_url
    info = prepare(home)
    os.environ["FLOOR_MODEL"] = str(home / "booster.json")

    from tracer_esports.lol import load_reference

    record = load_reference().drop(columns=["blueWins"]).sample(
        1, random_state=7).to_dict(orient="records")[0]
    body = json.dumps({"record": record}).encode()
    driver = Driver(args.requests, args.concurrency)
    stages = args.stages.split(",")
    rows: dict[str, tuple[float, float]] = {}
    extra: dict[str, str] = {}

    if "floor" in stages:
        from bench import floor_app

        rows["floor (ASGI)"] = driver.run(asgi_call(floor_app.app, "/", body, []))

    from tracer.api import create_app
    from tracer.api.answering import Ask
    from tracer.settings import get_settings

    get_settings.cache_clear() if hasattr(get_settings, "cache_clear") else None
    app = create_app(get_settings())
    platform = app.state.platform
    service = platform.predictions
    writer_cpu = [0.0]
    commit = service.writer.commit

    def timed_commit(group) -> None:
        start = time.thread_time()
        try:
            commit(group)
        finally:
            writer_cpu[0] += time.thread_time() - start

    service.writer.commit = timed_commit  # type: ignore[method-assign]

    if "tracer" in stages:
        if args.py_spy:
            print(f"py-spy record --pid {os.getpid()} (starting in 10 s)", flush=True)
            time.sleep(10)
        headers = [(b"authorization", f"Bearer {info['key']}".encode())]
        groups, writes = service.writer.groups, service.writer.writes
        writer_cpu[0] = 0.0
        rows["tracer (ASGI)"] = driver.run(asgi_call(
            app, f"/v1/domains/{DOMAIN}/predict", body, headers))
        rows["  of which: writer thread"] = (1000 * writer_cpu[0] / (args.requests + 50),
                                             0.0)
        g, w = service.writer.groups - groups, service.writer.writes - writes
        extra["tracer"] = f"{w} writes in {g} groups ({w / max(g, 1):.1f} a group)"

    if "service" in stages:
        groups, writes = service.writer.groups, service.writer.writes
        writer_cpu[0] = 0.0

        async def ask() -> None:
            await service.answer(Ask(tenant_id=TENANT, domain=DOMAIN, items=[record],
                                     single=True))

        rows["service (answer)"] = driver.run(ask)
        rows["  of which: writer thread "] = (1000 * writer_cpu[0] / (args.requests + 50),
                                              0.0)
        g, w = service.writer.groups - groups, service.writer.writes - writes
        extra["service"] = f"{w} writes in {g} groups ({w / max(g, 1):.1f} a group)"

    if "score" in stages:
        domain = platform.host.domain(DOMAIN)
        plain = Ask(tenant_id=TENANT, domain=DOMAIN, items=[record], single=True)

        async def score() -> None:
            service._score(plain, domain, [record])

        rows["score (validate+score+explain)"] = driver.run(score)

    floor = rows.get("floor (ASGI)", (0.0, 0.0))[0]
    engine = "PostgreSQL" if args.database_url else f"SQLite {args.synchronous}"
    print(f"\n{args.requests} one-row requests, concurrency {args.concurrency}, {engine}, "
          f"{os.cpu_count()} cores, Python {sys.version.split()[0]}, "
          f"threads {threading.active_count()}")
    print(f"{'stage':<34} {'CPU ms/req':>10} {'wall ms/req':>11} {'÷ floor':>8}")
    for name, (cpu, wall) in rows.items():
        ratio = f"{cpu / floor:.2f}×" if floor else "-"
        print(f"{name:<34} {cpu:>10.3f} {wall:>11.3f} {ratio:>8}")
    for name, text in extra.items():
        print(f"{name}: {text}")
    print(f"home: {home}")


if __name__ == "__main__":
    main()
