"""Signing in with an API key, the session cookie, CSRF, sign-out, expiry and revocation."""

from __future__ import annotations

import time

import pytest
from tracer.db import session
from tracer.models import ApiKey
from tracer.ui import sessions

from tests.ui.conftest import Visitor

# one worker builds this module's platform once (module-scoped fixtures)
pytestmark = pytest.mark.xdist_group("ui-sessions")


def _cookie_headers(answer) -> dict[str, str]:
    return {h.split("=", 1)[0]: h for h in answer.headers.get_list("set-cookie")}


def test_sign_in_sets_a_signed_httponly_samesite_cookie_that_never_holds_the_key(
        visit, people, app):
    v = visit()
    page = v.get("/ui/sign-in")
    assert page.status_code == 200 and 'type="password"' in page.text
    answer = v.post("/ui/sign-in", {"api_key": people["alpha"], "next": ""})
    assert answer.status_code == 303 and answer.headers["location"] == "/ui/dashboard"
    cookies = _cookie_headers(answer)
    jar = cookies[sessions.SESSION_COOKIE]
    for flag in ("HttpOnly", "SameSite=lax", "Path=/ui", "Max-Age="):
        assert flag in jar, jar
    assert "Secure" not in jar  # plain HTTP here; Secure is set when the request is TLS
    secret = people["alpha"].split("_", 2)[2]
    assert secret not in jar and people["alpha"] not in jar
    assert "HttpOnly" in cookies[sessions.CSRF_COOKIE]
    assert "Signed in as" in v.get("/ui/dashboard").text


def test_over_tls_the_cookie_is_secure(app, people):
    from fastapi.testclient import TestClient

    v = Visitor(TestClient(app, base_url="https://testserver"), people["alpha"])
    answer = v.post("/ui/sign-in", {"api_key": people["alpha"]})
    assert "Secure" in _cookie_headers(answer)[sessions.SESSION_COOKIE]


def test_a_wrong_key_is_refused_and_sets_no_session(visit, people):
    v = visit()
    # the sign-in form is CSRF-protected too: no logging a victim into an attacker's account
    forced = v.client.post("/ui/sign-in", data={"api_key": people["alpha"]})
    assert forced.status_code == 403 and sessions.SESSION_COOKIE not in _cookie_headers(forced)
    answer = v.post("/ui/sign-in", {"api_key": "trk_nothere_xxxxxxxx"})
    assert answer.status_code == 401
    assert "not valid" in answer.text
    assert sessions.SESSION_COOKIE not in _cookie_headers(answer)
    assert v.get("/ui/dashboard", follow_redirects=False).status_code == 303


def test_signed_out_pages_redirect_to_sign_in_and_back_but_never_off_site(visit, people):
    v = visit()
    answer = v.get("/ui/dashboard/esports/lol-10min", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/ui/sign-in?next=/ui/dashboard/esports/lol-10min"
    back = v.post("/ui/sign-in", {"api_key": people["alpha"], "next": "/ui/keys-page"})
    assert back.headers["location"] == "/ui/keys-page"
    for evil in ("https://evil.example/", "//evil.example/ui/", "/ui/\\evil", "/v1/keys"):
        w = visit()
        answer = w.post("/ui/sign-in", {"api_key": people["alpha"], "next": evil})
        assert answer.headers["location"] == "/ui/dashboard", evil


def test_a_form_without_the_csrf_token_is_refused_and_changes_nothing(visit, app):
    v = visit("alpha")
    with session(app.state.settings) as s:
        before = s.query(ApiKey).count()
    for data in ({"name": "forged"}, {"name": "forged", "csrf": "not-the-token"}):
        answer = v.client.post("/ui/keys", data=data, follow_redirects=False)
        assert answer.status_code == 403
        assert "CSRF" in answer.text
    # a token from another browser's session does not work here either
    other = visit("bravo")
    stolen = other.token("/ui/dashboard")
    answer = v.client.post("/ui/keys", data={"name": "forged", "csrf": stolen})
    assert answer.status_code == 403
    with session(app.state.settings) as s:
        assert s.query(ApiKey).count() == before
    # the same form with the page's token works
    assert v.post("/ui/keys", {"name": "real"}, from_page="/ui/dashboard").status_code == 201


def test_sign_out_ends_the_session(visit):
    v = visit("alpha")
    answer = v.post("/ui/sign-out", from_page="/ui/dashboard")
    assert answer.status_code == 303
    assert v.get("/ui/dashboard", follow_redirects=False).status_code == 303


def test_a_tampered_or_expired_cookie_is_no_session(visit, app):
    v = visit("alpha")
    value = v.client.cookies.get(sessions.SESSION_COOKIE)
    secret = app.state.console.secret
    sess = sessions.decode_session(secret, value)
    assert sess is not None
    assert sessions.decode_session(secret, value, now=sess.expires + 1) is None
    body, sig = value.split(".")
    forged = sessions.encode_session(b"another secret", sess)
    for bad in (forged, body + "." + sig[::-1], body[:-2] + "." + sig, "garbage"):
        assert sessions.decode_session(secret, bad) is None
        v.client.cookies.clear()  # the bad cookie alone, whatever path the jar kept
        v.client.cookies.set(sessions.SESSION_COOKIE, bad, path="/ui")
        assert v.get("/ui/dashboard", follow_redirects=False).status_code == 303
    expired = sessions.encode_session(secret, sessions.ConsoleSession(
        sess.key_id, int(time.time()) - 1, sess.nonce))
    v.client.cookies.clear()
    v.client.cookies.set(sessions.SESSION_COOKIE, expired, path="/ui")
    assert v.get("/ui/dashboard", follow_redirects=False).status_code == 303


def test_revoking_the_key_ends_its_sessions_at_once(app):
    from fastapi.testclient import TestClient
    from tracer.tenancy import issue_key

    with session(app.state.settings) as s:
        key, plaintext = issue_key(s, "tenant", tenant_id="bravo", name="short-lived")
        key_id = key.id
    v = Visitor(TestClient(app), plaintext).sign_in()
    assert v.get("/ui/dashboard").status_code == 200
    # revoked from the console itself, with the CSRF token of its page
    assert v.post(f"/ui/keys/{key_id}/revoke", from_page="/ui/dashboard").status_code == 303
    assert v.get("/ui/dashboard", follow_redirects=False).status_code == 303


def test_the_secret_is_made_once_and_kept_private(app):
    import stat

    path = app.state.settings.home / "ui-secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sessions.secret_of(app.state.settings) == app.state.console.secret
