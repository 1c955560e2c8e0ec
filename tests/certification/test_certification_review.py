"""Human review and attestations: queue, claim, M-of-N approvals, rejections the publisher
reads, diffs, DSSE verification, catalog levels, the install gate, the API and the CLI.

One real sandbox run (the honest plugin, shared with the sandbox tests) gives the report;
the registry's own publish path puts the wheel in the catalog with a key-signed bundle.
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import json
from datetime import UTC, datetime, timedelta

import pytest
from tracer.db import session
from tracer.errors import ConflictError, ForbiddenError, ValidationError
from tracer_registry.certify import attestation as att
from tracer_registry.certify import release_review
from tracer_registry.certify import review as service
from tracer_registry.certify.report import Report
from tracer_registry.errors import CertificationError

from tests.certification.build import FIXTURES, build_wheel


@pytest.fixture
def platform_db(settings):
    """Core, registry and certification tables, migrated through the plugins' hook."""
    from tracer import db
    from tracer.host import PluginHost

    host = PluginHost(settings)
    db.upgrade(settings, extra=host.migration_trees())
    return settings


@pytest.fixture
def reviewers(platform_db, tmp_path):
    keys = {}
    with session(platform_db) as s:
        for name in ("ada", "grace", "linus"):
            key = att.generate_key()
            keys[name] = att.save_private(key, tmp_path / "keys" / f"{name}.pem")
            service.register_reviewer_key(s, name, att.public_pem(key))
    return keys


@pytest.fixture
def published(platform_db, benign_wheel, tmp_path):
    """The honest plugin published through the registry (air-gapped key signing)."""
    from tracer_registry import publishers, publishing, signing
    from tracer_registry.domains import claim_domain

    key_path = tmp_path / "publisher.pem"
    pem = signing.generate_key(key_path)
    with session(platform_db) as s:
        publishers.create_publisher(s, "certsample-labs", "Certsample Labs")
        publishers.register_key(s, "certsample-labs", "tracer-certsample", pem)
        claim_domain(s, "certsample-labs", "certsample")
        data = benign_wheel.read_bytes()
        bundle = signing.sign_with_key(data, benign_wheel.name,
                                       signing.load_private_key(key_path))
        publishing.publish(s, platform_db, data, benign_wheel.name, bundle,
                           domains=["certsample/signal"])
    return benign_wheel


@pytest.fixture
def queued(platform_db, certified, published):
    report = certified.report(published)
    assert report.passed
    with session(platform_db) as s:
        return service.submit(s, platform_db, report, published.read_bytes()).id


def approve_all(settings, review_id, keys, names=("ada", "grace")):
    for name in names:  # only the claimer approves: each reviewer claims in turn
        with session(settings) as s:
            service.claim(s, review_id, name)
            service.approve_with_key(s, settings, review_id, name, keys[name], notes="ok")


def test_a_failed_report_requests_changes_with_notes_and_skips_the_queue(platform_db,
                                                                         certified, flawed_wheel):
    report = certified.report(flawed_wheel)
    with session(platform_db) as s:
        review = service.submit(s, platform_db, report, flawed_wheel.read_bytes())
        assert review.status == "changes-requested"
        assert "quality.threshold:" in review.notes and "quality.baseline:" in review.notes
        assert service.queue(s) == []
        view = service.status_of(s, "tracer-certflawed", "1.0.0")
    assert (view["level"], view["report_passed"]) == ("community", False)


def test_publish_report_review_attestation_catalog_and_install_gate(platform_db, queued,
                                                                   reviewers, published):
    from tracer_registry import catalog

    with session(platform_db) as s:
        assert [r.id for r in service.queue(s)] == [queued]
        assert catalog.show(s, "tracer-certsample")["certification"]["level"] == "community"
        service.claim(s, queued, "ada")
        with pytest.raises(ConflictError, match="is claimed by ada"):
            service.claim(s, queued, "grace")
    approve_all(platform_db, queued, reviewers, names=("ada",))
    with session(platform_db) as s:  # one of two: no attestation, back in the queue
        assert service.get_review(s, queued).status == "queued"
        assert service.latest_attestation(s, "tracer-certsample", "1.0.0") is None
    approve_all(platform_db, queued, reviewers, names=("grace",))
    with session(platform_db) as s:
        review = service.get_review(s, queued)
        stored = service.latest_attestation(s, "tracer-certsample", "1.0.0")
        shown = catalog.show(s, "tracer-certsample")
        verified = release_review.verify_for_install(s, platform_db, "tracer-certsample", "1.0.0",
                                              published.read_bytes())
        with pytest.raises(CertificationError, match="not the wheel being installed"):
            release_review.verify_for_install(s, platform_db, "tracer-certsample", "1.0.0",
                                       published.read_bytes() + b"\0")
    assert review.status == "approved"
    assert len(stored.envelope["signatures"]) == 3  # ada, grace, the registry
    assert (verified.level, verified.reviewers) == ("certified", ["ada", "grace"])
    assert shown["certification"]["level"] == "certified"
    assert shown["certification"]["report"]["passed"] is True
    assert (stored.expires_at - stored.reviewed_at).days in (730, 731)
    statement = json.loads(att.payload_of(stored.envelope))
    predicate = statement["predicate"]
    assert statement["subject"][0]["digest"]["sha256"] == verified.wheel_sha256
    assert predicate["publisher"]["level"] == "community"
    assert predicate["publisher"]["bundle_sha256"] and predicate["publisher"]["identity"]
    assert len(predicate["checks"]) == 27
    assert predicate["review"] == {"reviewers": [], "threshold": 2}


def test_approvals_need_a_valid_signature_from_the_reviewers_own_key(platform_db, queued,
                                                                    reviewers):
    with session(platform_db) as s:
        service.claim(s, queued, "ada")
        statement = copy.deepcopy(service.statement(s, queued))
    statement["predicate"]["level"] = "certified-plus"  # a different statement
    keyid, forged = service.sign_statement(statement, reviewers["ada"])
    with session(platform_db) as s, pytest.raises(ValidationError, match="does not verify"):
        service.approve(s, platform_db, queued, "ada", keyid=keyid, signature=forged)
    with session(platform_db) as s, pytest.raises(ForbiddenError, match="not an active key"):
        service.approve_with_key(s, platform_db, queued, "ada", reviewers["grace"])
    approve_all(platform_db, queued, reviewers, names=("ada",))
    with session(platform_db) as s, pytest.raises(ConflictError, match="already approved"):
        service.claim(s, queued, "ada")


def test_a_rejection_needs_notes_and_the_publisher_reads_them(platform_db, queued):
    with session(platform_db) as s:
        service.claim(s, queued, "ada")
        with pytest.raises(ValidationError, match="needs notes"):
            service.reject(s, queued, "ada", "  ")
        service.reject(s, queued, "ada", "x3 is never explained in the README")
        view = service.status_of(s, "tracer-certsample", "1.0.0")
    assert (view["status"], view["level"]) == ("rejected", "community")
    assert view["notes"] == "ada: x3 is never explained in the README"


def test_recertification_shows_the_diff_from_the_previous_certified_version(
        platform_db, certified, benign_wheel, reviewers, tmp_path):
    first = certified.report(benign_wheel)
    v2 = build_wheel(FIXTURES / "benign", tmp_path / "v2", version="1.1.0", extra={
        "certsample/__init__.py": (FIXTURES / "benign/src/certsample/__init__.py")
        .read_bytes().replace(b"threshold=0.75", b"threshold=0.76")})
    second = dataclasses.replace(first, version="1.1.0", wheel=v2.name,
                                 wheel_sha256=att.hashlib.sha256(v2.read_bytes()).hexdigest())
    with session(platform_db) as s:
        one = service.submit(s, platform_db, first, benign_wheel.read_bytes()).id
        service.claim(s, one, "ada")
    approve_all(platform_db, one, reviewers)
    with session(platform_db) as s:
        two = service.submit(s, platform_db, second, v2.read_bytes())
        diff = service.diff_from_previous(s, platform_db, two)
    assert diff["previous"] == "1.0.0"
    assert diff["changed"] == ["METADATA", "certsample/__init__.py"]
    assert "-    certification_threshold=0.75" in diff["diff"]
    assert "+    certification_threshold=0.76" in diff["diff"]


@pytest.fixture
def attested():
    """A standalone envelope: registry + two reviewers over a statement of a known digest."""
    registry, ada, grace, mallory = (att.generate_key() for _ in range(4))
    reviewed = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    statement = att.build_statement(
        wheel="x-1.0-py3-none-any.whl", wheel_sha256="ab" * 32, plugin="x", version="1.0",
        policy_version="p", publisher={"identity": "me"}, checks=[], report_sha256="cd" * 32,
        reviewers=[], threshold=2, reviewed_at=reviewed)
    env = att.envelope(att.canonical(statement))
    for key in (ada, grace, registry):
        att.sign(env, key)
    trust = att.TrustPolicy(
        registry_keys={att.keyid(registry): att.public_pem(registry)},
        reviewer_keys={att.keyid(ada): ("ada", att.public_pem(ada)),
                       att.keyid(grace): ("grace", att.public_pem(grace))}, threshold=2)
    return env, trust, reviewed, mallory


def test_a_good_envelope_verifies_until_it_expires(attested):
    env, trust, reviewed, _ = attested
    ok = att.verify_attestation(env, wheel_sha256="ab" * 32, trust=trust, name="x",
                                version="1.0", now=reviewed + timedelta(days=1))
    assert ok.expires_at == datetime(2028, 11, 23, 12, 0, tzinfo=UTC)
    with pytest.raises(CertificationError, match="expired at 2028-11-23T12:00:00Z"):
        att.verify_attestation(env, wheel_sha256="ab" * 32, trust=trust,
                               now=reviewed + timedelta(days=731))


@pytest.mark.parametrize("attack, message", [
    ("flip payload", "not signed by a trusted registry key"),
    ("drop a reviewer", "1 valid reviewer signature"),
    ("unknown reviewer key", "1 valid reviewer signature"),
    ("wrong digest", "not the wheel being installed"),
    ("wrong payload type", "not a DSSE envelope"),
    ("other plugin", "is for x 1.0, not y 1.0"),
])
def test_tampered_or_insufficient_envelopes_are_refused(attested, attack, message):
    env, trust, reviewed, mallory = attested
    env = copy.deepcopy(env)
    digest, name = "ab" * 32, "x"
    if attack == "flip payload":
        body = json.loads(att.payload_of(env))
        body["predicate"]["expires_at"] = "2099-01-01T00:00:00Z"
        env["payload"] = base64.b64encode(att.canonical(body)).decode()
    elif attack == "drop a reviewer":
        env["signatures"] = env["signatures"][1:]
    elif attack == "unknown reviewer key":
        env["signatures"] = env["signatures"][1:]
        att.sign(env, mallory)
    elif attack == "wrong digest":
        digest = "00" * 32
    elif attack == "wrong payload type":
        env["payloadType"] = "text/plain"
    elif attack == "other plugin":
        name = "y"
    with pytest.raises(CertificationError, match=message):
        att.verify_attestation(env, wheel_sha256=digest, trust=trust, name=name,
                               version="1.0", now=reviewed + timedelta(days=1))


def test_pae_is_the_dsse_encoding():
    assert att.pae("application/vnd.in-toto+json", b"{}") == \
        b"DSSEv1 28 application/vnd.in-toto+json 2 {}"


def test_the_review_api_admits_reviewers_only(platform_db, queued, reviewers):
    from fastapi import FastAPI
    from fastapi.responses import JSONResponse
    from fastapi.testclient import TestClient
    from tracer.errors import TracerError
    from tracer.tenancy import issue_key
    from tracer_registry.certify.api import router

    app = FastAPI()
    app.state.settings = platform_db
    app.include_router(router)
    app.add_exception_handler(TracerError, lambda request, exc: JSONResponse(
        exc.problem(), status_code=exc.status))
    with session(platform_db) as s:
        ada = issue_key(s, "reviewer", subject="ada")[1]
        grace = issue_key(s, "reviewer", subject="grace")[1]
        publisher = issue_key(s, "publisher", subject="someone-else")[1]
    client = TestClient(app)

    def as_(key):
        return {"Authorization": f"Bearer {key}"}

    assert client.get("/v1/certification/queue", headers=as_(publisher)).status_code == 403
    assert client.get("/v1/certification/queue").status_code == 401
    assert [r["id"] for r in client.get("/v1/certification/queue",
                                        headers=as_(ada)).json()] == [queued]
    claimed = client.post(f"/v1/certification/reviews/{queued}/claim", headers=as_(ada))
    assert claimed.status_code == 200 and claimed.json()["report"]["passed"] is True
    for name, key in (("ada", ada), ("grace", grace)):
        assert client.post(f"/v1/certification/reviews/{queued}/claim",
                           headers=as_(key)).status_code == 200
        statement = client.get(f"/v1/certification/reviews/{queued}/statement",
                               headers=as_(key)).json()
        private = att.load_private(reviewers[name])
        signed = att.sign(att.envelope(att.canonical(statement["statement"])), private)
        assert base64.b64decode(statement["pae_base64"]) == att.pae(
            att.PAYLOAD_TYPE, att.canonical(statement["statement"]))
        answer = client.post(f"/v1/certification/reviews/{queued}/approve", headers=as_(key),
                             json={**signed["signatures"][0], "notes": "fine"})
        assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "approved"
    status = client.get("/v1/certification/releases/tracer-certsample/1.0.0",
                        headers=as_(publisher)).json()
    assert status["level"] == "certified" and "notes" not in status  # not their plugin
    envelope = client.get("/v1/certification/releases/tracer-certsample/1.0.0/attestation",
                          headers=as_(publisher)).json()
    trust = att.TrustPolicy.from_json(json.dumps(client.get("/v1/certification/trust",
                                                            headers=as_(publisher)).json()))
    assert trust.threshold == 2 and len(trust.reviewer_keys) == 3
    with session(platform_db) as s:
        digest = service.get_review(s, queued).wheel_sha256
    assert att.verify_attestation(envelope, wheel_sha256=digest, trust=trust).level == \
        "certified"


def test_the_cli_prints_the_json_report_and_exits_1_on_a_blocking_failure(tmp_path, settings):
    from tracer.cli import build_app
    from typer.testing import CliRunner

    bad = build_wheel(FIXTURES / "benign", tmp_path, extra={"certsample/x.pkl": b"\x80\x04."},
                      after_record={"../escape.py": b"print(1)\n"})
    result = CliRunner().invoke(build_app(), ["certify", str(bad), "--json"])
    assert result.exit_code == 1
    report = Report.from_dict(json.loads(result.stdout))
    assert not report.passed
    assert {c.id for c in report.checks if c.status == "failed"} == {
        "packaging.pickle", "packaging.paths", "packaging.record"}
    assert {c.id for c in report.checks if c.status == "skipped"} >= {"dynamic.safety"}


@pytest.mark.online
def test_keyless_sigstore_signing_of_a_statement():  # pragma: no cover - needs OIDC
    import os

    if not (os.environ.get("SIGSTORE_ID_TOKEN") or os.environ.get(
            "ACTIONS_ID_TOKEN_REQUEST_URL")):
        pytest.skip("online: keyless signing needs Fulcio, Rekor and an OIDC token (CI)")
    from tracer_registry.certify.keyless import sign_keyless

    bundle = json.loads(sign_keyless({"_type": att.STATEMENT_TYPE, "subject": [
        {"name": "x", "digest": {"sha256": "ab" * 32}}], "predicateType": att.PREDICATE_TYPE,
        "predicate": {}}))
    assert bundle["dsseEnvelope"]["payloadType"] == att.PAYLOAD_TYPE


def test_the_demo_step_certifies_and_shows_the_signed_attestation(platform_db, certified,
                                                                  benign_wheel):
    from rich.console import Console
    from tracer_registry.certify.demo import run_demo

    console = Console(record=True, width=200)
    run_demo(platform_db, console, wheel=benign_wheel, certify=certified.report)
    text = console.export_text()
    assert "PASSED" in text
    assert "reviewer-ada signed and approved" in text
    assert "DSSE signatures: 3 (2 reviewers of 2, threshold 2, + the registry)" in text
    assert "verified as a host would before installing: certified until 20" in text
    assert "catalog level now: certified" in text
