"""Concurrent predictions through the balancer, each with its own Idempotency-Key, and the
database counts that say whether any acknowledged one was lost or duplicated."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tests.cluster.conftest import LOL

if TYPE_CHECKING:
    from collections.abc import Callable

#: a request that outlives this is a hang, not an answer
REQUEST_SECONDS = 30.0


@dataclass
class Load:
    """What the clients saw: the acknowledged prediction ids per key, every attempt's
    outcome (status code, or the exception's name) and the bad answers."""

    acknowledged: dict[str, str] = field(default_factory=dict)
    attempts: Counter[str] = field(default_factory=Counter)
    bad: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, outcome: str, bad: str | None = None) -> None:
        with self.lock:
            self.attempts[outcome] += 1
            if bad is not None:
                self.bad.append(bad)


def run_load(url: str, headers: dict[str, str], records: list[dict], keys: list[str], *,
             clients: int = 12, retries: int = 60, pause: float = 0.25,
             on_progress: Callable[[int], None] | None = None) -> Load:
    """Send one single-record prediction per key from ``clients`` threads; retry a failed
    one (connection error, 5xx) with the same key until it is acknowledged (bounded)."""
    import time

    import httpx

    load = Load()
    local = threading.local()

    def client() -> httpx.Client:
        if not hasattr(local, "client"):
            local.client = httpx.Client(base_url=url, timeout=REQUEST_SECONDS)
        return local.client

    def one(i: int) -> None:
        key, record = keys[i], records[i % len(records)]
        for _ in range(retries):
            try:
                answer = client().post(f"/v1/domains/{LOL}/predict", json={"record": record},
                                       headers={**headers, "Idempotency-Key": key})
            except httpx.TimeoutException as exc:
                load.note(type(exc).__name__, f"{key}: no answer in {REQUEST_SECONDS} s")
                time.sleep(pause)
                continue
            except httpx.TransportError as exc:
                load.note(type(exc).__name__)
                local.__dict__.pop("client", None)
                time.sleep(pause)
                continue
            load.note(str(answer.status_code))
            if answer.status_code == 200:
                with load.lock:
                    load.acknowledged[key] = answer.json()["predictions"][0]["prediction_id"]
                    done = len(load.acknowledged)
                if on_progress is not None:
                    on_progress(done)
                return
            kind = answer.headers.get("content-type", "")
            if answer.status_code < 500 or not kind.startswith("application/problem+json") \
                    and answer.status_code not in (502, 503, 504):
                load.note("bad", f"{key}: {answer.status_code} {kind} {answer.text[:300]}")
                return
            if answer.status_code == 500:
                load.note("bad", f"{key}: 500 {answer.text[:300]}")
            time.sleep(pause)
        load.note("gave-up", f"{key}: not acknowledged after {retries} attempts")

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(one, range(len(keys))))
    return load


def stored_counts(engine, tenant: str) -> dict[str, int]:
    """Predictions and prediction usage of ``tenant`` in the database: rows, distinct ids
    and the metered quantity."""
    from sqlalchemy import text

    with engine.connect() as c:
        predictions = c.execute(text(
            "SELECT count(*), count(DISTINCT id) FROM predictions WHERE tenant_id = :t"),
            {"t": tenant}).one()
        usage = c.execute(text(
            "SELECT count(*), count(DISTINCT id), coalesce(sum(quantity), 0) FROM usage_events"
            " WHERE tenant_id = :t AND kind = 'prediction'"), {"t": tenant}).one()
    return {"prediction_rows": predictions[0], "prediction_ids": predictions[1],
            "usage_rows": usage[0], "usage_ids": usage[1], "usage_quantity": int(usage[2])}


def stored_ids(engine, tenant: str) -> set[str]:
    from sqlalchemy import text

    with engine.connect() as c:
        return set(c.scalars(text("SELECT id FROM predictions WHERE tenant_id = :t"),
                             {"t": tenant}))
