"""Console sessions and CSRF tokens: signed cookies, no server-side secret per user.

Signing in presents an API key once; the server verifies it (``tenancy.authenticate``) and
sets a session cookie naming the key's *id*, an expiry and a nonce, signed with HMAC-SHA256.
The key itself is never stored or echoed. Every request re-reads the key row
(``tenancy.principal_of_key``): revoking the key or deactivating the tenant ends its
sessions at once. Cookies are HttpOnly, SameSite=Lax, and Secure when the request came over
TLS.

CSRF: every form carries a token that is an HMAC of a per-browser random cookie (and of the
session nonce when signed in). A cross-site page can neither read the cookie nor compute
the token, so a forged POST is refused with 403 and changes nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from fastapi import Request
from fastapi.responses import Response

from tracer.db import session
from tracer.errors import AuthError, ForbiddenError
from tracer.settings import Settings
from tracer.tenancy import Principal, principal_of_key

SESSION_COOKIE = "tracer_session"
CSRF_COOKIE = "tracer_csrf"
CSRF_FIELD = "csrf"


def secret_of(settings: Settings) -> bytes:
    """The signing secret: the setting, else ``<home>/ui-secret`` (made once, mode 0600)."""
    if settings.ui.secret:
        return settings.ui.secret.encode()
    path = Path(settings.ensure_home()) / "ui-secret"
    if not path.exists():
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another worker made it first
            pass
        else:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(48))
    return path.read_text().strip().encode()


def _sign(secret: bytes, data: bytes) -> str:
    return base64.urlsafe_b64encode(hmac.new(secret, data, hashlib.sha256).digest()
                                    ).decode().rstrip("=")


@dataclass(frozen=True)
class ConsoleSession:
    key_id: str
    expires: int
    nonce: str


def encode_session(secret: bytes, sess: ConsoleSession) -> str:
    body = base64.urlsafe_b64encode(json.dumps(
        {"k": sess.key_id, "e": sess.expires, "n": sess.nonce}).encode()).decode().rstrip("=")
    return f"{body}.{_sign(secret, body.encode())}"


def decode_session(secret: bytes, value: str | None, now: float | None = None
                   ) -> ConsoleSession | None:
    """The session in a cookie, or None when it is absent, forged, altered or expired."""
    if not value or value.count(".") != 1:
        return None
    body, signature = value.split(".")
    if not hmac.compare_digest(signature, _sign(secret, body.encode())):
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        sess = ConsoleSession(str(data["k"]), int(data["e"]), str(data["n"]))
    except (ValueError, KeyError, TypeError):
        return None
    return sess if sess.expires > (now if now is not None else time.time()) else None


def _secret(request: Request) -> bytes:
    secret: bytes = request.app.state.console.secret  # tracer.ui.Console, set by mount_console
    return secret


def current_session(request: Request) -> ConsoleSession | None:
    return decode_session(_secret(request), request.cookies.get(SESSION_COOKIE))


def principal_or_none(request: Request) -> Principal | None:
    """Who is signed in (re-checked against the key row on every request), or None."""
    if "console_principal" in request.scope:
        cached: Principal | None = request.scope["console_principal"]  # stored below
        return cached
    sess = current_session(request)
    principal = None
    if sess is not None:
        try:
            with session(request.app.state.settings) as s:
                principal = principal_of_key(s, sess.key_id)
        except AuthError:
            principal = None
    request.scope["console_principal"] = principal
    return principal


def start_session(request: Request, response: Response, principal: Principal) -> None:
    settings = request.app.state.settings
    sess = ConsoleSession(principal.key_id, int(time.time()) + settings.ui.session_seconds,
                          secrets.token_urlsafe(16))
    _set(request, response, SESSION_COOKIE, encode_session(_secret(request), sess),
         settings.ui.session_seconds)
    # a fresh CSRF cookie with the new session: a token seen before sign-in is worthless
    _set(request, response, CSRF_COOKIE, secrets.token_urlsafe(24), None)


def end_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/ui")
    response.delete_cookie(CSRF_COOKIE, path="/ui")


def _set(request: Request, response: Response, name: str, value: str,
         max_age: int | None) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/ui", httponly=True,
                        samesite="lax", secure=request.url.scheme == "https")


def csrf_token(request: Request) -> tuple[str, str | None]:
    """The token this browser's forms carry, and a new CSRF cookie to set (or None)."""
    cookie = request.cookies.get(CSRF_COOKIE)
    fresh = None
    if not cookie:
        cookie = fresh = request.scope.setdefault("console_csrf", secrets.token_urlsafe(24))
    sess = current_session(request)
    return _token(_secret(request), cookie, sess.nonce if sess else ""), fresh


def _token(secret: bytes, cookie: str, nonce: str) -> str:
    return _sign(secret, f"csrf|{cookie}|{nonce}".encode())


def set_csrf_cookie(request: Request, response: Response, fresh: str | None) -> None:
    if fresh:
        _set(request, response, CSRF_COOKIE, fresh, None)


def check_csrf(request: Request, presented: str | None) -> None:
    """Refuse (403) a form whose token does not match this browser's cookie and session."""
    cookie = request.cookies.get(CSRF_COOKIE)
    sess = current_session(request)
    expected = _token(_secret(request), cookie, sess.nonce if sess else "") if cookie else None
    if not presented or expected is None or not hmac.compare_digest(presented, expected):
        raise ForbiddenError("this form's CSRF token is missing or does not match your "
                             "session; reload the page and submit it again", check="csrf")
