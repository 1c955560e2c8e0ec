"""Key hygiene over HTTP: a control character in a key name and the key cap are refused
as problems, and nothing is stored."""

from __future__ import annotations

from sqlalchemy import func, select
from tracer.db import session
from tracer.models import ApiKey
from tracer.settings import ApiSettings

MAX_ACTIVE_KEYS = ApiSettings.model_fields["max_active_keys"].default


def _keys(store) -> int:
    with session(store.settings) as s:
        return s.scalar(select(func.count()).select_from(ApiKey))


def test_key_names_with_control_characters_and_keys_over_the_cap_are_refused(
        client, make_caller, store):
    caller = make_caller("acme")
    forged = client.post("/v1/keys", headers=caller.headers,
                         json={"name": "ci\nkey revoked by admin"})
    assert forged.status_code == 422
    assert "control or format characters (found U+000A)" in forged.json()["detail"]
    assert _keys(store) == 1
    for number in range(MAX_ACTIVE_KEYS - 1):
        assert client.post("/v1/keys", headers=caller.headers,
                           json={"name": f"k{number}"}).status_code == 201
    over = client.post("/v1/keys", headers=caller.headers, json={"name": "one more"})
    assert over.status_code == 409
    assert f"the most allowed ({MAX_ACTIVE_KEYS})" in over.json()["detail"]
    assert _keys(store) == MAX_ACTIVE_KEYS
