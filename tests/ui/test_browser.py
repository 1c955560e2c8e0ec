"""The console in a real browser: Debian's chromium, driven by Playwright, against a live
uvicorn server on 127.0.0.1. Few tests, each one user's whole path:

- a tenant signs in (keyboard only), finds a domain, installs, enables, trains, watches
  the job finish (the page's script polls) and sees the dashboard with its new champion;
- a tenant searches the catalog, opens a listing and installs it;
- a reviewer claims, reads, pastes an offline signature and approves; a publisher reads
  its statement with its chart and downloads the CSV.

``TRACER_UI_SCREENSHOTS=docs/ui`` writes a screenshot of each page there (the README's).
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
import threading
import time
from pathlib import Path

import pytest
from tracer.db import session

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]
CHROMIUM = Path("/usr/bin/chromium")
SHOTS = os.environ.get("TRACER_UI_SCREENSHOTS")


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is not installed (bash .ci/chromium installs Debian's chromium)"
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the browser tests: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        # root in CI: chromium's own sandbox needs user namespaces it may not get
        launched = p.chromium.launch(executable_path=str(CHROMIUM),
                                     args=["--no-sandbox", "--disable-gpu"])
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def server(app):
    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    live = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                         log_level="warning", lifespan="on"))
    thread = threading.Thread(target=live.run, daemon=True)
    thread.start()
    for _ in range(400):  # bounded: the server starts or the test fails
        if live.started:
            break
        time.sleep(0.05)
    assert live.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}"
    live.should_exit = True
    thread.join(timeout=30)


def _shot(page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def _page(browser, server):
    context = browser.new_context(base_url=server, viewport={"width": 1200, "height": 900})
    page = context.new_page()
    outside: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(server) else outside.append(r.url))
    return page, outside


def _sign_in(page, key: str, shot: str | None = None) -> None:
    page.goto("/ui/sign-in")
    expect_focus = page.locator(":focus")
    assert expect_focus.get_attribute("id") == "api_key"  # autofocus: type at once
    page.keyboard.type(key)
    if shot:
        _shot(page, shot)
    page.keyboard.press("Enter")
    page.wait_for_load_state()


def test_a_tenant_finds_installs_enables_trains_and_sees_the_dashboard(browser, server,
                                                                       app, people):
    from playwright.sync_api import expect
    from tracer.api.demo import demo_domain

    domain = demo_domain(app.state.platform.host)
    page, outside = _page(browser, server)
    page.goto("/ui/domains")
    page.keyboard.press("Tab")  # the first stop is the skip link
    expect(page.locator(":focus")).to_have_text("Skip to content")
    page.keyboard.press("Enter")
    expect(page.locator(":focus")).to_have_attribute("id", "main")
    _sign_in(page, people["alpha"], "sign-in")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Dashboard")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Domains").click()
    page.get_by_role("link", name=domain, exact=True).click()
    _shot(page, "domain")
    page.get_by_role("button", name=f"Install {domain}").click()
    page.get_by_role("button", name=f"Enable {domain}").click()
    expect(page.get_by_text("Installed and enabled")).to_be_visible()
    page.get_by_role("link", name=f"Your models of {domain}").click()
    page.get_by_role("button", name="Train a new version").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Training job")
    # the page's script swaps in the progress until the worker is done (bounded wait)
    expect(page.locator("#job-progress")).to_have_attribute(
        "data-status", re.compile("succeeded|failed"), timeout=900_000)
    expect(page.locator("#job-progress")).to_have_attribute("data-status", "succeeded")
    _shot(page, "job")
    page.get_by_role("link", name=f"See the models of {domain}").click()
    expect(page.get_by_role("cell", name="challenger, champion")).to_be_visible()
    expect(page.get_by_role("img", name=re.compile("Reliability plot"))).to_be_visible()
    _shot(page, "domain-dashboard")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Dashboard").click()
    expect(page.get_by_role("cell", name="succeeded")).to_be_visible()
    _shot(page, "dashboard")
    assert not outside, outside  # nothing loaded from another origin


def test_a_tenant_finds_a_listing_in_the_catalog_and_installs_it(browser, server, people,
                                                                  market):
    from playwright.sync_api import expect

    page, outside = _page(browser, server)
    _sign_in(page, people["bravo"])
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Catalog").click()
    page.get_by_label("Search", exact=True).fill("signal")
    page.get_by_label("Publisher").fill("acme")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_text("1 listing found")).to_be_visible()
    _shot(page, "catalog")
    page.get_by_role("link", name="acme-signal").click()
    expect(page.get_by_text("Verified identity: key signature")).to_be_visible()
    _shot(page, "listing")
    page.get_by_role("button", name="Install acme-signal").click()
    expect(page.get_by_role("status")).to_contain_text("Installed for you")
    assert not outside, outside


def test_a_reviewer_approves_with_an_offline_signature_and_a_publisher_reads_payouts(
        browser, server, app, people, tmp_path):
    from playwright.sync_api import expect
    from tracer_registry.certify import attestation as att
    from tracer_registry.certify import review as service
    from tracer_registry.certify.report import CheckResult, Report
    from tracer_registry.ledger.closing import close_period

    from tests.certification.build import FIXTURES, build_wheel
    from tests.ledger.marketplace import open_market, use

    settings = app.state.settings
    wheel = build_wheel(FIXTURES / "benign", tmp_path)
    data = wheel.read_bytes()
    report = Report(plugin="tracer-certsample", version="1.0.0", wheel=wheel.name,
                    wheel_sha256=hashlib.sha256(data).hexdigest(), policy_version="test",
                    tracer_version="0",
                    checks=[CheckResult("conformance", "passed", "error", "the suite passed")])
    keys = {}
    with session(settings) as s:
        review_id = service.submit(s, settings, report, data).id
        for name in ("ada", "grace"):
            keys[name] = att.save_private(att.generate_key(), tmp_path / f"{name}.pem")
            service.register_reviewer_key(s, name, att.public_pem(att.load_private(
                keys[name])))
    from tracer_registry.ledger.recurring import MONTH

    open_market(settings, tenants=("initech",))
    use(settings, "b-i1", "initech", "install_period", "acme.churn", quantity=2 * MONTH)
    close_period(settings, "2026-05", caused_by="test")

    page, outside = _page(browser, server)
    _sign_in(page, people["grace"])
    page.get_by_role("link", name="tracer-certsample 1.0.0").click()
    page.get_by_role("button", name="Claim this review").click()
    with session(settings) as s:  # what `tracer review sign` does on grace's machine
        keyid, sig = service.sign_statement(service.statement(s, review_id), keys["grace"])
    page.get_by_label("keyid").fill(keyid)
    page.get_by_label("sig (base64)").fill(sig)
    page.get_by_label("Notes for the publisher").fill("read every file")
    _shot(page, "review")
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_text("Status queued")).to_be_visible()  # one of two approvals
    with session(settings) as s:  # the second reviewer, through the service
        service.claim(s, review_id, "ada")
        service.approve_with_key(s, settings, review_id, "ada", keys["ada"])
    page.reload()
    expect(page.get_by_text("Status approved")).to_be_visible()
    expect(page.get_by_role("heading", name="Attestation")).to_be_visible()

    publisher, outside_too = _page(browser, server)
    _sign_in(publisher, people["acme"])
    publisher.get_by_role("navigation", name="Main").get_by_role("link", name="Payouts").click()
    expect(publisher.get_by_role("img", name=re.compile("Earnings"))).to_be_visible()
    _shot(publisher, "payouts")
    publisher.get_by_role("link", name="2026-05").click()
    with publisher.expect_download() as download:
        publisher.get_by_role("link", name="Download CSV").click()
    assert download.value.suggested_filename == "statement-acme-2026-05-USD.csv"
    assert "total:closing" in Path(download.value.path()).read_text()
    assert not outside and not outside_too
