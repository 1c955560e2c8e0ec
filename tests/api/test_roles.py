"""Function-level authorization: every route admits only its roles; bodies cannot assign
server-decided fields (mass assignment)."""

from __future__ import annotations

import re

from tests.api.conftest import LOL, api_routes


def _roles(dependant) -> set[str] | None:
    """The roles a route's dependency tree admits (None: any valid key or no key)."""
    for dep in dependant.dependencies:
        roles = getattr(dep.call, "roles", None)
        if roles is not None:
            return set(roles)
        inner = _roles(dep)
        if inner is not None:
            return inner
    return None


def _url(path: str) -> str:
    return re.sub(r"\{(\w+)(:path)?\}", lambda m: LOL if m.group(1) == "domain" else "x1", path)


def test_tenant_keys_get_403_on_every_publisher_reviewer_and_admin_route(app, client,
                                                                          make_caller):
    tenant = make_caller("acme")
    tried = succeeded = 0
    for path, methods, dependant in api_routes(app):
        roles = _roles(dependant)
        if roles is None or "tenant" in roles:
            continue
        for method in methods:
            response = client.request(method, _url(path), headers=tenant.headers, json={})
            tried += 1
            succeeded += response.status_code < 400
            assert response.status_code == 403, (method, path, response.text)
            assert response.headers["content-type"] == "application/problem+json"
    print(f"privileged routes tried with a tenant key: {tried}, succeeded: {succeeded}")
    assert tried >= 5 and succeeded == 0


def test_non_tenant_keys_get_403_on_tenant_routes(client, make_caller):
    for role in ("publisher", "reviewer", "admin"):
        caller = make_caller(None, role=role)
        response = client.get("/v1/usage", headers=caller.headers)
        assert response.status_code == 403
        assert "role tenant" in response.json()["detail"]


def test_missing_bad_and_revoked_keys_get_the_same_401(client, make_caller):
    caller = make_caller("acme")
    admin = make_caller(None, role="admin")
    assert client.delete(f"/v1/admin/keys/{caller.key_id}", headers=admin.headers
                         ).status_code == 200
    answers = [client.get("/v1/usage", headers=h) for h in (
        {}, {"Authorization": "Bearer trk_nope_nope"}, caller.headers,
        {"Authorization": "Basic dXNlcjpwYXNz"})]
    assert [a.status_code for a in answers] == [401, 401, 401, 401]
    assert len({a.json()["detail"] for a in answers}) == 1
    assert all(a.headers["www-authenticate"] == "Bearer" for a in answers)
    assert caller.key not in answers[2].text


def test_mass_assignment_of_role_tenant_or_tier_is_refused(client, make_caller, store):
    from sqlalchemy import select
    from tracer.db import session
    from tracer.models import ApiKey

    caller = make_caller("acme")
    make_caller("other")
    for body in ({"name": "x", "role": "admin"}, {"name": "x", "tenant_id": "other"},
                 {"name": "x", "subject": "root"}):
        response = client.post("/v1/keys", headers=caller.headers, json=body)
        assert response.status_code == 422, body
        field = next(k for k in body if k != "name")
        assert response.json()["errors"][0]["field"] == field
    for body in ({"use_reference": True, "tenant_id": "other"}, {"tier": "enterprise"}):
        response = client.post(f"/v1/domains/{LOL}/jobs", headers=caller.headers, json=body)
        assert response.status_code == 422
    with session(store.settings) as s:
        keys = list(s.scalars(select(ApiKey)))
    assert sorted(k.role for k in keys) == ["tenant", "tenant"]
    own = client.post("/v1/keys", headers=caller.headers, json={"name": "ci"})
    assert own.status_code == 201
    assert own.json()["role"] == "tenant" and own.json()["tenant_id"] == "acme"
    assert own.json()["key"].startswith("trk_")
    listed = client.get("/v1/keys", headers=caller.headers).json()["keys"]
    assert len(listed) == 2 and all(k["key"] is None for k in listed)


def test_admin_creates_tenant_and_issues_key_shown_once_stored_hashed(client, make_caller,
                                                                      store):
    from tracer.db import session
    from tracer.models import ApiKey

    admin = make_caller(None, role="admin")
    created = client.post("/v1/admin/tenants", headers=admin.headers,
                          json={"id": "globex", "name": "Globex", "tier": "starter"})
    assert created.status_code == 201 and created.json()["tier"] == "starter"
    issued = client.post("/v1/admin/keys", headers=admin.headers,
                         json={"role": "tenant", "tenant_id": "globex"}).json()
    with session(store.settings) as s:
        row = s.get(ApiKey, issued["id"])
        assert issued["key"] not in (row.key_hash, row.prefix) and len(row.key_hash) == 64
    usage = client.get("/v1/usage", headers={"Authorization": f"Bearer {issued['key']}"})
    assert usage.status_code == 200 and usage.json()["tenant"] == "globex"
    bad_tier = client.post("/v1/admin/tenants", headers=admin.headers,
                           json={"id": "initech", "name": "I", "tier": "platinum"})
    assert bad_tier.status_code == 422 and "platinum" in bad_tier.json()["detail"]
