"""The domain catalog and the tenant dashboard, and tenant isolation on every page: tenant
B's browser gets for A's objects exactly what it gets for objects that do not exist (404),
and a tenant cannot open review, publisher or admin pages."""

from __future__ import annotations

import re
import uuid

import pytest
from tracer.db import session

from tests.ui.conftest import LOL, api, assert_accessible

# one worker builds this module's platform once (module-scoped fixtures)
pytestmark = pytest.mark.xdist_group("ui-tenant")


@pytest.fixture(scope="module")
def champion(app, people):
    """Alpha: LOL installed, enabled, a champion trained in-process, 80 served records
    and 40 reported outcomes (so drift and live metrics have numbers)."""
    from tracer import lifecycle
    from tracer_esports.lol import load_reference

    alpha = api(app, people["alpha"])
    assert alpha.post(f"/v1/domains/{LOL}/install").status_code == 201
    assert alpha.post(f"/v1/domains/{LOL}/enable").status_code == 200
    frame = load_reference()
    p = app.state.platform
    lifecycle.train(p.host, p.store, LOL, data=frame.head(600), tenant="alpha")
    records = frame.tail(80).drop(columns=["blueWins"]).to_dict(orient="records")
    answer = alpha.post(f"/v1/domains/{LOL}/predict", json={"records": records})
    assert answer.status_code == 200, answer.text
    ids = [a["prediction_id"] for a in answer.json()["predictions"]]
    outcomes = [{"prediction_id": i, "outcome": int(y)}
                for i, y in zip(ids[:40], frame.tail(80)["blueWins"][:40], strict=True)]
    assert alpha.post("/v1/feedback", json={"outcomes": outcomes}).status_code == 200
    return frame


def test_the_domain_catalog_is_public_and_offers_install_only_to_tenants(visit, app):
    anonymous = visit()
    listing = anonymous.get("/ui/domains")
    assert listing.status_code == 200 and LOL in listing.text
    page = anonymous.get(f"/ui/domains/{LOL}")
    assert page.status_code == 200
    assert "blueGold" in page.text or "record" in page.text.lower()
    assert f"/ui/domains/{LOL}/install" not in page.text and "Sign in" in page.text
    reviewer = visit("ada").get(f"/ui/domains/{LOL}")
    assert f"/ui/domains/{LOL}/install" not in reviewer.text
    assert anonymous.get("/ui/domains/no/such-domain").status_code == 404


def test_a_tenant_installs_and_enables_from_the_pages_as_the_api_would(visit, app, people):
    bravo = visit("bravo")
    page = bravo.get(f"/ui/domains/{LOL}")
    assert f'action="/ui/domains/{LOL}/install"' in page.text
    answer = bravo.post(f"/ui/domains/{LOL}/install", from_page=f"/ui/domains/{LOL}")
    assert answer.status_code == 303
    assert f'action="/ui/domains/{LOL}/enable"' in bravo.get(f"/ui/domains/{LOL}").text
    listed = {d["name"]: d for d in api(app, people["bravo"]).get("/v1/domains").json()[
        "domains"]}
    assert listed[LOL]["installed"] and not listed[LOL]["enabled"]
    again = bravo.post(f"/ui/domains/{LOL}/install", from_page=f"/ui/domains/{LOL}")
    assert again.status_code == 409  # the API's answer to a second install
    assert bravo.post(f"/ui/domains/{LOL}/enable", {"back": "/ui/dashboard"},
                      from_page="/ui/dashboard").headers["location"] == "/ui/dashboard"
    listed = {d["name"]: d for d in api(app, people["bravo"]).get("/v1/domains").json()[
        "domains"]}
    assert listed[LOL]["enabled"]
    dashboard = bravo.get("/ui/dashboard").text
    assert f'href="/ui/dashboard/{LOL}"' in dashboard and "enabled" in dashboard
    # the usage chart: the install is metered, predictions against the allowance
    assert "<svg" in dashboard and "allowance" in dashboard


def test_a_new_key_is_shown_once_works_and_revokes(visit, app):
    bravo = visit("bravo")
    created = bravo.post("/ui/keys", {"name": "ci"}, from_page="/ui/dashboard")
    assert created.status_code == 201
    plaintext = re.search(r'value="(trk_[^"]+)"', created.text).group(1)
    assert created.headers["cache-control"] == "no-store"
    assert api(app, plaintext).get("/v1/keys").status_code == 200
    later = bravo.get("/ui/dashboard").text
    assert plaintext not in later
    key_id = next(k["id"] for k in api(app, plaintext).get("/v1/keys").json()["keys"]
                  if k["name"] == "ci")
    assert bravo.post(f"/ui/keys/{key_id}/revoke",
                      from_page="/ui/dashboard").status_code == 303
    assert api(app, plaintext).get("/v1/keys").status_code == 401


def test_the_domain_dashboard_shows_versions_live_metrics_drift_and_calibration(
        visit, app, people, champion):
    alpha = visit("alpha")
    page = alpha.get(f"/ui/dashboard/{LOL}")
    assert page.status_code == 200, page.text
    text = page.text
    assert "alpha." in text and "champion" in text
    assert "Live metrics" in text and "Evaluation (version 1)" in text
    metrics = api(app, people["alpha"]).get(f"/v1/domains/{LOL}/metrics").json()
    assert f"{metrics['evaluation']['roc_auc']:.4f}" in text  # the API's own numbers
    drift = api(app, people["alpha"]).get(f"/v1/domains/{LOL}/drift").json()
    worst = next(iter(drift["features"]))
    assert re.search(r'<svg[^>]*role="img"', text) and "Drift per feature" in text
    assert worst in text and f"{drift['features'][worst]:.3f}" in text
    png = alpha.get(f"/ui/dashboard/{LOL}/models/1/reliability.png")
    assert png.status_code == 200 and png.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Model card" in text


def test_the_retraining_policy_form_stores_what_the_api_reads_and_refuses_bad_input(
        visit, app, people, champion):
    alpha = visit("alpha")
    page = f"/ui/dashboard/{LOL}"
    ok = alpha.post(f"{page}/policy", {"enabled": "on", "min_new_outcomes": "300",
                                       "drift_threshold": "0.25", "drift_window": "400",
                                       "use_reference": "on"}, from_page=page)
    assert ok.status_code == 303
    stored = api(app, people["alpha"]).get(f"/v1/domains/{LOL}/retraining-policy").json()
    assert (stored["enabled"], stored["min_new_outcomes"], stored["drift_threshold"],
            stored["drift_window"]) == (True, 300, 0.25, 400)
    for bad in ({"drift_window": "5"}, {"min_new_outcomes": "many"}):
        refused = alpha.post(f"{page}/policy", bad, from_page=page)
        assert refused.status_code == 422, refused.text
    assert api(app, people["alpha"]).get(f"/v1/domains/{LOL}/retraining-policy").json() == \
        stored


def test_training_from_the_page_needs_the_domain_enabled_like_the_api(visit, app, people):
    from tracer import tenancy

    with session(app.state.settings) as s:
        tenancy.create_tenant(s, "charlie", "Charlie", "starter", app.state.settings.tiers)
        key = tenancy.issue_key(s, "tenant", tenant_id="charlie")[1]
    from fastapi.testclient import TestClient

    from tests.ui.conftest import Visitor

    charlie = Visitor(TestClient(app, raise_server_exceptions=False), key).sign_in()
    by_api = api(app, key).post(f"/v1/domains/{LOL}/jobs", json={})
    by_page = charlie.post(f"/ui/dashboard/{LOL}/train", from_page="/ui/dashboard")
    assert by_page.status_code == by_api.status_code >= 400
    assert by_api.json()["detail"] in by_page.text.replace("&#39;", "'")


def _normal(text: str, *values: str) -> str:
    for value in values:
        text = text.replace(value, "<id>")
    return re.sub(r'name="csrf" value="[^"]+"', "", text)


def test_tenant_b_gets_404_for_every_page_of_a_object_like_for_a_missing_one(
        visit, app, people, champion):
    from tracer.jobs import create_job
    from tracer.models import ApiKey

    with session(app.state.settings) as s:
        job_id = create_job(s, "alpha", LOL, {"use_reference": True}).id
        key_id = s.query(ApiKey).filter_by(tenant_id="alpha", name="first").one().id
    bravo, missing = visit("bravo"), str(uuid.uuid4())
    tried = 0
    for path in ("/ui/jobs/{}", "/ui/jobs/{}/progress"):
        theirs, none = bravo.get(path.format(job_id)), bravo.get(path.format(missing))
        assert theirs.status_code == none.status_code == 404
        assert _normal(theirs.text, job_id) == _normal(none.text, missing)
        tried += 1
    theirs = bravo.post(f"/ui/keys/{key_id}/revoke", from_page="/ui/dashboard")
    none = bravo.post(f"/ui/keys/{missing}/revoke", from_page="/ui/dashboard")
    assert theirs.status_code == none.status_code == 404
    assert api(app, people["alpha"]).get("/v1/keys").status_code == 200  # still active
    # bravo has no model version 1 of its own: alpha's plot is not reachable
    assert bravo.get(f"/ui/dashboard/{LOL}/models/1/reliability.png").status_code == 404
    # a tenant that did not install the domain has no dashboard for it
    with session(app.state.settings) as s:
        from tracer import tenancy

        tenancy.create_tenant(s, "delta", "Delta", "starter", app.state.settings.tiers)
        delta_key = tenancy.issue_key(s, "tenant", tenant_id="delta")[1]
    from fastapi.testclient import TestClient

    from tests.ui.conftest import Visitor

    delta = Visitor(TestClient(app, raise_server_exceptions=False), delta_key).sign_in()
    assert delta.get(f"/ui/dashboard/{LOL}").status_code == 404
    # lists never show alpha's objects
    alpha_prefix = people["alpha"].split("_")[1]
    for page in ("/ui/dashboard", f"/ui/dashboard/{LOL}"):
        body = bravo.get(page).text
        tried += 1
        assert job_id not in body and alpha_prefix not in body and "alpha." not in body
    assert tried == 4


ROLE_PAGES = {"/ui/reviews": "reviewer", "/ui/admin": "admin",
              "/ui/admin/releases": "admin", "/ui/admin/commission": "admin",
              "/ui/publisher": "publisher", "/ui/payouts": "publisher",
              "/ui/dashboard": "tenant", f"/ui/dashboard/{LOL}": "tenant"}


def test_each_role_opens_its_pages_and_no_other(visit):
    browsers = {role: visit(who) for role, who in (("tenant", "alpha"), ("publisher", "acme"),
                                                    ("reviewer", "ada"), ("admin", "ops"))}
    anonymous = visit()
    for page, role in ROLE_PAGES.items():
        assert anonymous.get(page, follow_redirects=False).status_code == 303, page
        for other, browser in browsers.items():
            answer = browser.get(page)
            if other == role:
                assert answer.status_code in (200, 404), (page, other)  # 404: not installed
            else:
                assert answer.status_code == 403, (page, other, answer.status_code)
                assert "needs a key with role" in answer.text


def test_every_tenant_page_is_accessible_and_self_contained(visit, champion):
    from tracer.jobs import create_job

    alpha = visit("alpha")
    with session(alpha.client.app.state.settings) as s:
        job_id = create_job(s, "alpha", LOL, {"use_reference": True}).id
    for url in ("/ui/domains", f"/ui/domains/{LOL}", "/ui/dashboard", f"/ui/dashboard/{LOL}",
                f"/ui/jobs/{job_id}"):
        answer = alpha.get(url)
        assert answer.status_code == 200, url
        assert_accessible(url, answer.text)
    created = alpha.post("/ui/keys", {"name": "a11y"}, from_page="/ui/dashboard")
    assert_accessible("/ui/keys", created.text)
    assert_accessible("/ui/jobs/missing", alpha.get("/ui/jobs/missing").text)
