"""/metrics under ``tracer serve --workers 2``: a scrape of either worker sums both
workers' samples (prometheus-client multiprocess mode), a killed and restarted worker's
counts stay, and the directory is emptied at the next start."""

from __future__ import annotations

import os
import signal
from typing import TYPE_CHECKING

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.consistency.workers import environment, eventually, served

if TYPE_CHECKING:
    from pathlib import Path


def _requests(base: str, admin: str, route: str) -> float:
    text = httpx.get(f"{base}/metrics", headers={"Authorization": f"Bearer {admin}"},
                     timeout=120).text
    return sum(s.value for f in text_string_to_metric_families(text) for s in f.samples
               if s.name == "tracer_http_requests_total" and s.labels.get("route") == route)


def _counted(base: str, admin: str, route: str) -> float | None:
    """``_requests``, or None while a just-killed worker's socket resets the connection."""
    try:
        return _requests(base, admin, route)
    except httpx.TransportError:
        return None


def _pids(directory: Path) -> set[int]:
    return {int(p.stem.rsplit("_", 1)[1]) for p in directory.glob("counter_*.db")}


def test_a_scrape_sums_every_worker_and_keeps_a_dead_workers_counts(tmp_path):
    from tracer import db, tenancy
    from tracer.settings import Settings

    home = tmp_path / "home"
    settings = Settings(home=home)
    settings.ensure_home()
    db.upgrade(settings)
    with db.session(settings) as s:
        admin = tenancy.issue_key(s, "admin", subject="ops")[1]
    metrics = home / "metrics"
    metrics.mkdir()
    (metrics / "counter_999999.db").write_bytes(b"left over from an earlier run")
    env = environment({"TRACER_HOME": str(home), "TRACER_API__AUTH_CACHE_SECONDS": "0"})
    sent = [0]

    def one_more() -> None:
        assert httpx.get(f"{base}/openapi.json", timeout=120).status_code == 200
        sent[0] += 1

    with served(env, workers=2) as (base, _):
        assert not (metrics / "counter_999999.db").exists()  # emptied at start
        # the start-up poll's (counted as its answer ends: poll for it, never a timing)
        sent[0] = int(eventually(lambda: _requests(base, admin, "/openapi.json")))
        # a new connection each: the kernel spreads them over the workers listening
        eventually(lambda: one_more() or len(_pids(metrics)) == 2, polls=2400)
        pids = _pids(metrics)
        # once the last answer is counted, any worker answers with everyone's samples
        assert eventually(lambda: _counted(base, admin, "/openapi.json") == sent[0])
        for _ in range(6):
            assert _requests(base, admin, "/openapi.json") == sent[0]
        os.kill(min(pids), signal.SIGKILL)  # the supervisor restarts it, marked dead
        # its counts stay
        assert eventually(lambda: _counted(base, admin, "/openapi.json") == sent[0])
        eventually(lambda: one_more() or len(_pids(metrics)) == 3, polls=2400)
        assert eventually(lambda: _counted(base, admin, "/openapi.json") == sent[0])
