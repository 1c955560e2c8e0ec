"""The predict route's direct path (common requests, no dependency solving) answers exactly
as the declared route does; whatever it does not take goes the declared way."""

from __future__ import annotations

import json

import pytest

from tests.api.conftest import LOL, enable, records_of, train_champion


@pytest.fixture
def acme(client, make_caller, host, store, lol_reference):
    caller = make_caller("acme")
    enable(client, caller)
    train_champion(host, store, "acme", lol_reference.head(600))
    return caller


def _post(client, caller, body, query="", content_type="application/json", **headers):
    return client.post(f"/v1/domains/{LOL}/predict{query}", content=json.dumps(body),
                       headers={**caller.headers, "content-type": content_type, **headers})


def _shape(answer):
    """An answer without what differs between two requests (ids)."""
    body = answer.json()
    for p in body.get("predictions", []):
        p.pop("prediction_id")
    return answer.status_code, body


def test_direct_and_declared_requests_get_the_same_answers(client, acme, lol_reference):
    record = records_of(lol_reference.tail(1))[0]
    body = {"record": record}
    direct = _post(client, acme, body, "?top=3&explain=true")
    # neither canonical query values nor this content type take the direct path
    declared = _post(client, acme, body, "?top=03&explain=True",
                     content_type="application/json; charset=utf-8")
    assert direct.status_code == 200 and len(direct.json()["predictions"][0]["factors"]) == 3
    assert _shape(direct) == _shape(declared)
    plain = _post(client, acme, body, "?explain=false")
    assert "factors" not in plain.json()["predictions"][0]
    assert _shape(plain) == _shape(_post(client, acme, body, "?explain=0"))


@pytest.mark.parametrize(("body", "query"), [
    ({"record": {"blueKills": "lots"}}, ""),  # a record that does not fit
    ({"record": {}, "records": [{}]}, ""),  # both forms
    ({"recrod": {}}, ""),  # an unknown body field
    ({"records": []}, ""),  # an empty batch
    ({"record": {}}, "?top=0"),  # a query value out of range
    ({"record": {}}, "?tops=3"),  # an unknown query parameter is ignored, as declared
])
def test_errors_are_the_declared_routes_problems(client, acme, body, query):
    direct = _post(client, acme, body, query)
    declared = _post(client, acme, body, query, content_type="application/json; charset=utf-8")
    assert direct.status_code == declared.status_code != 200
    assert direct.headers["content-type"] == "application/problem+json"
    assert direct.json() == declared.json()


def test_keys_and_bodies_the_direct_path_does_not_take(client, acme, make_caller):
    for headers in ({"Authorization": "Bearer trk_nope_nope"}, {"Authorization": "Basic x"},
                    {"Authorization": ""}):
        answer = client.post(f"/v1/domains/{LOL}/predict", content=b'{"record": {}}',
                             headers={"content-type": "application/json", **headers})
        assert answer.status_code == 401
        assert answer.headers["content-type"] == "application/problem+json"
    admin = make_caller(None, role="admin")
    assert _post(client, admin, {"record": {}}).status_code == 403
    broken = client.post(f"/v1/domains/{LOL}/predict", content=b'{"record": ',
                         headers={**acme.headers, "content-type": "application/json"})
    assert broken.status_code == 422 and broken.json()["errors"]
