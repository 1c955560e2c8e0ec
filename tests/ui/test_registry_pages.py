"""The registry's console pages (added through ``tracer_routes``): catalog search and a
listing, install for a tenant, a publisher's releases and yank, the admin's quarantine and
lift, the review queue with offline signatures, payout statements and the commission
report. Each answer is checked against what the API says for the same person."""

from __future__ import annotations

import hashlib
import json
import re

import pytest
from tracer.db import session

from tests.ui.conftest import api, assert_accessible

# one worker builds this module's platform once (module-scoped fixtures)
pytestmark = pytest.mark.xdist_group("ui-registry")


def _count(page: str) -> int:
    return int(re.search(r"(\d+) listings? found", page).group(1))


def test_catalog_search_and_filters_agree_with_the_api(visit, app, people, market):
    anonymous = visit()
    for params, hits in (({}, 1), ({"q": "signal"}, 1), ({"q": "weather"}, 0),
                         ({"domain": "acme"}, 1), ({"level": "certified"}, 0),
                         ({"publisher": "acme"}, 1), ({"publisher": "globex"}, 0),
                         ({"max_monthly_fee_minor": "1999"}, 0),
                         ({"max_monthly_fee_minor": "2000"}, 1),
                         ({"max_per_prediction_micros": "3999"}, 0)):
        page = anonymous.get("/ui/catalog", params=params)
        assert page.status_code == 200
        assert _count(page.text) == hits, params
        by_api = api(app, people["alpha"]).get("/v1/catalog", params=params).json()
        assert len(by_api) == hits, params
    assert anonymous.get("/ui/catalog", params={"max_monthly_fee_minor": "lots"}
                         ).status_code == 422
    assert anonymous.get("/ui/catalog", params={"level": "gold"}).status_code == 422


def test_a_listing_shows_identity_certification_releases_and_price(visit, app, people,
                                                                     market):
    page = visit().get("/ui/catalog/acme-signal")
    assert page.status_code == 200
    shown = api(app, people["alpha"]).get("/v1/catalog/acme-signal").json()
    text = page.text
    assert shown["publisher"]["identity"]["signer"] in text and "Acme Analytics" in text
    assert "1.0.0" in text and "1.1.0" in text and shown["versions"][0]["sha256"][:16] in text
    assert "20.00 USD a month" in text and "0.004000 USD per prediction" in text
    assert "Certification: <strong>community</strong>" in text
    assert 'action="/ui/catalog/acme-signal/install"' not in text  # signed out
    assert visit().get("/ui/catalog/no-such-listing").status_code == 404


def test_a_tenant_installs_a_listing_from_its_page(visit, app, market):
    from tracer_registry.models import Installation

    alpha = visit("alpha")
    page = alpha.get("/ui/catalog/acme-signal")
    assert 'action="/ui/catalog/acme-signal/install"' in page.text
    answer = alpha.post("/ui/catalog/acme-signal/install", from_page="/ui/catalog/acme-signal")
    assert answer.status_code == 303, answer.text
    with session(app.state.settings) as s:
        rows = s.query(Installation).filter_by(tenant_id="alpha").all()
        assert [(r.listing_name, r.version) for r in rows] == [("acme-signal", "1.1.0")]
    assert "Installed for you" in alpha.get(answer.headers["location"]).text
    # a publisher's browser has no install button and cannot post one
    acme = visit("acme")
    assert 'action="/ui/catalog/acme-signal/install"' not in acme.get(
        "/ui/catalog/acme-signal").text
    assert acme.post("/ui/catalog/acme-signal/install",
                     from_page="/ui/catalog").status_code == 403


def test_a_publisher_sees_and_yanks_only_its_own_releases(visit, app, people, market):
    acme, globex = visit("acme"), visit("globex")
    mine = acme.get("/ui/publisher").text
    assert "acme-signal</a> 1.0.0" in mine and "key:" in mine
    assert "acme-signal" not in globex.get("/ui/publisher").text
    yank = "/ui/publisher/releases/acme-signal/1.0.0/yank"
    assert acme.post(yank, {"reason": ""}, from_page="/ui/publisher").status_code == 422
    assert globex.post(yank, {"reason": "not mine"},
                       from_page="/ui/publisher").status_code == 403
    shown = api(app, people["alpha"]).get("/v1/catalog/acme-signal").json()
    assert {v["version"]: v["status"] for v in shown["versions"]}["1.0.0"] == "active"
    assert acme.post(yank, {"reason": "broken feature"},
                     from_page="/ui/publisher").status_code == 303
    shown = api(app, people["alpha"]).get("/v1/catalog/acme-signal").json()
    assert {v["version"]: (v["status"], v["reason"]) for v in shown["versions"]}["1.0.0"] == (
        "yanked", "broken feature")


def test_the_admin_quarantines_and_lifts_a_release(visit, app, people, market):
    ops = visit("ops")
    page = ops.get("/ui/admin/releases")
    assert page.status_code == 200 and "Quarantine 1.1.0" in page.text
    base = "/ui/admin/releases/acme-signal/1.1.0"
    assert ops.post(f"{base}/quarantine", {"reason": "under investigation"},
                    from_page="/ui/admin/releases").status_code == 303
    status = {v["version"]: v["status"] for v in api(app, people["alpha"]).get(
        "/v1/catalog/acme-signal").json()["versions"]}
    assert status["1.1.0"] == "quarantined"
    assert ops.post(f"{base}/lift", {"reason": "cleared"},
                    from_page="/ui/admin/releases").status_code == 303
    assert visit("acme").post(f"{base}/revoke", {"reason": "x"},
                              from_page="/ui/publisher").status_code == 403


# -- the review queue -------------------------------------------------------------------

@pytest.fixture(scope="module")
def queued(app, tmp_path_factory):
    """A release whose automated report passed, queued; reviewer keys of ada and grace."""
    from tracer_registry.certify import attestation as att
    from tracer_registry.certify import review as service
    from tracer_registry.certify.report import CheckResult, Report

    from tests.certification.build import FIXTURES, build_wheel

    tmp = tmp_path_factory.mktemp("review")
    wheel = build_wheel(FIXTURES / "benign", tmp)
    data = wheel.read_bytes()
    report = Report(plugin="tracer-certsample", version="1.0.0", wheel=wheel.name,
                    wheel_sha256=hashlib.sha256(data).hexdigest(), policy_version="test",
                    tracer_version="0", checks=[
                        CheckResult("conformance", "passed", "error", "the suite passed"),
                        CheckResult("static.network", "failed", "warning",
                                    "imports socket", {"file": "x.py", "line": 3})])
    keys = {}
    with session(app.state.settings) as s:
        review_id = service.submit(s, app.state.settings, report, data).id
        for name in ("ada", "grace"):
            key = att.generate_key()
            keys[name] = att.save_private(key, tmp / f"{name}.pem")
            service.register_reviewer_key(s, name, att.public_pem(key))
    return review_id, keys, tmp


def _sign(capsys, statement_file, key) -> dict[str, str]:
    from tracer.cli import main

    capsys.readouterr()
    assert main(["review", "sign", str(statement_file), "--key", str(key), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_reviewers_claim_read_sign_offline_and_approve(visit, app, people, queued, capsys):
    from tracer_registry.certify.models import CertificationApproval

    review_id, keys, tmp = queued
    ada, grace = visit("ada"), visit("grace")
    assert f"/ui/reviews/{review_id}" in ada.get("/ui/reviews").text
    page = ada.get(f"/ui/reviews/{review_id}").text
    assert "Severity: error (1)" in page and "Severity: warning (1)" in page
    assert "imports socket" in page and "no earlier certified version" in page
    assert ada.get(f"/ui/reviews/{review_id}/statement.json").status_code == 409  # unclaimed
    assert ada.post(f"/ui/reviews/{review_id}/claim",
                    from_page="/ui/reviews").status_code == 303
    page = ada.get(f"/ui/reviews/{review_id}").text
    assert "tracer review sign" in page and 'name="sig"' in page
    statement = ada.get(f"/ui/reviews/{review_id}/statement.json")
    by_api = api(app, people["ada"]).get(
        f"/v1/certification/reviews/{review_id}/statement").json()
    assert json.loads(statement.content) == by_api["statement"]
    (tmp / "statement.json").write_bytes(statement.content)
    # grace's key over the statement is not ada's signature: refused, nothing stored
    forged = _sign(capsys, tmp / "statement.json", keys["grace"])
    refused = ada.post(f"/ui/reviews/{review_id}/approve", forged, from_page="/ui/reviews")
    assert refused.status_code == 403, refused.text
    with session(app.state.settings) as s:
        assert s.query(CertificationApproval).filter_by(review_id=review_id).count() == 0
    signed = _sign(capsys, tmp / "statement.json", keys["ada"])
    answer = ada.post(f"/ui/reviews/{review_id}/approve", {**signed, "notes": "read it all"},
                      from_page="/ui/reviews")
    assert answer.status_code == 303, answer.text
    assert "Status <strong>queued</strong>" in ada.get(f"/ui/reviews/{review_id}").text
    assert grace.post(f"/ui/reviews/{review_id}/claim",
                      from_page="/ui/reviews").status_code == 303
    assert grace.post(f"/ui/reviews/{review_id}/reject", {"notes": ""},
                      from_page="/ui/reviews").status_code == 422
    signed = _sign(capsys, tmp / "statement.json", keys["grace"])
    assert grace.post(f"/ui/reviews/{review_id}/approve", signed,
                      from_page="/ui/reviews").status_code == 303
    page = grace.get(f"/ui/reviews/{review_id}").text
    assert "Status <strong>approved</strong>" in page and "Attestation" in page
    envelope = api(app, people["ada"]).get(
        "/v1/certification/releases/tracer-certsample/1.0.0/attestation").json()
    assert envelope["signatures"][0]["sig"] in page
    assert visit("alpha").get(f"/ui/reviews/{review_id}").status_code == 403


# -- payouts ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def statements(app):
    from tracer_registry.ledger.closing import close_period
    from tracer_registry.ledger.recurring import MONTH

    from tests.ledger.marketplace import open_market, use

    settings = app.state.settings
    open_market(settings, tenants=("initech", "hooli"))
    use(settings, "ui-i1", "initech", "install_period", "acme.churn", quantity=3 * MONTH)
    use(settings, "ui-p1", "hooli", "prediction", "acme.churn", quantity=500)
    close_period(settings, "2026-05", caused_by="test")


def test_a_publisher_reads_its_statements_charts_and_downloads(visit, app, people,
                                                               statements):
    acme = visit("acme")
    page = acme.get("/ui/payouts")
    assert page.status_code == 200 and "2026-05" in page.text
    assert re.search(r'<svg[^>]*role="img"', page.text) and "earnings" in page.text
    by_api = api(app, people["acme"]).get("/v1/payouts/statements/acme/2026-05/USD").json()
    body = by_api["statement"]
    from tracer_registry.ledger.exports import money

    detail = acme.get("/ui/payouts/2026-05/USD").text
    assert body["gross"] > 0
    for total in ("gross", "fees", "closing"):
        assert money(body[total], body["exponent"], "USD") in detail, total
    for fmt in ("csv", "json"):
        download = acme.get(f"/ui/payouts/2026-05/USD.{fmt}")
        assert download.status_code == 200
        assert "attachment" in download.headers["content-disposition"]
        same = api(app, people["acme"]).get("/v1/payouts/statements/acme/2026-05/USD",
                                            params={"format": fmt})
        assert download.content == same.content
    globex = visit("globex")
    theirs, none = globex.get("/ui/payouts/2026-05/USD"), globex.get("/ui/payouts/2026-04/USD")
    assert theirs.status_code == none.status_code == 404
    assert globex.get("/ui/payouts/2026-05/USD.csv").status_code == 404
    assert "2026-05" not in globex.get("/ui/payouts").text


def test_the_admin_reads_the_commission_report(visit, app, people, statements):
    page = visit("ops").get("/ui/admin/commission")
    assert page.status_code == 200
    report = api(app, people["ops"]).get("/v1/payouts/report").json()
    may = next(r for r in report if r["period"] == "2026-05")
    assert f"{may['commission'] / 100:,.2f} USD" in page.text


def test_every_registry_page_is_accessible_and_self_contained(visit, market, queued,
                                                              statements):
    review_id = queued[0]
    for who, pages in ((None, ["/ui/catalog", "/ui/catalog/acme-signal", "/ui/sign-in"]),
                       ("alpha", ["/ui/catalog/acme-signal"]),
                       ("acme", ["/ui/publisher", "/ui/payouts", "/ui/payouts/2026-05/USD"]),
                       ("ada", ["/ui/reviews", f"/ui/reviews/{review_id}"]),
                       ("ops", ["/ui/admin", "/ui/admin/releases", "/ui/admin/commission"])):
        browser = visit(who)
        for url in pages:
            answer = browser.get(url)
            assert answer.status_code == 200, url
            assert_accessible(url, answer.text)


def test_api_docs_render_from_the_server_itself(visit):
    browser = visit()
    for url in ("/docs", "/redoc"):
        page = browser.get(url)
        assert page.status_code == 200
        sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert sources and all(s.startswith("/") for s in sources), sources
        for source in sources:
            if source.endswith((".js", ".css")):
                asset = browser.get(source)
                assert asset.status_code == 200 and len(asset.content) > 10_000, source


def test_the_tenant_dashboard_shows_spend_this_period_priced_by_the_ledger(
        visit, app, statements):
    from tracer.db import utcnow
    from tracer.usage import record_usage
    from tracer_registry.ledger.recurring import MONTH

    with session(app.state.settings) as s:  # acme.churn: $20.00 a month, $0.004 a prediction
        # a whole month installed (what the period's close records for an install)
        record_usage(s, "spend-i1", tenant_id="bravo", kind="install_period",
                     domain="acme.churn", quantity=MONTH, occurred_at=utcnow())
        record_usage(s, "spend-p1", tenant_id="bravo", kind="prediction", domain="acme.churn",
                     quantity=500, occurred_at=utcnow())
    page = visit("bravo").get("/ui/dashboard").text
    spend = page.split('id="spend"', 1)[1].split("</section>", 1)[0]
    assert "20.00 USD" in spend and "2.00 USD" in spend
    assert "Total: <strong>22.00 USD</strong>" in spend
    assert "acme.churn" not in visit("alpha").get("/ui/dashboard").text.split(
        'id="spend"', 1)[1]
