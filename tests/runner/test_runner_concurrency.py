"""Many concurrent predictions of one tenant share one confined runner, started once.

The serving benchmark's third-party row collapsed under load: runners were forked by
request threads, and bubblewrap's ``--die-with-parent`` (``PR_SET_PDEATHSIG``) kills the
box when the *thread* that forked it exits — the server's thread pool retires idle
threads, so the runner died mid-load and every runner start stalled the requests behind
it. Here a real runner (bubblewrap, seccomp, rlimits) serves the real API under
concurrency after the thread that started it has exited, and the spawns are counted.
"""

from __future__ import annotations

import os
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pytest
from tracer import installs, lifecycle, tenancy
from tracer.db import session
from tracer.domain import FeatureState
from tracer.features import compute_features
from tracer.host import PluginHost
from tracer.runner import spawner, tenant_scope

pytestmark = pytest.mark.xdist_group("runner-concurrency")

DOMAIN = "conc/one"
SOURCE = """
    import pandas as pd
    from tracer import Explanation, hookimpl
    from tracer.explain import rank_factors
    from tests.core.toy import toy_domain

    @hookimpl
    def tracer_domains():
        return [toy_domain("conc/one")]

    @hookimpl
    def tracer_features(domain, records, state):
        return pd.DataFrame({"signal": records["signal"], "count": records["count"]})

    @hookimpl
    def tracer_explain(domain, prediction):
        factors = rank_factors(prediction, lambda f, v, c: f"{f} is {v:.2f}")
        return Explanation(factors=factors, summary=f"{prediction.probability:.0%}")
"""


@pytest.fixture
def served(db, store, install_plugin):
    """The plugin as a third-party distribution, trained for tenant t1, installed and
    enabled, with a key; no runner alive yet (training's are stopped)."""
    install_plugin("conc-plugin", "conc_plugin", textwrap.dedent(SOURCE))
    host = PluginHost(db)
    record = host.records["conc-plugin"]
    assert (record.status, record.trust) == ("loaded", "third-party"), record.error
    with tenant_scope("t1"):
        lifecycle.train(host, store, DOMAIN, tenant="t1")
    with session(db) as s:
        tenancy.create_tenant(s, "t1", "T1", "enterprise", db.tiers)
        installs.install(s, "t1", DOMAIN, "1.0.0")
        installs.set_enabled(s, "t1", DOMAIN, True)
        _, key = tenancy.issue_key(s, "tenant", tenant_id="t1")
    host.pool.kill()
    yield host, store, {"Authorization": f"Bearer {key}"}
    host.close()


def _thread_gone(native_id: int) -> None:
    """Wait until the OS thread has exited (``join`` returns a little before that, and the
    parent-death signal is sent only at the thread's exit)."""
    while os.path.exists(f"/proc/self/task/{native_id}"):
        time.sleep(0.01)


def _predict_concurrently(client, headers, calls: int, concurrency: int) -> list:
    def predict(i: int):
        record = {"signal": (i % 13) / 6 - 1, "count": i % 10, "noise": 0.0}
        return client.post(f"/v1/domains/{DOMAIN}/predict", headers=headers,
                           json={"record": record})

    with ThreadPoolExecutor(concurrency) as pool:
        return list(pool.map(predict, range(calls)))


def test_concurrent_predictions_after_the_starting_thread_exits_share_one_runner(served):
    from fastapi.testclient import TestClient
    from tracer.api import create_app

    host, store, headers = served
    spawned = spawner.started
    records = pd.DataFrame({"signal": [0.5], "count": [3], "noise": [0.0]})

    # a short-lived thread makes t1's runner, as a request thread of the server would
    first: dict = {}

    def start_and_leave() -> None:
        with tenant_scope("t1"):
            compute_features(host, host.domain(DOMAIN), records, FeatureState())
        first["runner"] = next(r for r in host.pool.runners() if r.tenant == "t1")
        first["thread"] = threading.get_native_id()

    thread = threading.Thread(target=start_and_leave)
    thread.start()
    thread.join()
    _thread_gone(first["thread"])
    runner = first["runner"]

    app = create_app(host.settings, host, store, migrate=False)
    with TestClient(app) as client:  # (its shutdown stops the runners: look before)
        answers = _predict_concurrently(client, headers, calls=256, concurrency=32)
        alive, pids = runner.alive, [r.process.pid for r in host.pool.runners()]
    assert [a.status_code for a in answers] == [200] * 256, \
        next(a.text for a in answers if a.status_code != 200)
    for answer in answers:
        prediction = answer.json()["predictions"][0]
        assert 0 <= prediction["probability"] <= 1
        assert prediction["factors"] and prediction["summary"], prediction
    # the runner the exited thread started answered them all: one spawn, still alive
    assert alive
    assert pids == [runner.process.pid]
    assert spawner.started - spawned == 1
    assert runner.calls >= 1 + 2 * 256  # features + explanations per answer, one pipe


def test_a_killed_runner_keeps_its_pipes_until_the_call_holding_them_ends(served):
    """Closing a runner's pipes under a waiting call would free their descriptor numbers
    for the next runner's pipes, and that call would read another runner's answers."""
    host, _, _ = served
    with tenant_scope("t1"):
        compute_features(host, host.domain(DOMAIN),
                         pd.DataFrame({"signal": [0.1], "count": [1], "noise": [0.0]}),
                         FeatureState())
    runner = next(r for r in host.pool.runners() if r.tenant == "t1")
    with runner.session() as usable:
        assert usable
        host.pool.kill()  # another thread's eviction, mid-call
        assert not runner.alive
        os.fstat(runner.replies)  # still this runner's pipe
        os.fstat(runner.requests)
        assert not runner.closed
    assert runner.closed
    with runner.session() as usable:
        assert not usable  # a stopped runner takes no call


def test_a_runner_near_its_cpu_limit_is_replaced_once_the_call_on_it_ends(served):
    """RLIMIT_CPU is a budget over the runner's life: a runner serving a busy tenant for
    hours would reach it and be killed by the kernel mid-call; the pool replaces it first."""
    host, _, _ = served
    records = pd.DataFrame({"signal": [0.1], "count": [1], "noise": [0.0]})
    with tenant_scope("t1"):
        compute_features(host, host.domain(DOMAIN), records, FeatureState())
    worn = next(r for r in host.pool.runners() if r.tenant == "t1")
    limit = host.settings.runner.cpu_seconds
    assert 0 < worn.cpu_seconds < 0.9 * limit  # each answer says what the runner has used
    with worn.session() as usable:  # a call is on it
        assert usable
        worn.cpu_seconds = 0.95 * limit  # as a runner busy for hours would report
        fresh = host.pool.get(worn.spec, "t1")
        assert fresh is not worn and fresh.alive
        assert worn.process.poll() is None  # the call holding it still gets its answer
    assert not worn.alive and worn.closed
    with tenant_scope("t1"):
        compute_features(host, host.domain(DOMAIN), records, FeatureState())
    assert [r.process.pid for r in host.pool.runners() if r.tenant == "t1"] == \
        [fresh.process.pid]
