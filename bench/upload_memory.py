"""Peak memory of the API process for dataset uploads: the largest one the limits allow, and
a gzip bomb they refuse.

    .venv/bin/python bench/upload_memory.py [--rows N]

A fresh TRACER_HOME with a bench tenant that has ``esports/lol-10min`` enabled; for each
upload, a fresh ``tracer serve`` (one process) on 127.0.0.1, warmed with one request, then
one upload. The figure is the process's resident-set high-water mark (``VmHWM`` in
/proc/<pid>/status) before and after the upload: what the upload added at its peak.

- **largest allowed**: LoL reference rows repeated up to ``api.max_upload_rows`` (1,000,000 by
  default), ``api.max_upload_expanded_bytes`` of CSV (200 MB) or ``api.max_upload_bytes`` of gzip
  (50 MB), whichever comes first: stored, 201;
- **gzip bomb**: a 1 GB CSV of one repeated row in about 1 MB of gzip: refused, 413, and
  nothing stored.

Writes bench/results/upload_memory.md.
"""

from __future__ import annotations

import argparse
import gzip
import io
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tenant_setup import enabled_tenant

ROOT = Path(__file__).resolve().parent.parent
DOMAIN, TENANT = "esports/lol-10min", "bench"


def prepare(home: Path) -> str:
    return enabled_tenant(home, TENANT, DOMAIN)[2]


def largest_allowed(rows: int, expanded: int, sent: int) -> tuple[bytes, int, int]:
    """Reference rows repeated: as many as ``rows``, ``expanded`` bytes of CSV and ``sent``
    bytes of gzip allow."""
    from tracer_esports.lol import load_reference

    text = load_reference().to_csv(index=False)
    header, *lines = text.splitlines(keepends=True)
    out, size, count = io.BytesIO(), len(header), 0
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=9) as z:
        z.write(header.encode())
        while count < rows and out.tell() < sent - 1_000_000:  # the deflate buffer's margin
            line = lines[count % len(lines)].encode()
            if size + len(line) > expanded:
                break
            z.write(line)
            size, count = size + len(line), count + 1
    return out.getvalue(), size, count


def bomb() -> tuple[bytes, int]:
    from tracer_esports.lol import load_reference

    header, line = load_reference().head(1).to_csv(index=False).splitlines(keepends=True)
    block = line.encode() * (1_000_000 // len(line))
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=9) as z:
        z.write(header.encode())
        for _ in range(1_000):
            z.write(block)
    return out.getvalue(), len(header) + 1_000 * len(block)


def hwm_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def measure(home: Path, key: str, name: str, content: bytes) -> dict:
    import httpx

    port = free_port()
    env = {**os.environ, "TRACER_HOME": str(home)}
    server = subprocess.Popen([str(Path(sys.executable).parent / "tracer"), "serve", "--port",
                               str(port), "--workers", "1"], env=env)
    url = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {key}"}
    try:
        for _ in range(600):  # bounded wait for the port
            try:
                httpx.get(f"{url}/v1/domains", headers=headers, timeout=5)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        before = hwm_kib(server.pid)
        start = time.perf_counter()
        answer = httpx.post(f"{url}/v1/domains/{DOMAIN}/datasets", headers=headers,
                            files={"file": (name, content, "application/gzip")}, timeout=3600)
        seconds = time.perf_counter() - start
        after = hwm_kib(server.pid)
        stored = httpx.get(f"{url}/v1/datasets", headers=headers).json()["datasets"]
    finally:
        server.terminate()
        server.wait(timeout=60)
    return {"status": answer.status_code, "before": before, "after": after,
            "seconds": seconds, "stored": len(stored),
            "detail": answer.json().get("detail", "") if answer.status_code >= 400 else ""}


def main() -> None:
    from tracer.settings import ApiSettings

    defaults = ApiSettings.model_fields
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=defaults["max_upload_rows"].default)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="tracer-bench-upload-")) / "home"
    key = prepare(home)
    expanded = defaults["max_upload_expanded_bytes"].default
    big, big_size, big_rows = largest_allowed(args.rows, expanded,
                                              defaults["max_upload_bytes"].default)
    boom, boom_size = bomb()
    rows = []
    for label, name, content, size in (
            ("gzip bomb (refused)", "bomb.csv.gz", boom, boom_size),
            (f"largest allowed: {big_rows:,} rows", "games.csv.gz", big, big_size)):
        m = measure(home, key, name, content)
        rows.append((label, len(content), size, m))
        print(label, m, flush=True)
    lines = ["# Upload peak memory (`bench/upload_memory.py`)", "",
             "| upload | gzip bytes | CSV bytes | status | stored | RSS peak before | "
             "RSS peak after | added | seconds |", "|---|---|---|---|---|---|---|---|---|"]
    for label, gz, size, m in rows:
        lines.append(f"| {label} | {gz / 1e6:.1f} MB | {size / 1e6:.0f} MB | {m['status']} | "
                     f"{m['stored']} | {m['before'] / 1024:.0f} MiB | "
                     f"{m['after'] / 1024:.0f} MiB | {(m['after'] - m['before']) / 1024:.0f} MiB"
                     f" | {m['seconds']:.1f} |")
    out = "\n".join(lines) + "\n"
    print(out)
    (ROOT / "bench" / "results" / "upload_memory.md").write_text(out)


if __name__ == "__main__":
    main()
