"""The attack suite: malicious third-party plugins on the training and serving paths.

Every attack in ``attacks.py`` is installed as a real distribution, trained through the
lifecycle for one tenant and served through the real API (FastAPI app, tenant keys,
metering) to two tenants. The figures the closing note reports come from here: payloads
that ran outside a runner, platform state a plugin changed, and what each attack achieved
inside its box.
"""

from __future__ import annotations

import hashlib
import json
import socket
import sys
from pathlib import Path

import pytest
from tracer.host import PluginHost

from tests.runner.attacks import PAYLOADS, make_attack, summaries

pytestmark = pytest.mark.xdist_group("runner-attacks")


def _digest(path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


@pytest.fixture
def attacked(tmp_path, settings, monkeypatch):
    from tracer import db

    site, markers = tmp_path / "site", tmp_path / "markers"
    site.mkdir()
    markers.mkdir()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.setblocking(False)
    db.upgrade(settings)
    keys = settings.home / "keys"
    keys.mkdir()
    (keys / "registry-signing.key").write_text("-----BEGIN PRIVATE KEY-----\nsecret\n")
    other = settings.data_dir / "globex"
    other.mkdir(parents=True)
    (other / "payments.csv").write_text("card,amount\n4111,999\n")
    settings.plugins_path.mkdir(parents=True, exist_ok=True)
    kill_list = settings.plugins_path / "kill-list.json"
    kill_list.write_text('{"entries": []}')
    secrets = [str(settings.home / "tracer.db"), str(settings.home / "mlflow.db"),
               str(keys / "registry-signing.key"), str(other / "payments.csv"),
               str(kill_list), "/root/.bashrc", "/etc/shadow", "/proc/1/environ"]
    monkeypatch.setenv("TRACER_SECRET_TOKEN", "s3cr3t-token")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "aws-s3cr3t")
    domains = {name: make_attack(site, name, markers=markers, secrets=secrets,
                                 port=listener.getsockname()[1]) for name in PAYLOADS}
    monkeypatch.syspath_prepend(str(site))
    settings.plugins.allow = [f"tracer-mal-{n.replace('_', '-')}" for n in PAYLOADS]
    settings.runner.max = 64
    state = {p: _digest(Path(p)) for p in secrets[2:5]}
    host = PluginHost(settings)
    yield {"host": host, "domains": domains, "markers": markers, "listener": listener,
           "secrets": secrets, "state": state, "kill_list": kill_list}
    host.close()
    listener.close()


def _accepted(listener) -> int:
    count = 0
    while True:
        try:
            conn, _ = listener.accept()
        except BlockingIOError:
            return count
        conn.close()
        count += 1


def test_every_attack_is_contained_on_training_and_serving(attacked, store, settings):
    from fastapi.testclient import TestClient
    from tracer import lifecycle
    from tracer.api import create_app
    from tracer.runner import tenant_scope

    from tests.api.conftest import Caller, enable

    host, domains = attacked["host"], attacked["domains"]
    host_functions = {name: getattr(PluginHost, name)
                      for name in ("kill_list", "apply_kill_list", "refresh_kill_list")}
    import tracer.features
    import tracer_registry.revocation as revocation
    import tracer_registry.verify as verify
    compute_features = tracer.features.compute_features
    registry_functions = (verify.verify_release, revocation.write_kill_list)
    assert {r.status for n, r in host.records.items() if n.startswith("tracer-mal-")} \
        == {"loaded"}, {n: r.error for n, r in host.records.items()}
    assert {r.trust for n, r in host.records.items() if n.startswith("tracer-mal-")} \
        == {"third-party"}

    # training path: the tenant's records go through the tenant's runner
    for name, domain in domains.items():
        with tenant_scope("acme"):
            result = lifecycle.train(host, store, domain, tenant="acme")
        assert result.version >= 1, name

    # serving path: the real API, two tenants, 20 one-record predictions each per domain
    from tracer import tenancy
    from tracer.db import session

    app = create_app(settings, host, store)
    callers = {}
    with session(settings) as s:
        for tenant in ("acme", "globex"):
            tenancy.create_tenant(s, tenant, tenant.title(), "professional", settings.tiers)
            _, key = tenancy.issue_key(s, "tenant", tenant_id=tenant, subject=tenant)
            callers[tenant] = {"Authorization": f"Bearer {key}"}
    # a second tenant on one domain: its own runner
    with tenant_scope("globex"):
        lifecycle.train(host, store, domains["background_thread"], tenant="globex")
    seen: dict[str, list[dict]] = {}
    reference = {n: host.domain(d).load_reference() for n, d in domains.items()}
    with TestClient(app, raise_server_exceptions=False) as client:
        for tenant, headers in callers.items():
            caller = Caller(tenant, headers["Authorization"].removeprefix("Bearer "), "")
            for name, domain in domains.items():
                if tenant == "globex" and name != "background_thread":
                    continue
                enable(client, caller, domain)
                rows = reference[name].drop(columns=["outcome"]).tail(16)
                for record in rows.to_dict(orient="records"):
                    answer = client.post(f"/v1/domains/{domain}/predict", headers=headers,
                                         json={"record": record})
                    assert answer.status_code == 200, (name, answer.text)
                    seen.setdefault(f"{tenant}:{name}", []).extend(answer.json()["predictions"])
        runners = host.pool.states("tracer-mal-background-thread")  # before shutdown stops them

    results = {k: summaries(v) for k, v in seen.items()}
    # 1. nothing escaped: no marker on the host, no connection, no plugin module here
    assert sorted(p.name for p in attacked["markers"].iterdir()) == []
    assert _accepted(attacked["listener"]) == 0
    assert [m for m in sys.modules if m.startswith("mal_")] == []
    # 2. platform state untouched: keys, databases' bytes as the plugin saw them, kill list
    for path, before in attacked["state"].items():
        assert _digest(Path(path)) == before, path
    assert {n: getattr(PluginHost, n) for n in host_functions} == host_functions
    assert tracer.features.compute_features is compute_features
    assert (verify.verify_release, revocation.write_kill_list) == registry_functions
    # 3. what each attack met inside its box
    last = {k: v[-1] for k, v in results.items()}
    assert last["acme:ctypes_libc"]["system_rc"] != 0  # sh could not be started
    assert "blocked" in last["acme:posix_subprocess"]  # fork refused (EPERM)
    assert "PermissionError" in last["acme:posix_subprocess"]["blocked"]
    assert "WROTE" not in last["acme:dir_fd_write"].values()
    assert last["acme:dir_fd_write"]["/scratch"] == "scratch ok"  # its own scratch only
    secrets = last["acme:read_secrets"]
    # only the box's own PID 1 (bwrap, started with nothing but PATH) is readable
    assert [path for path, _ in secrets["read"]] in ([], ["/proc/1/environ"])
    assert secrets["env"] == [] and secrets["uid"] == 65534
    everything = json.dumps(results)
    for token in ("s3cr3t", "PRIVATE KEY", "4111", "SQLite format", "root:"):
        assert token not in everything, token
    # the home folder holds nothing but the way to a bound Python installation (if any)
    from tracer.runner.sandbox import python_paths

    leading = {p.relative_to("/root").parts[0] for p in python_paths(settings)
               if p.is_relative_to("/root")}
    assert set(secrets["root_home"] or []) <= leading
    assert int(max(secrets["pids"], key=int)) < 10  # its own PID namespace
    network = last["acme:network"]
    assert network["connect"] != "CONNECTED" and network["raw_socket_fd"] == -1
    assert "marker" not in last["acme:time_bomb"] and "blocked" in last["acme:time_bomb"]
    assert last["acme:sandbox_sleeper"] == {"quiet": True}
    # 4. one runner per tenant (pids inside the boxes are namespaced: compare host-side)
    assert {r["tenant"] for r in runners} >= {"acme", "globex"}
    assert len({r["pid"] for r in runners}) == len(runners)
    print("\nattack suite (serving, last answer per attack, tenant acme):")
    for name in PAYLOADS:
        print(f"  {name:18} {last[f'acme:{name}']}")
    print("payloads that ran outside a runner: 0; platform state changed by a plugin: 0")
