"""Where certification meets the registry's catalog: releases, blobs, levels.

Certification works without a catalog entry (an author's local run, or a wheel submitted
before publishing); when the release is in the catalog its publisher identity is read from
it and its level, report and expiry are written back through ``catalog.set_certification``,
which re-signs the index so hosts see the change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from packaging.utils import canonicalize_name
from packaging.version import Version
from tracer.errors import NotFoundError

from tracer_registry.blobs import BlobStore

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.orm import Session
    from tracer.settings import Settings


def store_wheel(settings: Settings, data: bytes) -> str:
    return BlobStore(settings.blobs).put(data)


def load_wheel(settings: Settings, sha256: str) -> bytes:
    return BlobStore(settings.blobs).get(sha256)


def _release(s: Session, plugin: str, version: str):
    from tracer_registry import catalog

    try:
        return catalog.get_release(s, canonicalize_name(plugin), version)
    except NotFoundError:
        return None


def owned_domain_prefixes(s: Session, plugin: str) -> list[str] | None:
    """The domain prefixes claimed by the publisher owning ``plugin``'s namespace (None
    when no publisher owns it: the local, first-party-only rule applies)."""
    from sqlalchemy import select

    from tracer_registry.models import DomainClaim
    from tracer_registry.publishers import owner_of

    owner = owner_of(s, plugin)
    if owner is None:
        return None
    return sorted(r.prefix for r in s.scalars(select(DomainClaim)
                                              .where(DomainClaim.publisher_id == owner)))


def publisher_of(s: Session, plugin: str, version: str) -> dict[str, Any] | None:
    """The publisher's signature facts of a catalog release, and the level they earned."""
    release = _release(s, plugin, version)
    if release is None:
        return None
    level = release.certification_level
    if level == "certified":  # recertification: the publisher level lies underneath
        level = "verified-publisher" if release.issuer else "community"
    return {"bundle_sha256": release.bundle_sha256, "identity": release.signer,
            "issuer": release.issuer, "method": release.method, "key_id": release.key_id,
            "level": level}


def published_version(s: Session, plugin: str, version: str) -> str | None:
    """The newest version of ``plugin`` in the catalog other than ``version``."""
    from tracer_registry import catalog

    others = [r.version for r in catalog.releases(s, canonicalize_name(plugin))
              if r.version != version]
    return max(others, key=Version, default=None)


def record_level(s: Session, settings: Settings, plugin: str, version: str, *,
                 level: str | None, report: dict[str, Any],
                 expires_at: datetime | None = None) -> bool:
    """Write level, report and expiry to the catalog release; False when there is none."""
    from tracer_registry import catalog

    release = _release(s, plugin, version)
    if release is None:
        return False
    catalog.set_certification(s, settings, release.listing_name, version,
                              level=level or release.certification_level, report=report,
                              expires_at=expires_at)
    return True
