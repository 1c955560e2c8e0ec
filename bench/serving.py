"""Serving benchmark: Tracer's API against MLflow's own scoring server, same model, same run.

    make bench        # own environment .venv-bench; MLflow's scoring server is the baseline
    .venv-bench/bin/python bench/serving.py [--requests 2000]

1. Trains the real LoL domain model (``esports/lol-10min``, reference data) for a bench
   tenant in a fresh TRACER_HOME.
2. Starts ``tracer serve`` (one uvicorn process) and ``mlflow models serve --env-manager
   local`` on the same registered version, both on 127.0.0.1.
3. One-row requests over keep-alive HTTP at concurrency 1, 8 and 32: Tracer answers with
   probability + TreeSHAP factors + sentences (and stores the prediction and its usage event);
   MLflow answers with the probability only. p50, p99, requests/s.
4. A 1,000-row batch with explanations through the API vs XGBoost's own
   ``pred_contribs=True`` on the same 1,000 feature rows (median of repeats).

Prints a table and writes bench/results/serving.md. The load generator shares the machine's
cores with the servers, as FACTS.md's figures did; compare ratios, not absolute numbers.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DOMAIN = "esports/lol-10min"
TENANT = "bench"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(port: int, path: str, process: subprocess.Popen, what: str) -> None:
    for _ in range(600):
        if process.poll() is not None:
            raise SystemExit(f"{what} exited with status {process.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", path)
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.25)
    raise SystemExit(f"{what} did not come up on port {port}")


def load(port: int, path: str, bodies: list[bytes], headers: dict[str, str],
         concurrency: int, total: int) -> dict[str, float]:
    """``total`` POSTs over ``concurrency`` keep-alive connections: p50, p99, req/s."""
    latencies: list[float] = []
    lock = threading.Lock()
    per_worker = total // concurrency
    errors = []

    def worker(offset: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.connect()
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        mine = []
        for i in range(per_worker):
            body = bodies[(offset + i) % len(bodies)]
            start = time.perf_counter()
            conn.request("POST", path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            mine.append(time.perf_counter() - start)
            if response.status != 200:
                errors.append((response.status, data[:200]))
        conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker, args=(k * 7919,)) for k in range(concurrency)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise SystemExit(f"{len(errors)} failed requests, first: {errors[0]}")
    latencies.sort()
    return {"p50_ms": 1000 * latencies[len(latencies) // 2],
            "p99_ms": 1000 * latencies[int(len(latencies) * 0.99) - 1],
            "rps": len(latencies) / elapsed, "n": len(latencies)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="per concurrency level")
    parser.add_argument("--batch-repeats", type=int, default=5)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="tracer-bench-"))
    os.environ.update({"TRACER_HOME": str(home), "MLFLOW_DISABLE_TELEMETRY": "true",
                       "TRACER_MAX_BATCH_ROWS": "1000", "TRACER_BOOTSTRAP_SAMPLES": "100"})
    os.environ["PATH"] = f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"  # FACTS.md trap

    import numpy as np
    import xgboost as xgb
    from tracer import db, installs, lifecycle, tenancy
    from tracer.domain import FeatureState
    from tracer.features import compute_features
    from tracer.host import PluginHost
    from tracer.records import validate_records
    from tracer.settings import get_settings
    from tracer.tracking import ModelStore

    settings = get_settings()
    host = PluginHost(settings)
    db.upgrade(settings, extra=host.migration_trees())
    store = ModelStore(settings)
    domain = host.domain(DOMAIN)
    print(f"training {DOMAIN} for tenant {TENANT} in {home} …", flush=True)
    # the domain trainer only: a booster that `mlflow models serve` can serve too (the
    # leaderboard would pick logistic regression, which Tracer serves as JSON numbers)
    result = lifecycle.train(host, store, DOMAIN, tenant=TENANT,
                             params={"candidates": ["domain trainer"]})
    with db.session(settings) as s:
        tenancy.create_tenant(s, TENANT, "Bench", "enterprise", settings.tiers)
        installs.install(s, TENANT, DOMAIN, domain.version)
        installs.set_enabled(s, TENANT, DOMAIN, True)
        _, key = tenancy.issue_key(s, "tenant", tenant_id=TENANT)
    model = store.load(result.model_name, result.version)
    reference = domain.load_reference()
    records = reference.drop(columns=[domain.label]).sample(1000, random_state=7)
    record_dicts = records[domain.columns].to_dict(orient="records")
    valid, _ = validate_records(domain, records)
    features = compute_features(host, domain, valid, FeatureState(False, model.state.values))
    matrix = features[model.feature_names].to_numpy(dtype=np.float32)

    tracer_port, mlflow_port = free_port(), free_port()
    env = dict(os.environ, MLFLOW_TRACKING_URI=settings.tracking_uri)
    servers = [
        subprocess.Popen([str(BIN / "tracer"), "serve", "--port", str(tracer_port)], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
        subprocess.Popen([str(BIN / "mlflow"), "models", "serve", "-m",
                          f"models:/{result.model_name}/{result.version}", "--env-manager",
                          "local", "--host", "127.0.0.1", "-p", str(mlflow_port)], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        wait_up(tracer_port, "/openapi.json", servers[0], "tracer serve")
        wait_up(mlflow_port, "/ping", servers[1], "mlflow models serve")
        tracer_bodies = [json.dumps({"record": r}).encode() for r in record_dicts[:200]]
        tracer_headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        mlflow_bodies = [json.dumps({"dataframe_split": {
            "columns": model.feature_names, "data": [row.tolist()]}}).encode()
            for row in matrix[:200]]
        mlflow_headers = {"Content-Type": "application/json"}
        tracer_path = f"/v1/domains/{DOMAIN}/predict"
        # warm both (first requests load models and JIT paths)
        load(tracer_port, tracer_path, tracer_bodies, tracer_headers, 1, 50)
        load(mlflow_port, "/invocations", mlflow_bodies, mlflow_headers, 1, 50)
        rows = []
        for concurrency in (1, 8, 32):
            total = max(args.requests, concurrency * 20)
            t = load(tracer_port, tracer_path, tracer_bodies, tracer_headers, concurrency, total)
            m = load(mlflow_port, "/invocations", mlflow_bodies, mlflow_headers, concurrency,
                     total)
            rows.append((concurrency, t, m))
            print(f"c={concurrency}: tracer p50 {t['p50_ms']:.2f} p99 {t['p99_ms']:.2f} "
                  f"{t['rps']:.0f}/s | mlflow p50 {m['p50_ms']:.2f} p99 {m['p99_ms']:.2f} "
                  f"{m['rps']:.0f}/s", flush=True)
        batch_body = json.dumps({"records": record_dicts}).encode()
        conn = http.client.HTTPConnection("127.0.0.1", tracer_port, timeout=120)
        api_times, shap_times = [], []
        dmatrix = xgb.DMatrix(matrix, feature_names=model.feature_names)
        for _ in range(args.batch_repeats):
            start = time.perf_counter()
            conn.request("POST", tracer_path, body=batch_body, headers=tracer_headers)
            answer = conn.getresponse()
            payload = answer.read()
            api_times.append(time.perf_counter() - start)
            assert answer.status == 200 and len(json.loads(payload)["predictions"]) == 1000
            start = time.perf_counter()
            model.booster.predict(dmatrix, pred_contribs=True)
            shap_times.append(time.perf_counter() - start)
        api_batch, shap_batch = statistics.median(api_times), statistics.median(shap_times)
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(timeout=30)
    report(rows, api_batch, shap_batch, model, result)


def report(rows, api_batch: float, shap_batch: float, model, result) -> None:
    trees = model.booster.num_boosted_rounds()
    lines = ["# Serving benchmark", "",
             f"Model: `{result.model_name}` v{result.version} (LoL reference data, {trees} "
             f"trees), one uvicorn process for Tracer, `mlflow models serve --env-manager "
             f"local` for MLflow, load generator on the same machine (keep-alive, TCP_NODELAY).",
             "Tracer answers include TreeSHAP factors, sentences and a summary, and each answer "
             "is stored with its usage event; MLflow answers the probability only.", "",
             "| concurrency | Tracer p50 ms | Tracer p99 ms | Tracer req/s | MLflow p50 ms | "
             "MLflow p99 ms | MLflow req/s | req/s ratio | p99 ratio |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for c, t, m in rows:
        lines.append(f"| {c} | {t['p50_ms']:.2f} | {t['p99_ms']:.2f} | {t['rps']:.0f} | "
                     f"{m['p50_ms']:.2f} | {m['p99_ms']:.2f} | {m['rps']:.0f} | "
                     f"{t['rps'] / m['rps']:.2f}× | {t['p99_ms'] / m['p99_ms']:.2f}× |")
    lines += ["", "Goals: p99 ≤ 5 ms at concurrency 1; req/s ratio ≥ 2× at 8; p99 ratio ≤ 0.25× "
              "at 32.", "",
              f"1,000-row batch with explanations over HTTP: {api_batch * 1000:.1f} ms; XGBoost "
              f"`pred_contribs=True` on the same rows: {shap_batch * 1000:.1f} ms; ratio "
              f"{api_batch / shap_batch:.2f}× (goal ≤ 1.3×).", "",
              f"Measured {time.strftime('%Y-%m-%d %H:%M')} on {os.cpu_count()} cores, "
              f"Python {sys.version.split()[0]}."]
    text = "\n".join(lines) + "\n"
    out = ROOT / "bench" / "results" / "serving.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(text)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
