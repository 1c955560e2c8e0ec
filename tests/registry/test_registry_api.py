"""The registry over real HTTP: the app from ``tracer.api.app`` with the workspace plugins
(registry and certification included) behind FastAPI's TestClient.

Publishers register a freshly generated P-256 key and publish key-signed wheels (the
air-gapped path); tenants search, install and set their certification policy; admins
quarantine and revoke; every refusal is an RFC 9457 problem naming what failed. The
validator worker is not launched here (``certify_on_publish`` off): publish only queues
it, which is what these tests pin; tests/e2e runs the worker for real.
"""

from __future__ import annotations

import hashlib
import os

import pytest
from fastapi.testclient import TestClient
from tracer.db import session
from tracer_registry.signing import generate_key, load_private_key, sign_with_key

from tests.registry.artifacts import make_wheel

PROBLEM_FIELDS = {"type", "title", "status", "detail", "instance"}


class Keys(dict):
    def headers(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self[who]}"}


@pytest.fixture
def app(host, store):
    from tracer.api import create_app

    app = create_app(store.settings, host, store)
    app.state.certify_on_publish = False
    return app


@pytest.fixture
def client(app):
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def keys(app) -> Keys:
    from tracer import tenancy

    settings = app.state.settings
    found = Keys()
    with session(settings) as s:
        for tenant in ("t1", "t2"):
            tenancy.create_tenant(s, tenant, tenant.upper(), "professional", settings.tiers)
            found[tenant] = tenancy.issue_key(s, "tenant", tenant_id=tenant)[1]
        for role, subject in (("admin", "ops"), ("publisher", "acme"), ("publisher", "globex"),
                              ("reviewer", "ada")):
            found[subject] = tenancy.issue_key(s, role, subject=subject)[1]
    return found


@pytest.fixture
def acme_key(client, keys, tmp_path):
    """Publisher ``acme`` (created by an admin) with a fresh P-256 key it registered."""
    answer = client.post("/v1/publishers", headers=keys.headers("ops"),
                         json={"id": "acme", "name": "Acme Analytics"})
    assert answer.status_code == 201, answer.text
    public = generate_key(tmp_path / "acme.pem")
    answer = client.post("/v1/publishers/acme/keys", headers=keys.headers("acme"),
                         json={"namespace": "acme-*", "public_pem": public})
    assert answer.status_code == 201, answer.text
    assert answer.json()["namespace"] == "acme-*"
    claimed = client.post("/v1/publishers/acme/domains", headers=keys.headers("acme"),
                          json={"prefix": "acme"})
    assert claimed.status_code == 201, claimed.text
    return load_private_key(tmp_path / "acme.pem"), answer.json()["key_id"]


def post_release(client, keys, who, filename, wheel, bundle, domains="acme/signal"):
    return client.post("/v1/releases", headers=keys.headers(who), data={"domains": domains},
                       files={"wheel": (filename, wheel, "application/octet-stream"),
                              "bundle": (f"{filename}.sigstore.json", bundle,
                                         "application/json")})


def publish_version(client, keys, key, version, **options):
    filename, wheel = make_wheel(version=version, **options)
    answer = post_release(client, keys, "acme", filename, wheel,
                          sign_with_key(wheel, filename, key))
    assert answer.status_code == 201, answer.text
    return answer.json()


def problem(answer, status: int, **expected) -> dict:
    """The RFC 9457 document of a refusal, with the fields the test expects."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    body = answer.json()
    assert body.keys() >= PROBLEM_FIELDS, body
    assert body["status"] == status
    for name, value in expected.items():
        assert body.get(name) == value, (name, body)
    return body


def install(client, keys, tenant, spec="acme-signal"):
    return client.post("/v1/installs", headers=keys.headers(tenant), json={"spec": spec})


def domains_of(client, keys, tenant) -> dict[str, dict]:
    listed = client.get("/v1/domains", headers=keys.headers(tenant)).json()["domains"]
    return {d["name"]: d for d in listed}


def test_a_publisher_publishes_a_key_signed_wheel_and_tenants_find_it_in_the_catalog(
        client, keys, acme_key):
    key, key_id = acme_key
    filename, wheel = make_wheel(version="1.0.0")
    answer = post_release(client, keys, "acme", filename, wheel,
                          sign_with_key(wheel, filename, key))
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert (body["listing"], body["version"], body["method"], body["level"]) == (
        "acme-signal", "1.0.0", "key", "community")
    assert body["sha256"] == hashlib.sha256(wheel).hexdigest()
    assert body["signer"] == f"key:{key_id}"
    # certification is queued, not run inside the upload
    assert body["certification"]["status"] == "pending"

    found = client.get("/v1/catalog", headers=keys.headers("t1")).json()
    assert [(r["name"], r["version"], r["certification_level"], r["domains"], r["publisher"])
            for r in found] == [("acme-signal", "1.0.0", "community", ["acme/signal"], "acme")]
    for query, hits in (({"q": "signal positive"}, 1), ({"q": "weather"}, 0),
                        ({"domain": "acme"}, 1), ({"domain": "esports"}, 0),
                        ({"level": "community"}, 1), ({"level": "certified"}, 0)):
        listed = client.get("/v1/catalog", params=query, headers=keys.headers("t1")).json()
        assert len(listed) == hits, query

    shown = client.get("/v1/catalog/acme-signal", headers=keys.headers("t2")).json()
    assert shown["publisher"]["identity"] == {"method": "key", "signer": f"key:{key_id}",
                                              "issuer": None}
    assert shown["certification"]["level"] == "community"
    assert shown["certification"]["automated"]["status"] == "pending"
    assert [(v["version"], v["status"], v["license"]) for v in shown["versions"]] == [
        ("1.0.0", "active", "Apache-2.0")]
    assert "Predicts whether the signal is positive" in shown["readme"]
    status = client.get("/v1/certification/releases/acme-signal/1.0.0",
                        headers=keys.headers("acme")).json()
    assert (status["status"], status["level"], status["review"]) == (
        "checks-pending", "community", None)
    problem(client.get("/v1/catalog/acme-nothing", headers=keys.headers("t1")), 404)


def _flip(data: bytes) -> bytes:
    changed = bytearray(data)
    changed[len(data) // 2] ^= 0x01
    return bytes(changed)


def test_every_publish_refusal_is_a_problem_naming_the_failed_check_and_stores_nothing(
        client, keys, acme_key, app, tmp_path):
    key, _ = acme_key
    publish_version(client, keys, key, "1.0.0")
    client.post("/v1/publishers", headers=keys.headers("ops"),
                json={"id": "globex", "name": "Globex"})
    globex_public = generate_key(tmp_path / "globex.pem")
    assert client.post("/v1/publishers/globex/keys", headers=keys.headers("globex"),
                       json={"namespace": "globex-*", "public_pem": globex_public}
                       ).status_code == 201
    globex = load_private_key(tmp_path / "globex.pem")
    filename, wheel = make_wheel(version="2.0.0")
    bundle = sign_with_key(wheel, filename, key)
    unregistered = tmp_path / "unregistered.pem"
    generate_key(unregistered)
    old_name, old_wheel = make_wheel(version="1.0.0", body="x = 1")
    attempts = {
        "byte flipped after signing": ("acme", filename, _flip(wheel), bundle, "digest"),
        "bundle signed for another file name": (
            "acme", filename, wheel,
            sign_with_key(wheel, "acme_signal-9.9.9-py3-none-any.whl", key), "name"),
        "empty bundle": ("acme", filename, wheel, b"", "bundle"),
        "signed by an unregistered key": (
            "acme", filename, wheel,
            sign_with_key(wheel, filename, load_private_key(unregistered)), "key"),
        "another publisher's namespace": (
            "globex", filename, wheel, sign_with_key(wheel, filename, globex), "namespace"),
        "a version not newer": ("acme", old_name, old_wheel,
                                sign_with_key(old_wheel, old_name, key), "version"),
    }
    blobs_before = sorted(p.name for p in app.state.settings.blobs.rglob("*") if p.is_file())
    refused = {}
    for attempt, (who, name, data, signature, check) in attempts.items():
        answer = post_release(client, keys, who, name, data, signature)
        body = problem(answer, 400, check=check)
        assert f"({check} check)" in body["detail"], body["detail"]
        assert body["instance"] == "/v1/releases"
        refused[attempt] = body["check"]
    assert len(refused) == 6
    missing = client.post("/v1/releases", headers=keys.headers("acme"),
                          files={"wheel": (filename, wheel, "application/octet-stream")})
    body = problem(missing, 422)
    assert [e["field"] for e in body["errors"]] == ["bundle"]
    after = sorted(p.name for p in app.state.settings.blobs.rglob("*") if p.is_file())
    assert after == blobs_before
    versions = client.get("/v1/catalog/acme-signal", headers=keys.headers("t1")).json()
    assert [v["version"] for v in versions["versions"]] == ["1.0.0"]


def test_wheels_use_the_upload_limit_not_the_json_body_limit(client, keys, acme_key, app):
    key, _ = acme_key
    settings = app.state.settings
    settings.api.max_body_bytes = 4_096
    filename, wheel = make_wheel(version="1.0.0",
                                 extra={"acme_signal/weights.bin": os.urandom(20_000)})
    assert len(wheel) > 5 * settings.api.max_body_bytes
    answer = post_release(client, keys, "acme", filename, wheel,
                          sign_with_key(wheel, filename, key))
    assert answer.status_code == 201, answer.text
    problem(install(client, keys, "t1", "acme-signal" + " " * 5_000), 413,
            setting="api.max_body_bytes")
    settings.api.max_upload_bytes = 10_000
    filename, wheel = make_wheel(version="1.1.0",
                                 extra={"acme_signal/weights.bin": os.urandom(20_000)})
    # refused before the route parses a byte of it, naming the setting that limits it
    body = problem(post_release(client, keys, "acme", filename, wheel,
                                sign_with_key(wheel, filename, key)), 413,
                   setting="api.max_upload_bytes", limit=10_000)
    assert "over the limit of 10,000 bytes" in body["detail"]
    shown = client.get("/v1/catalog/acme-signal", headers=keys.headers("t1")).json()
    assert [v["version"] for v in shown["versions"]] == ["1.0.0"]


def test_a_tenant_installs_over_http_and_the_api_host_serves_the_new_domain(
        client, keys, acme_key):
    key, _ = acme_key
    publish_version(client, keys, key, "1.0.0")
    assert "acme/signal" not in domains_of(client, keys, "t1")
    answer = install(client, keys, "t1")
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert (body["listing"], body["version"], body["previous"], body["domains"]) == (
        "acme-signal", "1.0.0", None, ["acme/signal"])
    mine, theirs = domains_of(client, keys, "t1"), domains_of(client, keys, "t2")
    assert (mine["acme/signal"]["installed"], mine["acme/signal"]["enabled"]) == (True, False)
    assert theirs["acme/signal"]["installed"] is False
    enabled = client.post("/v1/domains/acme/signal/enable", headers=keys.headers("t1"))
    assert enabled.status_code == 200, enabled.text
    assert domains_of(client, keys, "t1")["acme/signal"]["enabled"] is True
    publish_version(client, keys, key, "1.1.0")
    upgraded = install(client, keys, "t1").json()
    assert (upgraded["version"], upgraded["previous"]) == ("1.1.0", "1.0.0")
    problem(install(client, keys, "t1", "acme-signal==3.0.0"), 400, check="index")
    problem(install(client, keys, "t1", "acme-signal>=1"), 400, check="index")


def test_yank_quarantine_and_revoke_over_http_carry_reasons_tenants_and_publishers_read(
        client, keys, acme_key):
    key, _ = acme_key
    for version in ("1.0.0", "1.1.0"):
        publish_version(client, keys, key, version)
    assert install(client, keys, "t1").json()["version"] == "1.1.0"
    assert "acme/signal" in domains_of(client, keys, "t1")

    def act(who, version, action, reason):
        return client.post(f"/v1/releases/acme-signal/{version}/{action}",
                           headers=keys.headers(who), json={"reason": reason})

    yanked = act("acme", "1.1.0", "yank", "breaks on empty frames")
    assert yanked.status_code == 200, yanked.text
    assert yanked.json() == {"listing": "acme-signal", "version": "1.1.0", "status": "yanked",
                             "reason": "breaks on empty frames"}
    assert client.get("/v1/catalog", headers=keys.headers("t2")).json()[0]["version"] == "1.0.0"

    quarantined = act("ops", "1.0.0", "quarantine", "under investigation").json()
    assert (quarantined["status"], quarantined["unloaded"]) == ("quarantined", [])
    body = problem(install(client, keys, "t2"), 400, check="status")
    assert "1.0.0 quarantined: under investigation" in body["detail"]
    assert "1.1.0 yanked: breaks on empty frames" in body["detail"]

    revoked = act("ops", "1.1.0", "revoke", "credential theft").json()
    # the running API host unloads the revoked plugin at once
    assert (revoked["status"], revoked["unloaded"]) == ("revoked", ["acme-signal"])
    assert "acme/signal" not in domains_of(client, keys, "t1")
    body = problem(install(client, keys, "t1", "acme-signal==1.1.0"), 400, check="status")
    assert "revoked: credential theft" in body["detail"]

    shown = client.get("/v1/catalog/acme-signal", headers=keys.headers("acme")).json()
    assert {v["version"]: (v["status"], v["reason"]) for v in shown["versions"]} == {
        "1.1.0": ("revoked", "credential theft"), "1.0.0": ("quarantined", "under investigation")}
    problem(act("ops", "1.1.0", "lift", "mistake"), 409)
    body = problem(act("ops", "1.0.0", "quarantine", ""), 422)
    assert [e["field"] for e in body["errors"]] == ["reason"]
    problem(act("ops", "1.0.0", "delete", "no such action"), 422)
    lifted = act("ops", "1.0.0", "lift", "cleared by the review").json()
    assert (lifted["status"], lifted["reason"]) == ("active", "cleared by the review")


def test_routes_admit_only_their_roles_and_every_refusal_is_a_403_problem(
        client, keys, acme_key):
    key, _ = acme_key
    publish_version(client, keys, key, "1.0.0")
    reason = {"reason": "test"}
    pem = "-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n"
    calls = {
        # (who, method, path, json body) that must be refused with 403
        "tenant publishes": ("t1", "post", "/v1/releases", None),
        "reviewer publishes": ("ada", "post", "/v1/releases", None),
        "admin publishes": ("ops", "post", "/v1/releases", None),
        "tenant creates a publisher": ("t1", "post", "/v1/publishers",
                                       {"id": "evil", "name": "Evil"}),
        "publisher creates a publisher": ("acme", "post", "/v1/publishers",
                                          {"id": "evil", "name": "Evil"}),
        "tenant registers a key": ("t1", "post", "/v1/publishers/acme/keys",
                                   {"namespace": "acme-*", "public_pem": pem}),
        "publisher registers a key for another": (
            "globex", "post", "/v1/publishers/acme/keys",
            {"namespace": "acme-*", "public_pem": pem}),
        "tenant yanks": ("t1", "post", "/v1/releases/acme-signal/1.0.0/yank", reason),
        "tenant quarantines": ("t1", "post", "/v1/releases/acme-signal/1.0.0/quarantine",
                               reason),
        "tenant revokes": ("t2", "post", "/v1/releases/acme-signal/1.0.0/revoke", reason),
        "publisher quarantines": ("acme", "post",
                                  "/v1/releases/acme-signal/1.0.0/quarantine", reason),
        "publisher revokes": ("acme", "post", "/v1/releases/acme-signal/1.0.0/revoke", reason),
        "publisher yanks another's release": ("globex", "post",
                                              "/v1/releases/acme-signal/1.0.0/yank", reason),
        "reviewer revokes": ("ada", "post", "/v1/releases/acme-signal/1.0.0/revoke", reason),
        "publisher installs": ("acme", "post", "/v1/installs", {"spec": "acme-signal"}),
        "admin installs": ("ops", "post", "/v1/installs", {"spec": "acme-signal"}),
        "reviewer sets a tenant policy": ("ada", "put", "/v1/installs/policy",
                                          {"min_level": "community"}),
        "tenant reads the review queue": ("t1", "get", "/v1/certification/queue", None),
        "publisher reads the review queue": ("acme", "get", "/v1/certification/queue", None),
        "tenant registers a reviewer key": ("t1", "post", "/v1/certification/reviewer-keys",
                                            {"reviewer": "t1", "public_pem": pem}),
        "reviewer registers a reviewer key": (
            "ada", "post", "/v1/certification/reviewer-keys",
            {"reviewer": "ada", "public_pem": pem}),
    }
    refused = {}
    for name, (who, method, path, body) in calls.items():
        answer = getattr(client, method)(path, headers=keys.headers(who),
                                         **({"json": body} if body is not None else {}))
        found = problem(answer, 403)
        assert found["type"] == "https://tracer.dev/problems/forbidden", name
        refused[name] = found.get("required") or found["detail"]
    assert len(refused) == len(calls) == 21
    assert refused["tenant publishes"] == ["publisher"]
    assert refused["publisher revokes"] == ["admin"]
    assert "not 'acme'" in refused["publisher yanks another's release"]
    assert refused["tenant reads the review queue"] == ["reviewer"]
    for path in ("/v1/catalog", "/v1/catalog/acme-signal"):
        problem(client.get(path), 401)
        problem(client.get(path, headers={"Authorization": "Bearer trk_bad_key"}), 401)
    # nothing changed: the release is still active and nobody installed it
    shown = client.get("/v1/catalog/acme-signal", headers=keys.headers("t1")).json()
    assert [(v["status"], v["reason"]) for v in shown["versions"]] == [("active", None)]
    assert "acme/signal" not in domains_of(client, keys, "t1")
    assert not list(client.app.state.settings.plugins_path.glob("acme_signal*"))


def test_a_tenant_requiring_certified_is_refused_uncertified_and_unattested_releases(
        client, keys, acme_key, app):
    from tracer_registry.catalog import set_certification

    key, _ = acme_key
    publish_version(client, keys, key, "1.0.0")
    policy = client.put("/v1/installs/policy", headers=keys.headers("t1"),
                        json={"min_level": "certified"})
    assert policy.json() == {"tenant": "t1", "min_level": "certified"}
    assert client.get("/v1/installs/policy", headers=keys.headers("t2")).json()[
        "min_level"] == "community"
    body = problem(install(client, keys, "t1"), 400, check="policy")
    assert "acme-signal 1.0.0 is community; tenant t1 accepts certified" in body["detail"]
    # the index says certified, but no reviewer-signed attestation exists for these bytes
    settings = app.state.settings
    with session(settings) as s:
        set_certification(s, settings, "acme-signal", "1.0.0", level="certified",
                          report={"passed": True})
    body = problem(install(client, keys, "t1"), 400, check="certification")
    assert "has no certification attestation" in body["detail"]
    assert not list(settings.plugins_path.glob("acme_signal*"))
    assert "acme/signal" not in domains_of(client, keys, "t1")
    body = problem(client.put("/v1/installs/policy", headers=keys.headers("t1"),
                              json={"min_level": "gold"}), 422, field="level")
    assert "unknown certification level 'gold'" in body["detail"]
