"""Console fixtures: the real API app (workspace plugins: registry, certification, ledger)
behind TestClient, one cookie jar per person, and helpers that submit a page's forms the
way a browser does (with the CSRF token the page carries)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient

LOL = "esports/lol-10min"
TOKEN = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class Visitor:
    """One browser: its own cookies; ``post`` sends a form with the page's CSRF token."""

    client: TestClient
    key: str | None = None
    pages: list[str] = field(default_factory=list)

    def get(self, url: str, **kw):
        answer = self.client.get(url, **kw)
        self.pages.append(url)
        return answer

    def token(self, url: str = "/ui/sign-in") -> str:
        page = self.client.get(url)
        found = TOKEN.search(page.text)
        assert found, f"{url} carries no CSRF token ({page.status_code})"
        return found.group(1)

    def post(self, url: str, data: dict | None = None, *, from_page: str | None = None,
             follow: bool = False):
        data = {"csrf": self.token(from_page or "/ui/sign-in"), **(data or {})}
        return self.client.post(url, data=data, follow_redirects=follow)

    def sign_in(self) -> Visitor:
        answer = self.post("/ui/sign-in", {"api_key": self.key, "next": ""})
        assert answer.status_code == 303, answer.text
        return self


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """One platform per test module (migrating every plugin's tables and opening the MLflow
    store is most of a test's cost); tests in a module use their own people or objects."""
    from tracer.api import create_app
    from tracer.host import PluginHost
    from tracer.settings import Settings
    from tracer.tracking import ModelStore

    home = tmp_path_factory.mktemp("ui") / "tracer-home"
    settings = Settings(home=home, training={"bootstrap_samples": 100})
    settings.ensure_home()
    host = PluginHost(settings)
    app = create_app(settings, host, ModelStore(settings))
    app.state.certify_on_publish = False  # the validator worker is not under test here
    yield app
    if host._pool is not None:
        host.pool.kill()


@pytest.fixture(scope="module")
def people(app) -> dict[str, str]:
    """API keys: tenants alpha and bravo, publishers acme and globex, reviewers ada and
    grace, admin ops."""
    from tracer import tenancy
    from tracer.db import session

    settings = app.state.settings
    keys = {}
    with session(settings) as s:
        for tenant in ("alpha", "bravo"):
            tenancy.create_tenant(s, tenant, tenant.title(), "professional", settings.tiers)
            keys[tenant] = tenancy.issue_key(s, "tenant", tenant_id=tenant, name="first")[1]
        for role, subject in (("publisher", "acme"), ("publisher", "globex"),
                              ("reviewer", "ada"), ("reviewer", "grace"), ("admin", "ops")):
            keys[subject] = tenancy.issue_key(s, role, subject=subject)[1]
    return keys


@pytest.fixture(scope="module")
def visit(app, people):
    """``visit("alpha")``: a signed-in browser of that person; ``visit()``: signed out."""
    def make(who: str | None = None) -> Visitor:
        visitor = Visitor(TestClient(app, raise_server_exceptions=False),
                          people[who] if who else None)
        return visitor.sign_in() if who else visitor

    return make


@pytest.fixture(scope="module")
def market(app, people, tmp_path_factory):
    """acme publishes acme-signal 1.0.0 and 1.1.0 (key-signed); globex publishes nothing."""
    from tracer.db import session
    from tracer_registry.catalog import set_price_plan
    from tracer_registry.signing import generate_key, load_private_key, sign_with_key

    from tests.registry.artifacts import make_wheel

    ops = api(app, people["ops"])
    for pid, name in (("acme", "Acme Analytics"), ("globex", "Globex")):
        assert ops.post("/v1/publishers", json={"id": pid, "name": name}).status_code == 201
    keys = tmp_path_factory.mktemp("keys")
    public = generate_key(keys / "acme.pem")
    acme = api(app, people["acme"])
    assert acme.post("/v1/publishers/acme/keys", json={"namespace": "acme-*",
                                                       "public_pem": public}).status_code == 201
    assert acme.post("/v1/publishers/acme/domains", json={"prefix": "acme"}).status_code == 201
    key = load_private_key(keys / "acme.pem")
    for version in ("1.0.0", "1.1.0"):
        filename, wheel = make_wheel(version=version)
        answer = acme.post("/v1/releases", data={"domains": "acme/signal"}, files={
            "wheel": (filename, wheel, "application/octet-stream"),
            "bundle": (f"{filename}.sigstore.json", sign_with_key(wheel, filename, key),
                       "application/json")})
        assert answer.status_code == 201, answer.text
    with session(app.state.settings) as s:
        set_price_plan(s, "acme-signal", currency="USD", monthly_fee_minor=2_000,
                       per_prediction_micros=4_000)
    return acme


def api(app, key: str) -> TestClient:
    client = TestClient(app, raise_server_exceptions=False)
    client.headers["Authorization"] = f"Bearer {key}"
    return client


class _Audit(HTMLParser):
    """What an accessibility and self-containment audit needs from one page."""

    def __init__(self) -> None:
        super().__init__()
        self.h1 = 0
        self.lang = None
        self.ids: set[str] = set()
        self.label_for: set[str] = set()
        self.fields: list[tuple[str, dict]] = []
        self.open_labels = 0
        self.images_without_alt = 0
        self.external: list[str] = []
        self.skip_link = False
        self.main = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "html":
            self.lang = a.get("lang")
        elif tag == "h1":
            self.h1 += 1
        elif tag == "main":
            self.main = True
        elif tag == "label":
            self.open_labels += 1
            if "for" in a:
                self.label_for.add(a["for"])
        elif tag in ("input", "select", "textarea") and a.get("type") != "hidden":
            self.fields.append((tag, {**a, "_wrapped": self.open_labels > 0}))
        elif tag == "img" and not a.get("alt"):
            self.images_without_alt += 1
        elif tag == "a" and a.get("href") == "#main":
            self.skip_link = True
        for name in ("src", "href", "action"):
            value = a.get(name) or ""
            if value.startswith(("http:", "https:", "//")):
                self.external.append(value)

    def handle_endtag(self, tag):
        if tag == "label":
            self.open_labels -= 1


def assert_accessible(url: str, text: str) -> None:
    """One h1, a language, a skip link to <main>, a label for every field, alt text on
    every image, and nothing loaded from another origin."""
    audit = _Audit()
    audit.feed(text)
    assert audit.lang == "en", url
    assert audit.h1 == 1, (url, audit.h1)
    assert audit.skip_link and audit.main and "main" in audit.ids, url
    for tag, attrs in audit.fields:
        labelled = attrs["_wrapped"] or attrs.get("id") in audit.label_for or \
            attrs.get("aria-label")
        assert labelled, (url, tag, attrs)
    assert audit.images_without_alt == 0, url
    assert not audit.external, (url, audit.external)
