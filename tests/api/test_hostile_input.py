"""Hand-made hostile input (issue 18): each case once answered a 500, stored something
invalid or blew up memory. Now each is a 4xx problem naming what and where, and every
table of the platform database is exactly as it was before the refused request."""

from __future__ import annotations

import gzip
import io
import json
import threading

import pytest

from tests.api.conftest import LOL, enable, records_of, train_champion

HUGE = "1" * 400  # a 400-digit integer, as JSON text


@pytest.fixture
def acme(client, make_caller):
    caller = make_caller("acme")
    enable(client, caller)
    return caller


@pytest.fixture
def champion(acme, host, store, lol_reference):
    train_champion(host, store, "acme", lol_reference.head(600))
    return acme


def snapshot(settings) -> dict[str, list[tuple]]:
    """Every row of every table, sorted: what a refused request must leave as it was."""
    from sqlalchemy import inspect, text
    from tracer.db import engine_for

    engine = engine_for(settings.platform_db_url)
    with engine.connect() as c:
        return {t: sorted(tuple(map(repr, r)) for r in c.execute(text(f'SELECT * FROM "{t}"')))
                for t in inspect(c).get_table_names()}


def assert_problem(answer, status: int, *words: str) -> dict:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["status"] == status and problem["detail"]
    for word in words:
        assert word in answer.text, (word, answer.text)
    return problem


def raw(client, method: str, path: str, caller, text: str):
    """A body sent exactly as written (NaN, Infinity and 400-digit numbers included)."""
    return client.request(method, path, content=text.encode(),
                          headers={**caller.headers, "Content-Type": "application/json"})


def _batch(lol_reference, n: int) -> list[dict]:
    return records_of(lol_reference.tail(n))


@pytest.mark.parametrize("size", [1, 3, 70])
def test_bad_numbers_and_types_refused_on_every_batch_size(client, acme, store,
                                                           lol_reference, size):
    path = f"/v1/domains/{LOL}/predict"
    before = snapshot(store.settings)
    last = size - 1
    for token, words in ((HUGE, ["blueKills"]), ("Infinity", ["blueKills"]),
                         ("-Infinity", ["blueAvgLevel"]), ("1e309", ["blueAvgLevel"]),
                         ("NaN", ["blueAvgLevel"]), ('"7"', ["blueKills"]),
                         ("true", ["blueKills"])):
        field = words[0]
        records = _batch(lol_reference, size)
        records[last][field] = "@@"
        text = json.dumps({"records": records}).replace('"@@"', token)
        problem = assert_problem(raw(client, "POST", path, acme, text), 422, field)
        assert [(e["index"], e["field"]) for e in problem["errors"]] == [(last, field)], token
        assert problem["errors"][0]["where"] == f"records[{last}].{field}"
    assert snapshot(store.settings) == before


def test_unknown_record_fields_are_refused_by_name(client, acme, store, lol_reference):
    """Records are validated before the champion is looked up: no model is needed here."""
    before = snapshot(store.settings)
    for size in (1, 70):
        records = _batch(lol_reference, size)
        records[-1]["blueKillz"] = 3
        problem = assert_problem(client.post(f"/v1/domains/{LOL}/predict",
                                             headers=acme.headers,
                                             json={"records": records}), 422, "blueKillz")
        assert problem["errors"][0]["index"] == size - 1
    assert snapshot(store.settings) == before


def test_both_paths_answer_the_same(client, champion, lol_reference):
    """The >64 path is the same validation as the small one: the same records score the
    same whatever the batch size."""
    records = _batch(lol_reference, 70)
    small = client.post(f"/v1/domains/{LOL}/predict", headers=champion.headers,
                        json={"records": records[:3]})
    large = client.post(f"/v1/domains/{LOL}/predict", headers=champion.headers,
                        json={"records": records})
    assert small.status_code == 200 == large.status_code, (small.text, large.text)
    assert [p["probability"] for p in small.json()["predictions"]] == pytest.approx(
        [p["probability"] for p in large.json()["predictions"][:3]])


def test_dataset_csv_with_huge_or_infinite_numbers(client, acme, store, lol_reference):
    before = snapshot(store.settings)
    for token in (HUGE, "inf", "-inf", "1e309"):
        frame = lol_reference.head(40).astype(object)
        frame.loc[7, "blueTotalGold"] = token
        answer = client.post(f"/v1/domains/{LOL}/datasets", headers=acme.headers,
                             files={"file": ("games.csv", frame.to_csv(index=False),
                                             "text/csv")})
        problem = assert_problem(answer, 422, "blueTotalGold", "row 8")
        assert problem["errors"][0]["row"] == 8
    assert snapshot(store.settings) == before
    assert not list((store.settings.data_dir / "tenants").glob("*/*")) if (
        store.settings.data_dir / "tenants").exists() else True


def test_gzip_bomb_is_bounded_by_decompressed_size(client, acme, store, lol_reference):
    store.settings.api.max_upload_expanded_bytes = 2_000_000
    header = lol_reference.head(0).to_csv(index=False).encode()
    body = io.BytesIO()
    with gzip.GzipFile(fileobj=body, mode="wb") as z:
        z.write(header)
        for _ in range(20):  # 20 MB of padding: 20 kB compressed
            z.write(b" " * 1_000_000)
    assert len(body.getvalue()) < 100_000
    before = snapshot(store.settings)
    answer = client.post(f"/v1/domains/{LOL}/datasets", headers=acme.headers,
                         files={"file": ("games.csv.gz", body.getvalue(), "application/gzip")})
    problem = assert_problem(answer, 413, "api.max_upload_expanded_bytes")
    assert problem["setting"] == "api.max_upload_expanded_bytes"
    assert snapshot(store.settings) == before
    tenants = store.settings.data_dir / "tenants"
    assert not (tenants.exists() and list(tenants.rglob("*.*"))), "no file kept"
    truncated = body.getvalue()[:-100]  # a cut gzip stream is bad input, not a 500
    answer = client.post(f"/v1/domains/{LOL}/datasets", headers=acme.headers,
                         files={"file": ("games.csv.gz", truncated, "application/gzip")})
    assert 400 <= answer.status_code < 500 and "application/problem+json" in answer.headers[
        "content-type"], answer.text
    assert snapshot(store.settings) == before


def test_upload_row_limit(client, acme, store, lol_reference):
    store.settings.api.max_upload_rows = 50
    before = snapshot(store.settings)
    answer = client.post(f"/v1/domains/{LOL}/datasets", headers=acme.headers,
                         files={"file": ("games.csv", lol_reference.head(51).to_csv(index=False),
                                         "text/csv")})
    assert_problem(answer, 413, "api.max_upload_rows")
    assert snapshot(store.settings) == before


def test_retraining_policy_numbers(client, acme, store):
    path = f"/v1/domains/{LOL}/retraining-policy"
    before = snapshot(store.settings)
    for text, field in ((f'{{"min_new_outcomes": {HUGE}}}', "min_new_outcomes"),
                        ('{"min_new_outcomes": 1e400}', "min_new_outcomes"),
                        ('{"drift_threshold": Infinity}', "drift_threshold"),
                        ('{"drift_threshold": NaN}', "drift_threshold")):
        assert_problem(raw(client, "PUT", path, acme, text), 422, field)
    assert snapshot(store.settings) == before
    ok = raw(client, "PUT", path, acme, '{"min_new_outcomes": 1000000, "drift_threshold": 5}')
    assert ok.status_code == 200 and ok.json()["drift_threshold"] == 5


def test_nan_in_training_params_creates_no_job(client, acme, store):
    before = snapshot(store.settings)
    for text in ('{"params": {"max_depth": NaN}}', '{"params": {"eta": Infinity}}',
                 f'{{"params": {{"max_depth": {HUGE}}}}}'):
        assert_problem(raw(client, "POST", f"/v1/domains/{LOL}/jobs", acme, text), 422,
                       "params")
    assert snapshot(store.settings) == before
    assert client.get("/v1/jobs", headers=acme.headers).json()["jobs"] == []


def test_invalid_install_spec_version(client, acme, store):
    before = snapshot(store.settings)
    for spec in ("tracer-esports==not a version", "tracer-esports==1..2", "x==" + "9" * 5000):
        answer = client.post("/v1/installs", headers=acme.headers, json={"spec": spec})
        assert 400 <= answer.status_code < 500, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert "spec" in answer.text
    assert snapshot(store.settings) == before


def test_malformed_reviewer_pem(client, make_caller, store):
    admin = make_caller(role="admin")
    before = snapshot(store.settings)
    for pem in ("-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----\n", "x",
                "-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----"):
        answer = client.post("/v1/certification/reviewer-keys", headers=admin.headers,
                             json={"reviewer": "rita", "public_pem": pem})
        assert_problem(answer, 400, "public_pem")
    assert snapshot(store.settings) == before


def test_concurrent_feedback_retries_with_one_key(client, champion, store, lol_reference):
    answer = client.post(f"/v1/domains/{LOL}/predict", headers=champion.headers,
                         json={"records": _batch(lol_reference, 4)})
    body = {"outcomes": [{"prediction_id": p["prediction_id"], "outcome": 1}
                         for p in answer.json()["predictions"]]}
    headers = {**champion.headers, "Idempotency-Key": "retry-me"}
    barrier, answers = threading.Barrier(6), []

    def send():
        barrier.wait()
        answers.append(client.post("/v1/feedback", headers=headers, json=body))

    threads = [threading.Thread(target=send) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(a.status_code for a in answers) == [200] * 6, [a.text for a in answers]
    assert len({tuple(a.json()["outcome_ids"]) for a in answers}) == 1
    from sqlalchemy import func, select
    from tracer.db import session
    from tracer.models import Outcome

    with session(store.settings) as s:
        assert s.scalar(select(func.count()).select_from(Outcome)) == 4


def test_key_names_and_counts(client, acme, store):
    before = snapshot(store.settings)
    for name in ("a\x00b", "x" * 100_000, "bell\x07"):
        assert_problem(client.post("/v1/keys", headers=acme.headers, json={"name": name}),
                       422, "name")
    assert snapshot(store.settings) == before


def test_key_and_name_limits_are_settings(client, acme, make_caller, store):
    """api.max_active_keys and api.max_name_chars bound keys and names; each refusal names its
    setting and stores nothing."""
    admin = make_caller(role="admin")
    store.settings.api.max_active_keys, store.settings.api.max_name_chars = 3, 10
    for number in range(2):  # acme holds one key already
        assert client.post("/v1/keys", headers=acme.headers,
                           json={"name": f"k{number}"}).status_code == 201
    before = snapshot(store.settings)
    over = assert_problem(client.post("/v1/keys", headers=acme.headers, json={"name": "k3"}),
                          409, "api.max_active_keys")
    assert over["setting"] == "api.max_active_keys" and over["limit"] == 3
    long = assert_problem(client.post("/v1/keys", headers=acme.headers,
                                      json={"name": "x" * 11}), 422, "api.max_name_chars", "name")
    assert long["limit"] == 10
    for body in ({"id": "nul", "name": "a\x00b", "tier": "starter"},
                 {"id": "newline", "name": "a\nb", "tier": "starter"},
                 {"id": "long", "name": "y" * 11, "tier": "starter"}):
        assert_problem(client.post("/v1/admin/tenants", headers=admin.headers, json=body),
                       422, "name")
    assert_problem(client.post("/v1/admin/keys", headers=admin.headers, json={
        "role": "publisher", "subject": "pub\u202eexe"}), 422, "subject")
    assert snapshot(store.settings) == before


def test_outcomes_and_counts_have_upper_bounds(client, champion, store):
    before = snapshot(store.settings)
    too_many = {"outcomes": [{"prediction_id": "p", "outcome": 1}] * 10_001}
    assert_problem(client.post("/v1/feedback", headers=champion.headers, json=too_many),
                   422, "outcomes")
    odd = raw(client, "POST", "/v1/feedback", champion,
              f'{{"outcomes": [{{"prediction_id": "p", "outcome": {HUGE}}}]}}')
    assert_problem(odd, 422, "outcome")
    assert snapshot(store.settings) == before


def test_an_unexpected_error_is_a_problem_and_the_connection_stays_usable(app, make_caller):
    """Over one raw socket: the 500 problem, then a valid request on the same connection."""
    import socket

    from tests.api.live import serving

    def boom() -> None:
        raise RuntimeError("a bug no handler knows")

    app.add_api_route("/v1/test-boom", boom, methods=["GET"])
    caller = make_caller("acme")
    with serving(app) as url:
        host, port = url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port))) as sock:
            stream = sock.makefile("rb")

            def ask(path: str) -> tuple[int, dict[str, str], bytes]:
                sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer "
                             f"{caller.key}\r\n\r\n".encode())
                status = int(stream.readline().split()[1])
                headers = {}
                while (line := stream.readline().decode().strip()):
                    name, _, value = line.partition(":")
                    headers[name.lower()] = value.strip()
                return status, headers, stream.read(int(headers["content-length"]))

            status, headers, body = ask("/v1/test-boom")
            assert status == 500 and headers["content-type"] == "application/problem+json"
            assert b"RuntimeError" in body and b"a bug" not in body
            assert headers.get("connection") != "close"
            status, _, body = ask("/v1/domains")  # the same connection, still open
            assert status == 200 and b"esports/lol-10min" in body


def test_drift_of_a_version_never_registered_is_a_404(client, champion, store):
    # the stateful fuzzer found it: MLflow's "not found" answered 500
    answer = client.get(f"/v1/domains/{LOL}/drift", headers=champion.headers,
                        params={"version": 725})
    assert_problem(answer, 404, "725")
