"""What confinement costs: the same domain served in-process and through a runner.

    .venv/bin/python bench/runner.py [--calls 2000]

The first-party LoL domain (``esports/lol-10min``) is trained once. Then one host loads
its plugin in-process (first-party trust, the fast path) and another loads the very same
distribution as a third-party plugin (``TRACER_PLUGINS__FIRST_PARTY=`` empty: a bubblewrap runner,
seccomp, rlimits, every hook over the pipe). Both score with the same registered model:

1. one-record predict + explain (``Scorer.score``: features, TreeSHAP, sentences), p50 and
   p99 over ``--calls`` calls, concurrency 1 — the added cost per request is the runner's;
2. a 1,000-record batch with explanations (median of repeats);
3. the runner's memory (resident set of the box's Python process) and its start time.

The baseline is the in-process path measured in the same run. Prints a table and writes
bench/results/runner.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOMAIN = "esports/lol-10min"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def rss_kib(pid: int) -> int:
    """Resident memory of ``pid`` and its descendants (bwrap and the Python inside)."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
            for task in Path(f"/proc/{current}/task").iterdir():
                children = (task / "children").read_text().split()
                todo += [int(c) for c in children]
        except OSError:
            continue
    return total


def time_calls(scorer, frame, calls: int) -> list[float]:
    scorer.score(frame)  # warm: caches, first runner start
    out = []
    for _ in range(calls):
        start = time.perf_counter()
        scorer.score(frame)
        out.append((time.perf_counter() - start) * 1e3)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--batch-repeats", type=int, default=7)
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="tracer-bench-runner-"))
    os.environ.update({"TRACER_HOME": str(home), "MLFLOW_DISABLE_TELEMETRY": "true",
                       "TRACER_TRAINING__BOOTSTRAP_SAMPLES": "100"})
    from tracer import db, lifecycle
    from tracer.host import PluginHost
    from tracer.records import validate_records
    from tracer.scoring import scorer_for
    from tracer.settings import Settings
    from tracer.tracking import ModelStore

    trusted = Settings()
    db.upgrade(trusted)
    store = ModelStore(trusted)
    in_process = PluginHost(trusted)
    print(f"training {DOMAIN} once (in-process) ...", flush=True)
    lifecycle.train(in_process, store, DOMAIN, tenant="bench")
    domain = in_process.domain(DOMAIN)
    reference = domain.load_reference()
    rows, _ = validate_records(domain, reference.drop(columns=[domain.label]))
    one, batch = rows.tail(1).reset_index(drop=True), rows.tail(1000).reset_index(drop=True)

    confined_settings = Settings(plugins={"first_party": []})
    started = time.perf_counter()
    confined = PluginHost(confined_settings)
    load_seconds = time.perf_counter() - started
    record = confined.records["esports-lol"]
    assert record.trust == "third-party" and record.status == "loaded", record
    hosts = {"in-process (first-party)": in_process, "runner (third-party)": confined}
    results = {}
    for label, host in hosts.items():
        scorer = scorer_for(host, store, DOMAIN, tenant="bench")
        print(f"{label}: {args.calls} one-record calls ...", flush=True)
        single = time_calls(scorer, one, args.calls)
        batches = time_calls(scorer, batch, args.batch_repeats)
        results[label] = {"p50": statistics.median(single), "p99": percentile(single, 0.99),
                          "batch": statistics.median(batches)}
    runners = confined.pool.runners()
    memory = {r.tenant: rss_kib(r.process.pid) / 1024 for r in runners}
    base, boxed = results["in-process (first-party)"], results["runner (third-party)"]
    lines = [
        "# Runner cost: one domain in-process and through a confined runner",
        "",
        f"Same model and records, same run; `{DOMAIN}`, {args.calls} one-record calls "
        f"(predict + explain) at concurrency 1, 1,000-record batch median of "
        f"{args.batch_repeats}. Python {sys.version.split()[0]}, {os.cpu_count()} cores.",
        "",
        "| path | one record p50 ms | p99 ms | 1,000-record batch ms |",
        "|---|---:|---:|---:|",
    ]
    for label, r in results.items():
        lines.append(f"| {label} | {r['p50']:.3f} | {r['p99']:.3f} | {r['batch']:.1f} |")
    lines += [
        f"| **added by the runner** | **{boxed['p50'] - base['p50']:+.3f}** | "
        f"**{boxed['p99'] - base['p99']:+.3f}** | **{boxed['batch'] - base['batch']:+.1f}** |",
        "",
        f"Ratio runner / in-process: p50 {boxed['p50'] / base['p50']:.2f}×, p99 "
        f"{boxed['p99'] / base['p99']:.2f}×, batch {boxed['batch'] / base['batch']:.2f}×.",
        "",
        "Runners alive: " + ", ".join(f"{t}: {mb:.0f} MiB resident" for t, mb in
                                      memory.items()) + f"; loading the host with its first "
        f"runner (start, imports, domains) took {load_seconds:.2f} s.",
    ]
    text = "\n".join(lines) + "\n"
    print("\n" + text)
    out = ROOT / "bench" / "results" / "runner.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    confined.close()


if __name__ == "__main__":
    main()
