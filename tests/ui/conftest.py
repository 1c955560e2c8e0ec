"""Console fixtures: the real API app (workspace plugins: registry, certification, ledger)
behind TestClient, one cookie jar per person, and helpers that submit a page's forms the
way a browser does (with the CSRF token the page carries)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

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
    settings = Settings(home=home, bootstrap_samples=100)
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


def api(app, key: str) -> TestClient:
    client = TestClient(app, raise_server_exceptions=False)
    client.headers["Authorization"] = f"Bearer {key}"
    return client
