"""Which domains each tenant installed, and which of those it enabled.

A tenant installs a domain the host has loaded (the registry will put signature checks in
front of this); installed is not enabled. An install is billable: its usage event is written
in the same transaction as the install row.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Table, and_, bindparam, select

from tracer.db import utcnow
from tracer.errors import ConflictError, NotFoundError
from tracer.models import DomainInstall, Tenant
from tracer.usage import record_usage

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy import Select
    from sqlalchemy.engine import Connection
    from sqlalchemy.orm import Session


def _row(s: Session, tenant_id: str, domain: str) -> DomainInstall | None:
    return s.scalars(select(DomainInstall).where(DomainInstall.tenant_id == tenant_id,
                                                 DomainInstall.domain == domain)).first()


def find_install(s: Session, tenant_id: str, domain: str) -> DomainInstall | None:
    """The tenant's current install of ``domain`` (None when never or no longer installed)."""
    row = _row(s, tenant_id, domain)
    return row if row is not None and row.uninstalled_at is None else None


def install(s: Session, tenant_id: str, domain: str, version: str, *,
            at: datetime | None = None) -> DomainInstall:
    """Install ``domain`` for a tenant (disabled) and meter it, in the caller's transaction.

    Installing again after an uninstall starts a new install (a new id) on the same row.
    """
    row = _row(s, tenant_id, domain)
    if row is not None and row.uninstalled_at is None:
        raise ConflictError(f"domain {domain} is already installed", domain=domain)
    at = at or utcnow()
    if row is None:
        row = DomainInstall(tenant_id=tenant_id, domain=domain)
    row.id, row.domain_version, row.enabled = str(uuid.uuid4()), version, False
    row.installed_at, row.updated_at, row.uninstalled_at = at, at, None
    s.add(row)
    s.flush()
    record_usage(s, f"install:{row.id}", tenant_id=tenant_id, kind="install", domain=domain,
                 occurred_at=at, attrs={"install_id": row.id, "domain_version": version})
    return row


def uninstall(s: Session, tenant_id: str, domain: str, *,
              at: datetime | None = None) -> DomainInstall:
    """Uninstall ``domain``: the row stays (billing pro-rates up to ``uninstalled_at``)."""
    row = find_install(s, tenant_id, domain)
    if row is None:
        raise NotFoundError(f"domain {domain} is not installed", domain=domain)
    at = at or utcnow()
    row.uninstalled_at, row.updated_at, row.enabled = at, at, False
    s.flush()
    return row


def set_enabled(s: Session, tenant_id: str, domain: str, enabled: bool) -> DomainInstall:
    row = find_install(s, tenant_id, domain)
    if row is None:
        raise NotFoundError(f"domain {domain} is not installed (install it first)",
                            domain=domain)
    if row.enabled != enabled:
        row.enabled, row.updated_at = enabled, utcnow()
    return row


def require_enabled(s: Session, tenant_id: str, domain: str) -> DomainInstall:
    """The install row of an enabled domain; a clear 409 when installed but disabled."""
    row = find_install(s, tenant_id, domain)
    if row is None:
        raise NotFoundError(f"domain {domain} is not installed (install it first)",
                            domain=domain)
    if not row.enabled:
        raise ConflictError(f"domain {domain} is installed but not enabled (enable it first)",
                            domain=domain)
    return row


def _tier_and_install() -> Select[Any]:
    tenants = cast("Table", Tenant.__table__)
    rows = cast("Table", DomainInstall.__table__)
    return select(tenants.c.tier, rows.c.enabled, rows.c.uninstalled_at, rows.c.id).select_from(
        tenants.outerjoin(rows, and_(rows.c.tenant_id == tenants.c.id,
                                     rows.c.domain == bindparam("domain")))
    ).where(tenants.c.id == bindparam("tenant"))


_TIER_AND_INSTALL = _tier_and_install()  # built once: the prediction writer asks per group


def enabled_tier(c: Connection | Session, tenant_id: str, domain: str) -> str:
    """The tenant's tier, when ``domain`` is installed and enabled for it; otherwise the
    errors of :func:`require_enabled`. One statement (the writer's exact check)."""
    row = c.execute(_TIER_AND_INSTALL, {"tenant": tenant_id, "domain": domain}).first()
    if row is None:
        raise NotFoundError(f"tenant {tenant_id} not found")
    if row.id is None or row.uninstalled_at is not None:
        raise NotFoundError(f"domain {domain} is not installed (install it first)",
                            domain=domain)
    if not row.enabled:
        raise ConflictError(f"domain {domain} is installed but not enabled (enable it first)",
                            domain=domain)
    return str(row.tier)
