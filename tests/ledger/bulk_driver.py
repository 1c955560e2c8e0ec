"""Import usage events in bulk in its own process, saying so after every committed chunk.

    python -m tests.ledger.bulk_driver <home> <database-url> <events> <chunk>

The crash test kills this process (SIGKILL) after the first chunk is acknowledged, while
the next one is being written, then imports the same events again.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tracer.settings import Settings
from tracer_registry.ledger.intake import ingest_many

from .workload import TENANTS, setup

START = datetime(2026, 5, 1, tzinfo=UTC)


def events(n: int) -> list[dict]:
    """``n`` events of the workload's tenants, the same every time (ids bulk-0 …)."""
    return [{"id": f"bulk-{i}", "tenant_id": TENANTS[i % 3], "kind": "prediction",
             "domain": ("acme.churn", "blue.fraud", None)[i % 3 if i % 7 else 2],
             "quantity": 1 + i % 13, "occurred_at": START + timedelta(minutes=i),
             "attrs": {"batch": i % 5} if i % 11 == 0 else {}} for i in range(n)]


def main(home: str, url: str, n: str, chunk: str) -> None:
    settings = Settings(home=Path(home), database_url=url)
    setup(settings)
    inserted = ingest_many(settings, events(int(n)), chunk=int(chunk),
                           progress=lambda new, done: print(f"CHUNK {new} {done}", flush=True))
    print(f"DONE {inserted}", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
