"""A platform database that does not answer (restarted, failed over) is a 503 problem the
client may retry, never a 500: here the app's database URL names a PostgreSQL port where
nothing listens, a real refused connection."""

from __future__ import annotations

import socket


def test_a_database_that_refuses_connections_is_a_503_problem_with_retry_after(
        client, make_caller, store):
    caller = make_caller("acme")
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    store.settings.database_url = f"postgresql+psycopg://nobody@127.0.0.1:{port}/gone"
    store.settings.api.auth_cache_seconds = 0
    answer = client.get("/v1/usage", headers=caller.headers)
    assert answer.status_code == 503, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.headers["retry-after"] == "1"
    body = answer.json()
    assert body["type"].endswith("/unavailable") and "Idempotency-Key" in body["detail"]
    assert "Traceback" not in answer.text and "psycopg" not in answer.text
