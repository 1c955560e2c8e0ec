"""The retraining policy: PUT replaces the whole policy, PATCH changes only what it sends."""

from __future__ import annotations

from tests.api.conftest import LOL, enable

URL = f"/v1/domains/{LOL}/retraining-policy"


def test_patch_keeps_fields_left_out_and_put_replaces(client, make_caller):
    acme = make_caller("acme")
    enable(client, acme)
    created = client.patch(URL, headers=acme.headers, json={"drift_threshold": 0.3})
    assert created.status_code == 200
    assert created.json()["drift_threshold"] == 0.3 and created.json()["drift_window"] == 500
    client.patch(URL, headers=acme.headers, json={"min_new_outcomes": 200,
                                                  "cooldown_hours": 48, "tenant_weight": 2})
    kept = client.patch(URL, headers=acme.headers, json={"drift_window": 800}).json()
    assert (kept["drift_threshold"], kept["min_new_outcomes"], kept["cooldown_hours"],
            kept["tenant_weight"], kept["drift_window"]) == (0.3, 200, 48, 2, 800)
    # null turns a trigger off; a field a policy cannot be without refuses null
    off = client.patch(URL, headers=acme.headers, json={"min_new_outcomes": None}).json()
    assert off["min_new_outcomes"] is None and off["drift_threshold"] == 0.3
    refused = client.patch(URL, headers=acme.headers, json={"enabled": None})
    assert refused.status_code == 422 and "enabled" in refused.json()["detail"]
    unknown = client.patch(URL, headers=acme.headers, json={"drift_episode": "x"})
    assert unknown.status_code == 422
    assert client.get(URL, headers=acme.headers).json() == {
        **off, "updated_at": client.get(URL, headers=acme.headers).json()["updated_at"]}
    # PUT is a full replace: every field left out takes its default
    replaced = client.put(URL, headers=acme.headers, json={"min_new_outcomes": 50}).json()
    assert (replaced["min_new_outcomes"], replaced["drift_threshold"],
            replaced["drift_window"], replaced["cooldown_hours"],
            replaced["tenant_weight"]) == (50, None, 500, None, None)
