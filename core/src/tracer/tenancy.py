"""Tenants and API keys.

Keys look like ``trk_<prefix>_<secret>``. Only a SHA-256 of the whole key is stored: the
secret is 32 random bytes, so a fast hash is as strong as a slow one here (slow hashes are
for low-entropy passwords) and keeps authentication off the latency budget. A key is shown
once, when issued; it can be revoked; a tenant can hold several.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
import unicodedata
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from tracer.db import utcnow
from tracer.errors import AuthError, ConflictError, NotFoundError, ValidationError
from tracer.models import ApiKey, Tenant

if TYPE_CHECKING:
    from collections.abc import Mapping

    from sqlalchemy.orm import Session

    from tracer.settings import Settings

ROLES = ("tenant", "publisher", "reviewer", "admin")
_SLUG = re.compile(r"^[a-z][a-z0-9-]{1,62}$")
#: the most characters a name may ever have, whatever ``api.max_name_chars`` says (request
#: schemas refuse longer ones before they reach the database)
NAME_CEILING = 1_000


@dataclass(frozen=True)
class Principal:
    """Who is calling: resolved from an API key on every request."""

    key_id: str
    role: str
    subject: str
    tenant_id: str | None

    @property
    def tenant(self) -> str:
        """The tenant a tenant key acts for; only admin and publisher keys have none (the
        routes that call this take tenant keys: ``tracer.api.auth.require_tenant``)."""
        if self.tenant_id is None:
            raise ValidationError("this key is not bound to a tenant")
        return self.tenant_id


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _limits(settings: Settings | None) -> Settings:
    from tracer.settings import get_settings

    return settings or get_settings()


def check_name(name: str, what: str, field: str, settings: Settings | None = None) -> None:
    """A label a person reads (key names, tenant names, subjects): at most
    ``api.max_name_chars`` characters, none of them control or format characters (newlines
    forge log lines, NUL cannot be stored, bidi overrides disguise names)."""
    limit = _limits(settings).api.max_name_chars
    if len(name) > limit:
        raise ValidationError(f"{what} is at most {limit} characters (setting "
                              f"api.max_name_chars), got {len(name)}", field=field,
                              setting="api.max_name_chars", limit=limit)
    bad = next((c for c in name if unicodedata.category(c) in ("Cc", "Cf")), None)
    if bad is not None:
        raise ValidationError(f"{what} may not contain control or format characters "
                              f"(found U+{ord(bad):04X})", field=field)


def create_tenant(s: Session, tenant_id: str, name: str, tier: str,
                  tiers: Mapping[str, object], settings: Settings | None = None) -> Tenant:
    check_name(name, "a tenant name", "name", settings)
    if not _SLUG.match(tenant_id):
        raise ValidationError(f"tenant id {tenant_id!r}: use 2–63 lower-case letters, digits "
                              "and '-', starting with a letter", field="id")
    if tier not in tiers:
        raise ValidationError(f"unknown tier {tier!r} (tiers: {', '.join(tiers)})", field="tier")
    if s.get(Tenant, tenant_id) is not None:
        raise ConflictError(f"tenant {tenant_id!r} exists already", tenant=tenant_id)
    tenant = Tenant(id=tenant_id, name=name, tier=tier)
    s.add(tenant)
    s.flush()
    return tenant


def issue_key(s: Session, role: str, *, tenant_id: str | None = None,
              subject: str | None = None, name: str = "",
              settings: Settings | None = None) -> tuple[ApiKey, str]:
    """Create a key; returns the row and the plaintext key (shown once, never stored).

    One holder (a tenant, or the subject of a non-tenant key) has at most
    ``api.max_active_keys`` unrevoked keys: a leaked session cannot mint keys without bound,
    and listing keys stays cheap."""
    if role not in ROLES:
        raise ValidationError(f"unknown role {role!r} (roles: {', '.join(ROLES)})", field="role")
    if role == "tenant":
        if tenant_id is None or s.get(Tenant, tenant_id) is None:
            raise NotFoundError(f"tenant {tenant_id!r} does not exist", tenant=tenant_id)
        subject = tenant_id
    if not subject:
        raise ValidationError(f"a {role} key needs a subject (who holds it)", field="subject")
    check_name(name, "a key name", "name", settings)
    check_name(subject, "a key subject", "subject", settings)
    most = _limits(settings).api.max_active_keys
    holder = ApiKey.tenant_id == tenant_id if role == "tenant" else (
        (ApiKey.subject == subject) & (ApiKey.role == role))
    active = s.scalar(select(func.count()).select_from(ApiKey).where(
        holder, ApiKey.revoked_at.is_(None))) or 0
    if active >= most:
        raise ConflictError(f"{subject} already holds {active} active API keys, the most "
                            f"allowed ({most}); revoke one first (setting api.max_active_keys)",
                            setting="api.max_active_keys", limit=most)
    prefix = secrets.token_hex(6)
    plaintext = f"trk_{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey(id=str(uuid.uuid4()), prefix=prefix, key_hash=_digest(plaintext), role=role,
                 tenant_id=tenant_id if role == "tenant" else None, subject=subject, name=name)
    s.add(key)
    s.flush()
    return key, plaintext


def revoke_key(s: Session, key_id: str, *, tenant_id: str | None = None) -> ApiKey:
    key = s.get(ApiKey, key_id)
    if key is None or (tenant_id is not None and key.tenant_id != tenant_id):
        raise NotFoundError(f"API key {key_id} not found", key=key_id)
    if key.revoked_at is None:
        key.revoked_at = utcnow()
    forget_verified()
    return key


#: verified keys: sha256 of the key -> (principal, monotonic expiry); see api.auth_cache_seconds
_VERIFIED: dict[str, tuple[Principal, float]] = {}
_VERIFIED_MAX = 10_000


def remember_verified(plaintext: str, principal: Principal, ttl: float) -> None:
    if ttl > 0:
        if len(_VERIFIED) >= _VERIFIED_MAX:
            _VERIFIED.clear()
        _VERIFIED[_digest(plaintext)] = (principal, time.monotonic() + ttl)


def recall_verified(plaintext: str | None) -> Principal | None:
    if not plaintext or not _VERIFIED:
        return None
    hit = _VERIFIED.get(_digest(plaintext))
    return hit[0] if hit is not None and hit[1] > time.monotonic() else None


def forget_verified() -> None:
    """Drop every cached verification (a key was revoked or a tenant deactivated)."""
    _VERIFIED.clear()


def authenticate(s: Session, plaintext: str | None) -> Principal:
    """Resolve a presented key; every failure is the same 401 (no oracle for guessers)."""
    failure = AuthError("missing or invalid API key (send 'Authorization: Bearer trk_…')")
    if not plaintext or not plaintext.startswith("trk_") or plaintext.count("_") < 2:
        raise failure
    prefix = plaintext.split("_", 2)[1]
    key = s.scalars(select(ApiKey).where(ApiKey.prefix == prefix)).first()
    if key is None or key.revoked_at is not None:
        raise failure
    if not hmac.compare_digest(key.key_hash, _digest(plaintext)):
        raise failure
    return _principal(s, key, failure)


def principal_of_key(s: Session, key_id: str) -> Principal:
    """The holder of a key verified earlier (a console session names its key id): the key
    must still be unrevoked and its tenant active, exactly as ``authenticate`` requires."""
    failure = AuthError("your session's API key was revoked or its tenant deactivated; "
                        "sign in again")
    key = s.get(ApiKey, key_id)
    if key is None or key.revoked_at is not None:
        raise failure
    return _principal(s, key, failure)


def _principal(s: Session, key: ApiKey, failure: AuthError) -> Principal:
    if key.tenant_id is not None:
        tenant = s.get(Tenant, key.tenant_id)
        if tenant is None or not tenant.active:
            raise failure
    return Principal(key_id=key.id, role=key.role, subject=key.subject, tenant_id=key.tenant_id)
