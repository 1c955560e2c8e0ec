"""Fixtures for the tests against a running ``make cluster`` (docs/deploy.md).

They talk to the balancer over real HTTP (``TRACER_CLUSTER_URL``, from the cluster's
``env`` file: ``make cluster-test`` sources it) and count rows in the cluster's PostgreSQL
(``TRACER_DATABASE_URL``). Without a cluster they are skipped, unless
``TRACER_CLUSTER_REQUIRED`` is set (``make cluster-test``): then a missing cluster fails.
Every test makes its own tenant, so they run again and again on one cluster.
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    import httpx

REPO = Path(__file__).resolve().parents[2]
LOL = "esports/lol-10min"


@dataclass(frozen=True)
class Cluster:
    url: str
    state: Path
    database_url: str
    workers: int

    def up(self) -> None:
        """``deploy/cluster/up``: starts again whatever is not running (idempotent)."""
        subprocess.run(["bash", str(REPO / "deploy" / "cluster" / "up")], check=True,
                       capture_output=True, env={**os.environ,
                                                 "CLUSTER_WORKERS": str(self.workers)})

    def pid(self, name: str) -> int:
        return int((self.state / "run" / f"{name}.pid").read_text())


@pytest.fixture(scope="session")
def cluster() -> Cluster:
    import httpx

    url = os.environ.get("TRACER_CLUSTER_URL")
    required = bool(os.environ.get("TRACER_CLUSTER_REQUIRED"))
    if not url:
        if required:
            pytest.fail("TRACER_CLUSTER_URL is not set: run `make cluster` first")
        pytest.skip("no cluster: `make cluster` starts one, `make cluster-test` runs these")
    try:
        httpx.get(f"{url}/v1/domains", timeout=10)
    except httpx.HTTPError as exc:
        if required:
            pytest.fail(f"the cluster at {url} does not answer ({exc}): run `make cluster`")
        pytest.skip(f"the cluster at {url} does not answer")
    return Cluster(url, Path(os.environ["TRACER_CLUSTER_DIR"]),
                   os.environ["TRACER_DATABASE_URL"],
                   int(os.environ.get("TRACER_CLUSTER_WORKERS", "2")))


@pytest.fixture(scope="session")
def engine(cluster):
    from sqlalchemy import create_engine

    engine = create_engine(cluster.database_url, pool_pre_ping=True)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def admin_key(engine) -> str:
    """An operator's first admin key, issued in the database (as ``tracer admin
    issue-key --role admin`` does)."""
    from sqlalchemy.orm import Session
    from tracer import tenancy

    with Session(engine) as s, s.begin():
        return tenancy.issue_key(s, "admin", subject="cluster-test")[1]


@pytest.fixture
def api(cluster) -> Iterator[httpx.Client]:
    import httpx

    with httpx.Client(base_url=cluster.url, timeout=120) as client:
        yield client


@pytest.fixture
def new_tenant(api, admin_key) -> Callable[[str], dict[str, str]]:
    """Create a tenant through the admin API; returns its key's headers."""
    admin = {"Authorization": f"Bearer {admin_key}"}

    def make(prefix: str, tier: str = "professional") -> dict[str, str]:
        tenant = f"{prefix}-{uuid.uuid4().hex[:8]}"
        made = api.post("/v1/admin/tenants", headers=admin,
                        json={"id": tenant, "name": tenant.title(), "tier": tier})
        assert made.status_code == 201, made.text
        key = api.post("/v1/admin/keys", headers=admin,
                       json={"role": "tenant", "tenant_id": tenant})
        assert key.status_code == 201, key.text
        return {"Authorization": f"Bearer {key.json()['key']}", "X-Tenant": tenant}

    return make


@pytest.fixture(scope="session")
def lol_records() -> list[dict]:
    from tracer_esports.lol import load_reference

    frame = load_reference()
    return frame.to_dict(orient="records")


def wait_for_job(api, headers, job_id: str, polls: int = 2400) -> dict:
    """Poll a job until it is no longer queued or running (bounded polls, not a timer)."""
    for _ in range(polls):
        job = api.get(f"/v1/jobs/{job_id}", headers=headers).json()
        if job["status"] not in ("queued", "running"):
            return job
        time.sleep(0.25)
    raise AssertionError(f"job {job_id} still {job['status']} after {polls} polls")


def enabled(api, headers, domain: str = LOL) -> None:
    installed = api.post(f"/v1/domains/{domain}/install", headers=headers)
    assert installed.status_code == 201, installed.text
    assert api.post(f"/v1/domains/{domain}/enable", headers=headers).status_code == 200


def trained(api, headers, domain: str = LOL) -> dict:
    job = api.post(f"/v1/domains/{domain}/jobs", headers=headers,
                   json={"candidates": ["small XGBoost"]})
    assert job.status_code == 202, job.text
    done = wait_for_job(api, headers, job.json()["id"])
    assert done["status"] == "succeeded", done
    return done
