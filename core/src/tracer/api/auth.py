"""Who is calling: API keys on every request, and role checks as FastAPI dependencies.

Routes declare the roles they admit; the dependency resolves the ``Authorization: Bearer
trk_…`` key to a ``tracer.tenancy.Principal`` or raises the one 401/403 problem. No role
implies another: a route that admits admins lists ``"admin"``. Tenant-scoped routes use
``require_tenant`` and then only ever query with ``principal.tenant_id``: that is what makes
another tenant's objects answer 404, exactly like objects that do not exist.

Plugins that add routes through ``tracer_routes(app)`` use the same dependencies::

    from tracer.api.auth import require_roles

    @router.post("/v1/releases/{rid}/approve")
    def approve(rid: str,
                who: Annotated[Principal, Depends(require_roles("reviewer", "admin"))]): ...
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from tracer.db import session
from tracer.errors import ForbiddenError, ValidationError
from tracer.settings import Settings, get_settings
from tracer.tenancy import ROLES, Principal, authenticate, recall_verified, remember_verified

__all__ = ["Principal", "TenantPrincipal", "current_principal", "require_roles",
           "require_tenant", "settings_of", "verify_key"]

_bearer = HTTPBearer(auto_error=False, scheme_name="ApiKey",
                     description="An API key: `Authorization: Bearer trk_<prefix>_<secret>`. "
                                 "Keys carry one role: tenant, publisher, reviewer or admin.")


def settings_of(request: Request) -> Settings:
    """The settings of the app serving ``request`` (the process settings by default)."""
    return getattr(request.app.state, "settings", None) or get_settings()


async def current_principal(request: Request,
                      credentials: Annotated[HTTPAuthorizationCredentials | None,
                                            Depends(_bearer)],
                      ) -> Principal:
    """Any valid key, whatever its role; 401 otherwise (one answer for every failure).

    Dependencies are ``async``: a sync one runs on a worker thread, which costs more than
    the check itself once the key is cached (a miss reads the database briefly on the loop).
    """
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    plaintext = credentials.credentials if credentials is not None else None
    principal = verify_key(settings_of(request), plaintext)
    request.state.principal = principal
    return principal


def verify_key(settings: Settings, plaintext: str | None) -> Principal:
    """The one key check of every entry point (REST dependencies, the MCP endpoint): a key
    verified within ``api.auth_cache_seconds`` is trusted, any other is looked up (hashed,
    revocation, active tenant); every failure is the same ``AuthError``."""
    principal = recall_verified(plaintext)
    if principal is None:
        with session(settings) as s:
            principal = authenticate(s, plaintext)  # refuses a missing key
        remember_verified(plaintext or "", principal, settings.api.auth_cache_seconds)
    return principal


def require_roles(*roles: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency admitting keys whose role is one of ``roles`` (403 for other roles)."""
    unknown = [r for r in roles if r not in ROLES]
    if not roles or unknown:
        raise ValueError(f"require_roles needs roles from {ROLES}, got {roles!r}")
    allowed = frozenset(roles)

    async def dependency(principal: Annotated[Principal, Depends(current_principal)]
                         ) -> Principal:
        if principal.role not in allowed:
            raise ForbiddenError(f"this route needs a key with role {' or '.join(roles)}; "
                                 f"yours has role {principal.role}",
                                 required=sorted(allowed))
        return principal

    dependency.__name__ = f"require_{'_or_'.join(roles)}"
    dependency.roles = allowed  # type: ignore[attr-defined]  # lets tests walk every route
    return dependency


_tenant_role = require_roles("tenant")


@dataclass(frozen=True)
class TenantPrincipal(Principal):
    """A principal whose ``tenant_id`` is known to be set: what ``require_tenant`` hands a
    route, so the type checker proves every tenant-scoped query gets a tenant id."""

    tenant_id: str


async def require_tenant(principal: Annotated[Principal, Depends(_tenant_role)]
                         ) -> TenantPrincipal:
    """A tenant key (bound to one tenant): every tenant-scoped route uses this."""
    if principal.tenant_id is None:  # pragma: no cover - issue_key binds tenant keys
        raise ValidationError("this tenant key is not bound to a tenant")
    return TenantPrincipal(key_id=principal.key_id, role=principal.role,
                           subject=principal.subject, tenant_id=principal.tenant_id)
