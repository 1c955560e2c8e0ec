"""What an MCP tool call adds over the REST call: one-row predictions, same server, one run.

    .venv/bin/python bench/mcp_latency.py [--calls 200]

Trains the LoL champion (``esports/lol-10min``, the domain's booster, 600 reference games)
for a bench tenant in a fresh TRACER_HOME, starts ``tracer serve`` (one process) on
127.0.0.1 and times, one call at a time over keep-alive connections, the same record as:

- **REST**: ``POST /v1/domains/esports/lol-10min/predict`` (httpx2, the MCP SDK's client);
- **MCP, raw**: one ``tools/call`` JSON-RPC POST to ``/mcp`` (handshake-era header, no SDK on
  the client side): the server's own MCP cost;
- **MCP, SDK client**: ``Client.call_tool`` on the 2026-07-28 protocol and on the handshake
  protocol (``mode="legacy"``): what an agent pays, client-side validation included.

Every call is a real prediction (stored and metered). Prints medians and p90 and writes
bench/results/mcp.md. The client shares the two cores with the server: compare the rows of
one run with each other, not absolute numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tenant_setup import enabled_tenant

ROOT = Path(__file__).resolve().parent.parent
DOMAIN, TOOL, TENANT = "esports/lol-10min", "predict_esports_lol-10min", "bench"


def prepare(home: Path) -> tuple[str, dict]:
    from tracer import lifecycle
    from tracer.tracking import ModelStore
    from tracer_esports.lol import load_reference

    settings, host, key = enabled_tenant(home, TENANT, DOMAIN)
    reference = load_reference()
    lifecycle.train(host, ModelStore(settings), DOMAIN, data=reference.head(600),
                    tenant=TENANT, params={"candidates": ["domain trainer"]})
    record = reference.drop(columns=["blueWins", "gameId"]).iloc[-1].to_dict()
    return key, record


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def timed(n: int, call) -> list[float]:
    for _ in range(10):  # warm-up: model load, connections, caches
        await call()
    out = []
    for _ in range(n):
        start = time.perf_counter()
        await call()
        out.append((time.perf_counter() - start) * 1000)
    return out


async def measure(url: str, key: str, record: dict, n: int) -> dict[str, list[float]]:
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    headers = {"Authorization": f"Bearer {key}"}
    results = {}
    async with httpx2.AsyncClient(base_url=url, headers=headers, timeout=60) as http:
        async def rest():
            r = await http.post(f"/v1/domains/{DOMAIN}/predict", json={"record": record})
            assert r.status_code == 200, r.text

        body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                "params": {"name": TOOL, "arguments": {"record": record}}}
        raw_headers = {"Accept": "application/json, text/event-stream",
                       "MCP-Protocol-Version": "2025-11-25"}

        async def raw():
            r = await http.post("/mcp", json=body, headers=raw_headers)
            assert r.status_code == 200 and "structuredContent" in r.json()["result"], r.text

        results["REST POST /v1/domains/…/predict"] = await timed(n, rest)
        results["MCP tools/call, one raw JSON-RPC POST"] = await timed(n, raw)
    for mode, label in (("auto", "MCP SDK client, protocol 2026-07-28"),
                        ("legacy", "MCP SDK client, handshake protocol 2025-11-25")):
        async with httpx2.AsyncClient(headers=headers, timeout=60) as http, Client(
                streamable_http_client(f"{url}/mcp", http_client=http), mode=mode) as client:
            await client.list_tools()

            async def sdk():
                result = await client.call_tool(TOOL, {"record": record})
                assert not result.is_error, result.content

            results[label] = await timed(n, sdk)
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="tracer-bench-mcp-")) / "home"
    key, record = prepare(home)
    port = free_port()
    # the per-key rate limit is not what is measured
    env = {**os.environ, "TRACER_HOME": str(home), "TRACER_API__MCP_CALLS_PER_MINUTE": "1000000"}
    server = subprocess.Popen([str(Path(sys.executable).parent / "tracer"), "serve", "--port",
                               str(port), "--workers", "1"], env=env)
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(300):  # bounded wait for the port
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        results = asyncio.run(measure(url, key, record, args.calls))
    finally:
        server.terminate()
        server.wait(timeout=30)
    rest = statistics.median(next(iter(results.values())))
    lines = ["| call | median ms | p90 ms | added over REST (median) |",
             "| --- | --- | --- | --- |"]
    for label, times in results.items():
        median = statistics.median(times)
        p90 = statistics.quantiles(times, n=10)[-1]
        lines.append(f"| {label} | {median:.2f} | {p90:.2f} | {median - rest:+.2f} ms |")
    table = "\n".join(lines)
    print(table)
    out = ROOT / "bench" / "results" / "mcp.md"
    out.write_text(f"# MCP tool call against the REST call\n\n{args.calls} sequential one-row "
                   f"predictions each (after 10 warm-up calls), one `tracer serve` process, "
                   f"SQLite (synchronous=FULL), 2 shared cores.\n\n{table}\n")
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
