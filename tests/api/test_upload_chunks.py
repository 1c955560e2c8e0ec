"""Dataset uploads are validated and written chunk by chunk (``tracer.uploads.iter_upload``,
``tracer.datasets.store_dataset``): a bad value in a later chunk is named by its row in the
file and leaves nothing stored; classes are judged over the whole file, not per chunk; the
stored dataset is every row, in order. Chunks of 50 rows here (the platform's are 50,000),
so a small file spans several."""

from __future__ import annotations

import pytest

from tests.api.conftest import LOL, enable
from tests.api.test_hostile_input import assert_problem, snapshot


@pytest.fixture
def acme(client, make_caller, monkeypatch):
    monkeypatch.setattr("tracer.uploads.CHUNK_ROWS", 50)
    caller = make_caller("acme")
    enable(client, caller)
    return caller


def _send(client, caller, frame, name="games.csv"):
    body = frame.to_parquet(index=False) if name.endswith(".parquet") else frame.to_csv(
        index=False)
    return client.post(f"/v1/domains/{LOL}/datasets", headers=caller.headers,
                       files={"file": (name, body, "application/octet-stream")})


@pytest.mark.parametrize("name", ["games.csv", "games.parquet"])
def test_a_multi_chunk_upload_is_stored_whole(client, acme, store, lol_reference, name):
    from tracer.datasets import load_dataset

    frame = lol_reference.head(170).reset_index(drop=True)
    answer = _send(client, acme, frame, name)
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["rows"] == 170 and body["positives"] == int(frame["blueWins"].sum())
    stored = load_dataset(store.settings, "acme", body["id"])
    assert len(stored) == 170
    assert stored["blueWins"].tolist() == frame["blueWins"].tolist()
    assert stored["blueTotalGold"].tolist() == frame["blueTotalGold"].astype(float).tolist()


def test_a_bad_value_in_a_later_chunk_names_its_row_in_the_file(client, acme, store,
                                                                lol_reference):
    frame = lol_reference.head(170).astype(object).reset_index(drop=True)
    frame.loc[123, "blueTotalGold"] = "inf"
    before = snapshot(store.settings)
    problem = assert_problem(_send(client, acme, frame), 422, "blueTotalGold", "row 124")
    assert problem["errors"][0]["row"] == 124
    assert snapshot(store.settings) == before
    assert not list((store.settings.data_dir / "tenants").rglob("*.*")), "no file kept"


def test_classes_are_judged_over_the_whole_file(client, acme, store, lol_reference):
    frame = lol_reference.head(200).sort_values("blueWins", kind="stable").reset_index(
        drop=True)  # every chunk but one holds one class only: the file holds both
    assert frame["blueWins"].head(50).nunique() == 1
    assert _send(client, acme, frame).status_code == 201
    before = snapshot(store.settings)
    one = frame[frame["blueWins"] == 1].head(120)
    assert_problem(_send(client, acme, one), 422, "only one class")
    third = frame.copy()
    third.loc[len(third) - 1, "blueWins"] = 2  # a third value, in the last chunk only
    assert_problem(_send(client, acme, third), 422, "distinct values")
    assert snapshot(store.settings) == before
