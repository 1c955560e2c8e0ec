"""Bad input: problem JSON naming what and where; limits named; nothing partially saved."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.api.conftest import LOL, enable, records_of, train_champion


@pytest.fixture
def acme(client, make_caller):
    caller = make_caller("acme")
    enable(client, caller)
    return caller


def test_record_errors_name_the_index_and_field(client, acme, host, store, lol_reference):
    train_champion(host, store, "acme", lol_reference.head(600))
    records = records_of(lol_reference.tail(3))
    records[1]["blueKills"] = "lots"
    records[2]["redDragons"] = -1
    answer = client.post(f"/v1/domains/{LOL}/predict", headers=acme.headers,
                         json={"records": records})
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert [(e["index"], e["field"]) for e in problem["errors"]] == [
        (1, "blueKills"), (2, "redDragons")]
    assert problem["detail"].startswith("records[1].blueKills: ")
    assert "greater than or equal to 0" in problem["errors"][1]["message"]
    shape = client.post(f"/v1/domains/{LOL}/predict", headers=acme.headers,
                        json={"records": [records[0], 7]})
    assert shape.status_code == 422 and shape.json()["errors"][0]["where"] == "records[1]"


def test_batch_and_body_limits_are_named(client, acme, store, lol_reference):
    store.settings.api.max_batch_rows = 5
    batch = client.post(f"/v1/domains/{LOL}/predict", headers=acme.headers,
                        json={"records": records_of(lol_reference.head(6))})
    assert batch.status_code == 413
    assert batch.json()["setting"] == "api.max_batch_rows" and batch.json()["limit"] == 5
    store.settings.api.max_body_bytes = 4096
    big = client.post(f"/v1/domains/{LOL}/predict", headers=acme.headers,
                      content=b'{"records": [' + b"1," * 5000 + b"1]}")
    assert big.status_code == 413 and big.json()["setting"] == "api.max_body_bytes"
    assert "4,096 bytes" in big.json()["detail"]
    chunked = client.post(f"/v1/domains/{LOL}/predict", headers=acme.headers,
                          content=(b"x" * 1000 for _ in range(10)))
    assert chunked.status_code == 413


def test_deep_json_is_a_400_problem_not_a_crash(client, acme):
    deep = b"[" * 100_000 + b"]" * 100_000
    answer = client.post(f"/v1/domains/{LOL}/predict", headers=acme.headers, content=deep)
    assert answer.status_code in (400, 422)
    assert answer.headers["content-type"] == "application/problem+json"


def test_unknown_domain_and_disabled_domain(client, make_caller):
    caller = make_caller("acme")
    unknown = client.post("/v1/domains/nope/none/predict", headers=caller.headers,
                          json={"record": {}})
    assert unknown.status_code == 404 and "unknown domain" in unknown.json()["detail"]
    client.post(f"/v1/domains/{LOL}/install", headers=caller.headers)
    installed = client.post(f"/v1/domains/{LOL}/predict", headers=caller.headers,
                            json={"record": {}})
    assert installed.status_code == 409 and "not enabled" in installed.json()["detail"]


def test_bad_upload_is_refused_with_rows_and_columns_and_nothing_is_saved(
        client, acme, store, lol_reference):
    from tracer.db import session
    from tracer.models import Dataset

    frame = lol_reference.head(80).astype(object)
    frame.loc[4, "blueKills"] = "many"
    frame.loc[9, "blueWins"] = None
    bad = client.post(f"/v1/domains/{LOL}/datasets", headers=acme.headers,
                      files={"file": ("games.csv", frame.to_csv(index=False), "text/csv")})
    assert bad.status_code == 422
    assert {(e["row"], e["column"]) for e in bad.json()["errors"]} == {
        (5, "blueKills"), (10, "blueWins")}
    missing = client.post(f"/v1/domains/{LOL}/datasets", headers=acme.headers,
                          files={"file": ("g.csv", frame.drop(columns=["redKills"]).to_csv(),
                                          "text/csv")})
    assert missing.status_code == 422 and "redKills" in missing.json()["detail"]
    garbage = client.post(f"/v1/domains/{LOL}/datasets", headers=acme.headers,
                          files={"file": ("g.parquet", b"PAR1 not really", "x")})
    assert garbage.status_code == 422
    tenant_dir = store.settings.data_dir / "tenants" / "acme"
    with session(store.settings) as s:
        assert s.scalar(select(func.count()).select_from(Dataset)) == 0
    assert not tenant_dir.exists() or list(tenant_dir.iterdir()) == []
    good = client.post(f"/v1/domains/{LOL}/datasets", headers=acme.headers,
                       files={"file": ("games.parquet", lol_reference.head(80).to_parquet(),
                                       "application/octet-stream")})
    assert good.status_code == 201
    assert good.json()["rows"] == 80
    assert good.json()["positives"] == int(lol_reference.head(80)["blueWins"].sum())
    assert len(list(tenant_dir.iterdir())) == 1
