"""A third party's plugin from template to prediction, all over the real API.

cookiecutter renders ``template/`` → a wheel is built → the publisher registers a fresh
P-256 key and publishes the key-signed wheel → the publish queues certification and the
API's validator worker writes the automated report → two reviewers (keys made here) sign
the statement offline and approve → the registry countersigns: a DSSE attestation →
the catalog shows ``certified`` → a tenant whose policy requires certified installs it
(the attestation is verified before anything is unpacked; a tampered one is refused) →
the tenant enables the domain, trains and gets a prediction with its reasons.

The validator trains the template's 600-row sample twice in its sandbox, so the whole
journey stays within a couple of minutes on two cores.
"""

from __future__ import annotations

import base64
import copy
import csv
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from tracer.db import session

REPO = Path(__file__).resolve().parents[2]
PLUGIN, VERSION, DOMAIN = "tracer-acme-churn", "0.1.0", "acme/churn"


def render_and_build(tmp_path: Path) -> Path:
    """The template rendered with its defaults, built by its own backend when uv is here."""
    from cookiecutter.main import cookiecutter

    project = Path(cookiecutter(str(REPO / "template"), no_input=True,
                                output_dir=str(tmp_path / "src")))
    dist = tmp_path / "dist"
    uv = shutil.which("uv")
    if uv is not None:
        subprocess.run([uv, "build", "--wheel", "--offline", "--out-dir", str(dist),
                        str(project)], check=True, capture_output=True)
        return next(dist.glob("*.whl"))
    from tests.certification.build import build_wheel  # PEP 427 writer, no network

    return build_wheel(project, dist)


def poll(fetch, done, polls: int = 2400, pause: float = 0.25):
    """Call ``fetch`` until ``done(answer)``; bounded by a number of polls, not timed."""
    for _ in range(polls):
        answer = fetch()
        if done(answer):
            return answer
        time.sleep(pause)
    raise AssertionError(f"still not done after {polls} polls: {answer}")


@pytest.fixture
def api(host, store):
    from tracer import tenancy
    from tracer.api import create_app

    app = create_app(store.settings, host, store)
    settings = app.state.settings
    keys = {}
    with session(settings) as s:
        for tenant in ("t1", "t2"):
            tenancy.create_tenant(s, tenant, tenant.upper(), "professional", settings.tiers)
            keys[tenant] = tenancy.issue_key(s, "tenant", tenant_id=tenant)[1]
        for role, subject in (("admin", "ops"), ("publisher", "acme"), ("reviewer", "ada"),
                              ("reviewer", "grace")):
            keys[subject] = tenancy.issue_key(s, role, subject=subject)[1]
    with TestClient(app, raise_server_exceptions=False) as client:
        client.as_ = lambda who: {"Authorization": f"Bearer {keys[who]}"}
        yield client


def test_a_rendered_plugin_goes_from_publish_to_certified_install_and_a_prediction(
        api, tmp_path):
    from tracer_registry.certify import attestation as att
    from tracer_registry.certify.models import Attestation
    from tracer_registry.signing import generate_key, load_private_key, sign_with_key

    wheel = render_and_build(tmp_path)
    assert wheel.name == f"tracer_acme_churn-{VERSION}-py3-none-any.whl"
    settings = api.app.state.settings

    # -- the publisher: account, a fresh key, a key-signed publish ----------------------
    assert api.post("/v1/publishers", headers=api.as_("ops"),
                    json={"id": "acme", "name": "Acme Analytics"}).status_code == 201
    public = generate_key(tmp_path / "acme.pem")
    assert api.post("/v1/publishers/acme/keys", headers=api.as_("acme"),
                    json={"namespace": "tracer-acme-*", "public_pem": public}
                    ).status_code == 201
    assert api.post("/v1/publishers/acme/domains", headers=api.as_("acme"),
                    json={"prefix": "acme"}).status_code == 201
    data = wheel.read_bytes()
    bundle = sign_with_key(data, wheel.name, load_private_key(tmp_path / "acme.pem"))
    published = api.post("/v1/releases", headers=api.as_("acme"), data={"domains": DOMAIN},
                         files={"wheel": (wheel.name, data), "bundle": ("b.json", bundle)})
    assert published.status_code == 201, published.text
    assert (published.json()["level"], published.json()["certification"]["status"]) == (
        "community", "pending")

    # -- the automated report, written by the worker the publish launched ---------------
    status_path = f"/v1/certification/releases/{PLUGIN}/{VERSION}"
    status = poll(lambda: api.get(status_path, headers=api.as_("acme")).json(),
                  lambda body: not body["status"].startswith("checks-pending")
                  and body["status"] != "checks-running")
    assert status["status"] == "queued", status
    assert status["report_passed"] is True
    assert status["counts"]["errors"] == 0 and status["counts"]["passed"] >= 20
    assert status["automated"]["status"] == "done"

    # -- review: two reviewers with their own keys, signing offline ---------------------
    reviewer_keys = {}
    for reviewer in ("ada", "grace"):
        reviewer_keys[reviewer] = att.generate_key()
        added = api.post("/v1/certification/reviewer-keys", headers=api.as_("ops"),
                         json={"reviewer": reviewer,
                               "public_pem": att.public_pem(reviewer_keys[reviewer])})
        assert added.status_code == 201, added.text
    queue = api.get("/v1/certification/queue", headers=api.as_("ada")).json()
    assert [(r["plugin"], r["version"], r["status"]) for r in queue] == [
        (PLUGIN, VERSION, "queued")]
    review_id = queue[0]["id"]
    claimed = api.post(f"/v1/certification/reviews/{review_id}/claim",
                       headers=api.as_("ada")).json()
    assert claimed["claimed_by"] == "ada" and claimed["report"]["passed"] is True
    assert claimed["diff"]["previous"] is None
    for reviewer, key in reviewer_keys.items():
        if reviewer != "ada":  # only the claimer approves: the next reviewer claims in turn
            assert api.post(f"/v1/certification/reviews/{review_id}/claim",
                            headers=api.as_(reviewer)).status_code == 200
        statement = api.get(f"/v1/certification/reviews/{review_id}/statement",
                            headers=api.as_(reviewer)).json()
        assert statement["statement"]["predicate"]["plugin"] == {"name": PLUGIN,
                                                                 "version": VERSION}
        signature = key.sign(base64.b64decode(statement["pae_base64"]),
                             ec.ECDSA(hashes.SHA256()))
        approved = api.post(f"/v1/certification/reviews/{review_id}/approve",
                            headers=api.as_(reviewer),
                            json={"keyid": att.keyid(key), "notes": f"{reviewer}: read it",
                                  "sig": base64.b64encode(signature).decode()})
        assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"

    # -- the signed attestation and the level in the catalog ----------------------------
    envelope = api.get(f"{status_path}/attestation", headers=api.as_("t1")).json()
    assert len(envelope["signatures"]) == 3  # two reviewers and the registry
    trust = api.get("/v1/certification/trust", headers=api.as_("t1")).json()
    verified = att.verify_attestation(
        envelope, wheel_sha256=published.json()["sha256"], name=PLUGIN, version=VERSION,
        trust=att.TrustPolicy(registry_keys=trust["registry_keys"],
                              reviewer_keys={k: tuple(v)
                                             for k, v in trust["reviewer_keys"].items()},
                              threshold=trust["threshold"]))
    assert (verified.level, sorted(verified.reviewers)) == ("certified", ["ada", "grace"])
    listing = api.get(f"/v1/catalog/{PLUGIN}", headers=api.as_("t1")).json()
    assert listing["certification"]["level"] == "certified"
    assert listing["certification"]["expires_at"][:4] == str(
        verified.expires_at.year)
    assert verified.expires_at.year - verified.reviewed_at.year == 2
    certified = api.get("/v1/catalog", params={"level": "certified"},
                        headers=api.as_("t1")).json()
    assert [(r["name"], r["certification_level"]) for r in certified] == [
        (PLUGIN, "certified")]

    # -- install for tenants that require certified -------------------------------------
    for tenant in ("t1", "t2"):
        assert api.put("/v1/installs/policy", headers=api.as_(tenant),
                       json={"min_level": "certified"}).status_code == 200
    with session(settings) as s:  # altered in storage: one reviewer's signature stripped
        row = s.query(Attestation).one()
        genuine = copy.deepcopy(row.envelope)
        forged = copy.deepcopy(genuine)
        forged["signatures"] = [genuine["signatures"][0], genuine["signatures"][-1]]
        row.envelope = forged
    refused = api.post("/v1/installs", headers=api.as_("t2"), json={"spec": PLUGIN})
    assert refused.status_code == 400, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["check"] == "certification"
    assert "valid reviewer" in refused.json()["detail"]
    assert not list(settings.plugins_path.glob("tracer_acme_churn*"))
    with session(settings) as s:
        s.query(Attestation).one().envelope = genuine
    installed = api.post("/v1/installs", headers=api.as_("t1"), json={"spec": PLUGIN})
    assert installed.status_code == 201, installed.text
    assert (installed.json()["version"], installed.json()["domains"]) == (VERSION, [DOMAIN])

    # -- the tenant enables it, trains, and gets a prediction with reasons --------------
    assert api.post(f"/v1/domains/{DOMAIN}/enable", headers=api.as_("t1")).status_code == 200
    job = api.post(f"/v1/domains/{DOMAIN}/jobs", headers=api.as_("t1"), json={})
    assert job.status_code == 202, job.text
    finished = poll(lambda: api.get(f"/v1/jobs/{job.json()['id']}",
                                    headers=api.as_("t1")).json(),
                    lambda body: body["status"] not in ("queued", "running"))
    assert finished["status"] == "succeeded", finished
    assert finished["metrics"]["roc_auc"] >= 0.7
    sample = next(REPO.glob("template/*/src/*/data/sample.csv"))
    with sample.open() as rows:
        record = next(csv.DictReader(rows))
    record.pop("churned"), record.pop("observed_day")
    record = {k: (v if k == "plan" else float(v) if "." in v else int(v))
              for k, v in record.items()}
    answer = api.post(f"/v1/domains/{DOMAIN}/predict", headers=api.as_("t1"),
                      json={"record": record})
    assert answer.status_code == 200, answer.text
    assert answer.json()["count"] == 1
    prediction = answer.json()["predictions"][0]
    assert 0.0 < prediction["probability"] < 1.0
    assert prediction["factors"] and prediction["summary"]
    assert prediction["model"]["version"] == finished["model_version"]
    # the other tenant never installed it: its predictions are refused
    other = api.post(f"/v1/domains/{DOMAIN}/predict", headers=api.as_("t2"),
                     json={"record": record})
    assert other.status_code == 404 and "is not installed" in other.json()["detail"]


def test_the_demo_step_certifies_a_rendered_template_release_and_shows_the_attestation(
        settings):
    """``tracer demo``'s certification step: bounded (the template's 600-row sample, the
    registry's own policy), and it prints the report summary, the attestation, the level."""
    if shutil.which("uv") is None:
        pytest.skip("uv is not on PATH; the demo cannot build the rendered template")
    from rich.console import Console
    from tracer import db
    from tracer.host import PluginHost
    from tracer_registry.certify.demo import run_demo
    from tracer_registry.certify.policy import REGISTRY_POLICY

    host = PluginHost(settings)
    db.upgrade(settings, extra=host.migration_trees())
    console = Console(record=True, width=200)
    run_demo(settings, console)
    text = console.export_text()
    assert f"published {PLUGIN} {VERSION} (rendered from template/)" in text
    assert "certification queued" in text
    assert f"Certification report: {PLUGIN} {VERSION} (policy {REGISTRY_POLICY.version})" in text
    # 27 checks; the README warning always shows (the author has not written one yet), the
    # speed warning only on a very loaded machine: neither blocks. The one skipped check is
    # quality.registry-evaluation: this registry holds no evaluation set for acme/churn
    summary = re.search(r"PASSED: (\d+) passed, 0 errors, (\d+) warnings, 1 skipped", text)
    assert summary is not None, text
    assert int(summary[1]) + int(summary[2]) == 26
    assert "the registry holds no evaluation set for this plugin's domains" in text
    assert "reviewer-ada signed and approved" in text
    assert "reviewer-grace signed and approved" in text
    assert f"level certified, plugin {PLUGIN} {VERSION}, policy {REGISTRY_POLICY.version}" in text
    assert "DSSE signatures: 3 (2 reviewers of 2, threshold 2, + the registry)" in text
    assert "verified as a host would before installing: certified until 20" in text
    assert "catalog level now: certified" in text
    assert text.count('"keyid"') == 3
    # a second run finds the release published and certified, and changes nothing
    again = Console(record=True, width=200)
    run_demo(settings, again)
    second = again.export_text()
    assert f"{PLUGIN} {VERSION}: already published" in second
    assert "reviewer-ada claimed" not in second and "catalog level now: certified" in second
