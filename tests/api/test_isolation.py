"""Object-level authorization: tenant A's key against every one of tenant B's object ids,
with every verb, answers exactly what a non-existent id answers (404), and B's objects
stay as they were."""

from __future__ import annotations

import re
import uuid

from tests.api.conftest import LOL, api_routes, enable, records_of, train_champion

VERBS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _b_objects(client, host, store, b, lol_reference) -> dict[str, str]:
    from tracer.db import session
    from tracer.jobs import create_job
    from tracer.retraining import record_decision

    enable(client, b)
    train_champion(host, store, b.tenant, lol_reference.head(600))
    answers = client.post(f"/v1/domains/{LOL}/predict", headers=b.headers,
                          json={"records": records_of(lol_reference.tail(2))}).json()
    prediction_id = answers["predictions"][0]["prediction_id"]
    feedback = client.post("/v1/feedback", headers=b.headers, json={"outcomes": [
        {"prediction_id": prediction_id, "outcome": 1}]}).json()
    csv = lol_reference.head(60).to_csv(index=False).encode()
    dataset = client.post(f"/v1/domains/{LOL}/datasets", headers=b.headers,
                          files={"file": ("b.csv", csv, "text/csv")}).json()
    with session(store.settings) as s:
        job = create_job(s, b.tenant, LOL, {"use_reference": True})
        job.status = "succeeded"
        decision = record_decision(s, b.tenant, LOL, "manual", "kept", "kept", {}, job.id)
        ids = {"job_id": job.id, "decision_id": decision.id}
    return {**ids, "prediction_id": prediction_id, "outcome_id": feedback["outcome_ids"][0],
            "dataset_id": dataset["id"], "key_id": b.key_id, "version": "1"}


def _normalise(text: str, *ids: str) -> str:
    for value in ids:
        text = text.replace(value, "<id>")
    text = re.sub(r"/models/\d+/", "/models/<n>/", text)
    return re.sub(r"version \d+", "version <n>", text)


def test_tenant_a_sees_404_for_every_object_of_tenant_b_like_a_missing_one(
        app, client, make_caller, host, store, lol_reference):
    a, b = make_caller("alpha"), make_caller("bravo")
    enable(client, a)
    objects = _b_objects(client, host, store, b, lol_reference)
    tried = leaked = 0
    for path, methods, _ in api_routes(app):
        params = [p for p in re.findall(r"\{(\w+)", path) if p != "domain"]
        if not params or "/admin/" in path or not set(params) <= set(objects):
            continue  # admin routes are role-gated (test_roles); others are not tenant objects
        for verb in VERBS:
            urls = []
            for value in (objects, {k: (str(uuid.uuid4()) if k != "version" else "999")
                                    for k in objects}):
                url = path.replace("{domain:path}", LOL)
                for name in params:
                    url = url.replace("{" + name + "}", value[name])
                urls.append((url, [value[n] for n in params if n != "version"]))
            (theirs, their_ids), (missing, missing_ids) = urls
            got = client.request(verb, theirs, headers=a.headers, json={})
            none = client.request(verb, missing, headers=a.headers, json={})
            tried += 1
            leaked += got.status_code < 400
            assert got.status_code == none.status_code, (verb, path)
            if verb in methods:
                assert got.status_code == 404, (verb, path, got.text)
            assert _normalise(got.text, *their_ids) == _normalise(none.text, *missing_ids)
    # lists never show B's objects either
    for url in ("/v1/datasets", "/v1/jobs", "/v1/keys", "/v1/usage",
                f"/v1/domains/{LOL}/retraining-decisions", f"/v1/domains/{LOL}/models"):
        body = client.get(url, headers=a.headers).text
        tried += 1
        leaked += any(v in body for k, v in objects.items() if k != "version")
    print(f"isolation: {tried} cross-tenant requests, {leaked} answered with B's objects")
    assert tried >= 40 and leaked == 0
    # and B's objects are untouched
    assert client.get(f"/v1/datasets/{objects['dataset_id']}", headers=b.headers
                      ).status_code == 200
    assert client.get("/v1/usage", headers=b.headers).status_code == 200
    assert client.get(f"/v1/domains/{LOL}/models", headers=b.headers
                      ).json()["versions"][0]["aliases"] == ["challenger", "champion"]
