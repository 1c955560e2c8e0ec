"""Group commit keeps every promise of a one-request transaction (SQLite and PostgreSQL):
each answered prediction is stored with its usage event before the answer leaves, a refused
write leaves no trace and does not sink its group, retries are metered once, and a killed
server loses no acknowledged prediction."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import Future

import httpx
import pytest
from sqlalchemy import func, select

from tests.api.conftest import LOL, enable, records_of, train_champion


@pytest.fixture
def served(client, make_caller, host, store, lol_reference):
    caller = make_caller("acme")
    enable(client, caller)
    train_champion(host, store, "acme", lol_reference.head(600))
    return caller


def _stored(settings, tenant="acme"):
    from tracer.db import session
    from tracer.models import StoredPrediction, UsageEvent

    with session(settings) as s:
        ids = set(s.scalars(select(StoredPrediction.id).where(
            StoredPrediction.tenant_id == tenant)))
        metered = s.scalar(select(func.coalesce(func.sum(UsageEvent.quantity), 0)).where(
            UsageEvent.tenant_id == tenant, UsageEvent.kind == "prediction"))
    return ids, int(metered)


def _write(app, record, key=None, tenant="acme"):
    """A scored, not yet committed prediction, as the service hands it to the writer
    (scored by acme's champion, then addressed to ``tenant``)."""
    from tracer.api.answering import Ask

    service = app.state.platform.predictions
    ask = Ask("acme", LOL, [record], True, key=key)
    write = service._score(ask, app.state.platform.host.domain(LOL), [record])
    write.tenant_id = tenant
    write.rows = [dict(row, tenant_id=tenant) for row in write.rows]
    write.key, write.route, write.digest = key, f"predict {LOL}", f"digest-{key}"
    write.future = Future()
    return write


def test_a_group_commits_together_and_a_refused_write_does_not_sink_it(
        app, client, served, make_caller, lol_reference, store):
    record = records_of(lol_reference.tail(1))[0]
    other = make_caller("beta")  # installed nothing: its write is refused in the group
    writer = app.state.platform.predictions.writer
    group = [_write(app, record), _write(app, record, tenant="beta"), _write(app, record),
             _write(app, record, key="k1"), _write(app, record, key="k1")]
    writer.commit(group)
    outcomes = [w.future.exception(timeout=10) or w.future.result() for w in group]
    assert "not installed" in str(outcomes[1])
    committed = [o for i, o in enumerate(outcomes) if i != 1]
    assert all(o.status_code == 200 for o in committed)
    # the retry inside the group got the first answer and no usage of its own
    assert outcomes[4].response == outcomes[3].response and outcomes[4].usage is None
    ids, metered = _stored(store.settings)
    assert ids == {o.response["predictions"][0]["prediction_id"] for o in committed[:3]}
    assert metered == 3
    assert _stored(store.settings, other.tenant) == (set(), 0)


def test_a_failing_group_is_retried_write_by_write(app, served, lol_reference, store):
    record = records_of(lol_reference.tail(1))[0]
    writer = app.state.platform.predictions.writer
    first = _write(app, record)
    writer.commit([first])
    duplicate = _write(app, record)  # reuses a stored prediction id: its INSERT fails
    duplicate.rows = [dict(duplicate.rows[0], id=first.rows[0]["id"])]
    good = _write(app, record)
    writer.commit([duplicate, good])
    assert good.future.result(timeout=10).status_code == 200
    assert duplicate.future.exception(timeout=10) is not None
    ids, metered = _stored(store.settings)
    assert ids == {first.rows[0]["id"], good.rows[0]["id"]} and metered == 2


def test_concurrent_requests_with_one_key_share_one_answer_and_one_charge(
        app, served, lol_reference, store):
    from tracer.api.answering import Ask

    service = app.state.platform.predictions
    record = records_of(lol_reference.tail(1))[0]

    async def race():
        ask = Ask("acme", LOL, [record], True, key="race-7")
        return await asyncio.gather(*(service.answer(ask) for _ in range(12)))

    answers = asyncio.run(race())
    assert len({a.response["predictions"][0]["prediction_id"] for a in answers}) == 1
    assert _stored(store.settings)[1] == 1
    assert service.writer.writes >= 1


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_killed_server_loses_no_acknowledged_prediction(served, store, lol_reference):
    port = _free_port()
    env = {**os.environ, "TRACER_HOME": str(store.settings.home),
           "TRACER_API__WORKERS": "1"}
    if store.settings.database_url:
        env["TRACER_DATABASE_URL"] = store.settings.database_url
    server = subprocess.Popen([sys.executable, "-m", "tracer.cli", "serve", "--port",
                               str(port)], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(400):
            try:
                httpx.get(f"{base}/openapi.json", timeout=2)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stderr.read().decode()[-2000:]
                time.sleep(0.25)
        acknowledged: list[str] = []
        lock = threading.Lock()
        bodies = [{"record": r} for r in records_of(lol_reference.tail(50))]

        def client(offset: int) -> None:
            with httpx.Client(base_url=base, headers=served.headers, timeout=30) as c:
                for i in range(1000):
                    try:
                        answer = c.post(f"/v1/domains/{LOL}/predict",
                                        json=bodies[(offset + i) % len(bodies)])
                    except httpx.TransportError:
                        return  # the server is gone
                    assert answer.status_code == 200, answer.text
                    with lock:
                        acknowledged.append(answer.json()["predictions"][0]["prediction_id"])

        threads = [threading.Thread(target=client, args=(k * 7,)) for k in range(6)]
        for t in threads:
            t.start()
        while len(acknowledged) < 60 and all(t.is_alive() for t in threads):
            time.sleep(0.05)
        server.send_signal(signal.SIGKILL)  # mid-load: groups in flight die with it
        for t in threads:
            t.join()
    finally:
        if server.poll() is None:
            server.kill()
        server.wait()
    assert len(acknowledged) >= 60
    ids, metered = _stored(store.settings)
    assert set(acknowledged) <= ids  # every answer a client got is stored ...
    assert metered == len(ids)  # ... and every stored prediction is metered, once
