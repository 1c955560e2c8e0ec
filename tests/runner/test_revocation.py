"""A revoke from another process reaches a running server: runners killed, 410, no usage.

The plugin is a real signed wheel, published and installed by the registry into the plugin
dir, trained for a tenant and served by the real API. The operator revokes it with the
``tracer revoke`` command line in a separate process; the server finds out on its own.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from tracer.db import session

from tests.registry.artifacts import PLUGIN_SOURCE, make_wheel, signed

pytestmark = pytest.mark.xdist_group("runner-revocation")

HOOKS = '''

import threading, time
BEATS = {"n": 0}


def _beat():
    while True:
        BEATS["n"] += 1
        time.sleep(0.01)


threading.Thread(target=_beat, daemon=True).start()


@hookimpl
def tracer_features(domain, records, state):
    return pd.DataFrame({"signal": records["signal"].astype(float)})
'''


def _publish_and_install(settings, key) -> None:
    from tracer_registry.install import install
    from tracer_registry.publishing import publish

    source = PLUGIN_SOURCE.format(version="1.0.0", domain="acme/signal", body="pass") + HOOKS
    filename, wheel = make_wheel(extra={"acme_signal/__init__.py": source.encode()})
    with session(settings) as s:
        publish(s, settings, wheel, filename, signed(key, filename, wheel),
                domains=["acme/signal"])
    with session(settings) as s:
        install(s, settings, "t1", "acme-signal")


def _usage_rows(settings) -> int:
    from tracer.models import UsageEvent

    with session(settings) as s:
        return s.scalar(select(func.count()).select_from(UsageEvent))


def test_a_cli_revoke_in_another_process_stops_the_running_server(acme, publisher_key):
    from fastapi.testclient import TestClient
    from tracer import lifecycle, tenancy
    from tracer.api import create_app
    from tracer.host import PluginHost
    from tracer.runner import tenant_scope
    from tracer.tracking import ModelStore

    settings = acme
    settings.plugins.kill_list_poll_seconds = 0.2
    _publish_and_install(settings, publisher_key)
    host = PluginHost(settings)
    assert host.records["acme-signal"].trust == "third-party"
    store = ModelStore(settings)
    with tenant_scope("t1"):
        lifecycle.train(host, store, "acme/signal", tenant="t1")
    with session(settings) as s:
        _, key = tenancy.issue_key(s, "tenant", tenant_id="t1", subject="t1")
    headers = {"Authorization": f"Bearer {key}"}
    record = {"record": {"signal": 0.7}}
    app = create_app(settings, host, store)
    log: list[tuple[float, float, int]] = []  # (started, finished, status)
    stop = threading.Event()
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.post("/v1/domains/acme/signal/enable", headers=headers).status_code == 200
        assert client.post("/v1/domains/acme/signal/predict", headers=headers,
                           json=record).status_code == 200
        assert host.pool.states("acme-signal"), "a runner serves t1"
        usage_before = _usage_rows(settings)

        def hammer() -> None:
            for _ in range(2_000):  # bounded; stopped well before
                if stop.is_set():
                    return
                started = time.time()
                status = client.post("/v1/domains/acme/signal/predict", headers=headers,
                                     json=record).status_code
                log.append((started, time.time(), status))

        worker = threading.Thread(target=hammer)
        worker.start()
        time.sleep(1.0)
        env = {**os.environ, "TRACER_HOME": str(settings.home)}
        done = subprocess.run([str(Path(sys.executable).parent / "tracer"), "revoke",
                               "acme-signal==1.0.0", "--reason", "credential theft"],
                              env=env, capture_output=True, text=True, timeout=120)
        written = (settings.plugins_path / "kill-list.json").stat().st_mtime
        assert done.returncode == 0, done.stderr
        time.sleep(1.0)
        stop.set()
        worker.join(timeout=60)
        # the watcher kills the runner (and its thread) without any request arriving
        for _ in range(100):
            if not host.pool.states("acme-signal"):
                break
            time.sleep(0.05)
        killed = time.time()
        assert host.pool.states("acme-signal") == []
        after = client.post("/v1/domains/acme/signal/predict", headers=headers, json=record)
        listing = client.get("/v1/plugins", headers=headers).json()["plugins"]
    assert after.status_code == 410, after.text
    assert "credential theft" in after.json()["detail"]
    entry = next(p for p in listing if p["name"] == "acme-signal")
    assert (entry["status"], entry["trust"], entry["runners"]) == ("skipped", "third-party", [])
    served_after = [entry for entry in log if entry[0] > written and entry[2] == 200]
    assert served_after == []
    last_ok = max(finished for _, finished, status in log if status == 200)
    ok = [entry for entry in log if entry[2] == 200]
    refused = [entry for entry in log if entry[2] == 410]
    assert ok and refused
    # one usage event per answer served, none for a refused one: none after the revoke
    assert _usage_rows(settings) == usage_before + len(ok)
    host.close()
    print(f"\nrevocation (kill list written by `tracer revoke` in another process): last "
          f"answer served {last_ok - written:+.3f} s from the write; answers to requests "
          f"started after it: {len(served_after)}; usage events after it: 0; runner (and its "
          f"thread) killed within {killed - written:.2f} s of it with no request; "
          f"{len(refused)} requests answered 410")
