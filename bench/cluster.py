"""Cluster benchmark: throughput through HAProxy with 1 and with 2 API workers, one run.

    make cluster && make cluster-bench      # needs the running cluster's settings (env)
    .venv/bin/python bench/cluster.py [--seconds 10] [--rounds 2]

1. Makes a bench tenant on the running cluster (``make cluster``), installs, enables and
   trains ``esports/lol-10min`` (the small XGBoost candidate) over the balancer.
2. Loads the balancer's URL with ``wrk`` (one-row predictions over keep-alive connections,
   concurrency 8 and 32), alternately with one worker (``api-2`` disabled on HAProxy's
   runtime socket, so every request goes to ``api-1``) and with both, ``--rounds`` times.
   Everything else is the same processes: PostgreSQL, the tracking server, HAProxy.
3. Prints the medians and the ratio 2 workers ÷ 1 worker; writes bench/results/cluster.md.

The load generator, HAProxy and PostgreSQL share the machine's cores with the workers:
compare the ratio, measured in the same run, not the absolute numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from serving import WRK_SCRIPT, ensure_wrk, wrk

ROOT = Path(__file__).resolve().parent.parent
DOMAIN = "esports/lol-10min"
LEVELS = (8, 32)


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and of its children it has waited for (a training
    subprocess, a stopped runner): monotonic, unlike a sum over the live process tree."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def haproxy(state: Path, command: str) -> str:
    """One command on HAProxy's runtime API (the admin socket the cluster configures)."""
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(str(state / "run" / "haproxy.sock"))
        s.sendall(command.encode() + b"\n")
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks).decode()


def wait_state(state: Path, server: str, status: str) -> None:
    for _ in range(200):  # bounded polls
        rows = [line.split(",") for line in haproxy(state, "show stat").splitlines()]
        header = rows[0]
        for row in rows[1:]:
            if len(row) == len(header) and row[0] == "workers" and row[1] == server \
                    and row[header.index("status")].startswith(status):
                return
        time.sleep(0.25)
    raise SystemExit(f"HAProxy did not report {server} {status}")


def bench_tenant(url: str) -> tuple[str, dict]:
    """A tenant with a trained champion on the cluster; returns its key and one record."""
    import httpx
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session
    from tracer import tenancy
    from tracer_esports.lol import load_reference

    engine = create_engine(os.environ["TRACER_DATABASE_URL"])
    with Session(engine) as s, s.begin():
        admin = tenancy.issue_key(s, "admin", subject="cluster-bench")[1]
    engine.dispose()
    tenant = f"bench-{uuid.uuid4().hex[:8]}"
    auth = {"Authorization": f"Bearer {admin}"}
    with httpx.Client(base_url=url, timeout=120) as api:
        api.post("/v1/admin/tenants", headers=auth, json={
            "id": tenant, "name": "Bench", "tier": "enterprise"}).raise_for_status()
        key = api.post("/v1/admin/keys", headers=auth, json={
            "role": "tenant", "tenant_id": tenant}).json()["key"]
        who = {"Authorization": f"Bearer {key}"}
        api.post(f"/v1/domains/{DOMAIN}/install", headers=who).raise_for_status()
        api.post(f"/v1/domains/{DOMAIN}/enable", headers=who).raise_for_status()
        job = api.post(f"/v1/domains/{DOMAIN}/jobs", headers=who,
                       json={"candidates": ["small XGBoost"]}).json()
        for _ in range(2400):
            job = api.get(f"/v1/jobs/{job['id']}", headers=who).json()
            if job["status"] not in ("queued", "running"):
                break
            time.sleep(0.25)
        if job["status"] != "succeeded":
            raise SystemExit(f"training failed: {job.get('error')}")
    record = load_reference().drop(columns=["blueWins"]).head(1).to_dict(orient="records")[0]
    return key, record


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    url = os.environ.get("TRACER_CLUSTER_URL")
    if not url or int(os.environ.get("TRACER_CLUSTER_WORKERS", "0")) < 2:
        raise SystemExit("run `make cluster` (2 API workers or more) and source its env file")
    state = Path(os.environ["TRACER_CLUSTER_DIR"])
    binary = ensure_wrk()
    load_before = os.getloadavg()[0]
    key, record = bench_tenant(url)
    work = Path(tempfile.mkdtemp(prefix="tracer-cluster-bench-"))
    body, script = work / "body.json", work / "bench.lua"
    body.write_text(json.dumps({"record": record}, default=str))
    script.write_text(WRK_SCRIPT)
    target = f"{url}/v1/domains/{DOMAIN}/predict"
    import httpx

    first = httpx.post(target, content=body.read_bytes(), timeout=30, headers={
        "Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    if first.status_code != 200:
        raise SystemExit(f"a prediction answered {first.status_code}: {first.text[:500]}")
    wrk(binary, target, body, key, 8, 3, script)  # warm both workers' caches
    runs: dict[tuple[int, int], list[dict[str, float]]] = {}
    try:
        for _ in range(args.rounds):
            for workers in (1, 2):
                haproxy(state, ("disable" if workers == 1 else "enable") + " server workers/api-2")
                wait_state(state, "api-2", "MAINT" if workers == 1 else "UP")
                for c in LEVELS:
                    pids = [int((state / "run" / f"api-{i}.pid").read_text()) for i in (1, 2)]
                    cpu = sum(cpu_seconds(p) for p in pids)
                    result = wrk(binary, target, body, key, c, args.seconds, script)
                    served = result["rps"] * args.seconds
                    result["cpu_ms"] = (sum(cpu_seconds(p) for p in pids) - cpu) \
                        * 1000 / max(served, 1)
                    runs.setdefault((workers, c), []).append(result)
                    print(f"{workers} worker(s) c={c}: {result['rps']:.0f} req/s, "
                          f"p50 {result['p50']:.1f} ms, p99 {result['p99']:.1f} ms, "
                          f"workers' CPU {result['cpu_ms']:.1f} ms/req, "
                          f"errors {result['errors']:.0f}", flush=True)
    finally:
        haproxy(state, "enable server workers/api-2")
    metrics = ("rps", "p50", "p99", "errors", "cpu_ms")
    med = {k: {m: statistics.median(r[m] for r in v) for m in metrics} for k, v in runs.items()}
    lines = ["# Cluster benchmark: 1 and 2 API workers behind HAProxy", "",
             "One-row predictions (`esports/lol-10min`, small XGBoost, TreeSHAP factors, each "
             "answer stored with its usage event in PostgreSQL before it leaves) by `wrk` over "
             "keep-alive connections to HAProxy, on the `make cluster` shape: PostgreSQL, the "
             "MLflow tracking server, Dask idle. One worker = `api-2` in maintenance on "
             "HAProxy's runtime socket; the same processes otherwise. Medians of "
             f"{args.rounds} alternating rounds of {args.seconds} s per level.", "",
             "| c | 1 worker req/s | 2 workers req/s | ratio 2 ÷ 1 | p50 ms 1 / 2 | "
             "p99 ms 1 / 2 | workers' CPU ms/req 1 / 2 | errors 1 / 2 |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for c in LEVELS:
        one, two = med[(1, c)], med[(2, c)]
        lines.append(f"| {c} | {one['rps']:.0f} | {two['rps']:.0f} | "
                     f"{two['rps'] / one['rps']:.2f}× | {one['p50']:.1f} / {two['p50']:.1f} | "
                     f"{one['p99']:.1f} / {two['p99']:.1f} | {one['cpu_ms']:.1f} / "
                     f"{two['cpu_ms']:.1f} | {one['errors']:.0f} / "
                     f"{two['errors']:.0f} |")
    lines += ["", f"Measured {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC on "
              f"{os.cpu_count()} cores (shared with the load generator, HAProxy and "
              f"PostgreSQL), Python {sys.version.split()[0]}; load average before the run "
              f"{load_before:.1f}. The workers' CPU per answered request (their user+system "
              "CPU over a level, with the children they waited for, divided by the "
              "requests answered) says whether a second worker costs more per request "
              "(shared state, contention) or only adds capacity; req/s can only double "
              "when two cores are free for the workers.", ""]
    out = ROOT / "bench" / "results" / "cluster.md"
    out.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
