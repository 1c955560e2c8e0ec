"""Yank, quarantine, revoke: each with a reason tenants and the publisher see.

- yank: hidden from new installs; a tenant that pinned the exact version keeps it (PEP 592).
- quarantine: not installable and not executed (on the kill list) until lifted.
- revoke: permanent; on the kill list, so running hosts unload it (``apply_kill_list``) and,
  with the domain gone, its usage stops accruing.

The state is in the database and in the signed index (hosts learn it from signed data);
the kill list file in ``settings.plugins_path`` is what the host reads at load time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name
from sqlalchemy import select
from tracer.db import utcnow
from tracer.errors import ConflictError, ValidationError

from tracer_registry import kill_list
from tracer_registry.catalog import get_release, sign_index
from tracer_registry.kill_list import KILL_LIST, KILLED
from tracer_registry.models import Release

if TYPE_CHECKING:
    from pathlib import Path

    from sqlalchemy.orm import Session
    from tracer.settings import Settings

_ALLOWED = {"yank": ("active",), "quarantine": ("active", "yanked"),
            "revoke": ("active", "yanked", "quarantined"), "lift": ("quarantined", "yanked")}
_STATUS = {"yank": "yanked", "quarantine": "quarantined", "revoke": "revoked", "lift": "active"}


def change_status(s: Session, settings: Settings, listing: str, version: str, action: str,
                  reason: str) -> Release:
    """Apply ``action`` (yank, quarantine, revoke, lift) to one release, then re-sign."""
    if action not in _ALLOWED:
        raise ValidationError(f"unknown action {action!r} (actions: {', '.join(_ALLOWED)})")
    if not reason.strip():
        raise ValidationError(f"a {action} needs a reason tenants can read", field="reason")
    release = get_release(s, canonicalize_name(listing), version)
    if release.status not in _ALLOWED[action]:
        raise ConflictError(f"{release.listing_name} {version} is {release.status}; "
                            f"{action} applies to {', '.join(_ALLOWED[action])} releases")
    release.status = _STATUS[action]
    release.status_reason = reason.strip()
    release.status_at = utcnow()
    s.flush()
    sign_index(s, settings)
    write_kill_list(s, settings)
    return release


def write_kill_list(s: Session, settings: Settings) -> Path:
    """The quarantined and revoked releases, atomically replaced (hosts may read any time):
    the same bytes as the ``kill-list.json`` the index just signed."""
    rows = s.scalars(select(Release).where(Release.status.in_(KILLED)))
    kill_list.write(settings.plugins_path, kill_list.document(
        {"listing": r.listing_name, "version": r.version, "status": r.status,
         "status_reason": r.status_reason} for r in rows))
    return settings.plugins_path / KILL_LIST
