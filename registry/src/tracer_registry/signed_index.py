"""The signed index, built from the catalog's database rows (``catalog.sign_index``).

Every wheel is checked against the digest its publisher's bundle signs and the catalog
records, from the bytes in storage, before anything is signed; the entries carry what a
host needs to re-verify (keys, trusted publishers) and to resolve a domain to its owner.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from tracer_registry.blobs import BlobStore
from tracer_registry.models import STATUSES, Listing, Release

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.orm import Session
    from tracer.settings import Settings


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def index_entry(s: Session, release: Release) -> dict[str, Any]:
    from tracer_registry.domains import domain_owner
    from tracer_registry.publishers import credentials_for

    listing = s.get(Listing, release.listing_name)
    _, rules, keys = credentials_for(s, release.listing_name)
    wheel_target = f"{release.listing_name}/{release.filename}"
    return {
        "listing": release.listing_name, "version": release.version,
        "filename": release.filename, "wheel_target": wheel_target,
        "bundle_target": wheel_target + ".sigstore.json", "sha256": release.wheel_sha256,
        "bundle_sha256": release.bundle_sha256, "status": release.status,
        "status_reason": release.status_reason, "method": release.method,
        "signer": release.signer, "issuer": release.issuer,
        "key_id": release.key_id,
        # what the host re-verifies the bundle with: the signing key, or the records
        "keys": {release.key_id: keys[release.key_id]}
        if release.key_id and release.key_id in keys else {},
        "trusted_publishers": [r.__dict__ for r in rules
                               if release.issuer and r.issuer == release.issuer],
        "certification_level": release.certification_level,
        "certification_expires_at": _iso(release.certification_expires_at),
        "domains": listing.domains if listing else [],
        # install by domain name resolves only to the owner's listing (signed here)
        "publisher": listing.publisher_id if listing else None,
        "domain_owners": {d: domain_owner(s, d) for d in (listing.domains if listing else [])},
        "entry_points": release.entry_points, "requires_tracer": release.requires_tracer,
    }


def sign_index(s: Session, settings: Settings, *, now: datetime | None = None) -> int:
    """Re-sign the index from the database (every publish, status or level change).

    Every wheel is checked against the digest its publisher's bundle signs and the catalog
    records, from the bytes in storage (``subject.check_bytes``), before anything is
    signed: a swapped file stops the re-sign with both digests named.
    """
    from datetime import timedelta

    from tracer_registry.catalog import repository
    from tracer_registry.config import pinned_root_path, registry_config
    from tracer_registry.subject import check_bytes

    store = BlobStore(settings.blobs)
    entries, files = [], {}
    for release in s.scalars(select(Release).order_by(Release.listing_name, Release.id)):
        if release.status not in STATUSES:
            continue
        entry = index_entry(s, release)
        what = f"{release.listing_name} {release.version}"
        bundle = _stored(store, release.bundle_sha256, what + " bundle")
        check_bytes(what + " bundle", bundle, recorded=release.bundle_sha256, bundle_raw=None)
        check_bytes(what + " wheel", _stored(store, release.wheel_sha256, what + " wheel"),
                    recorded=release.wheel_sha256, bundle_raw=bundle)
        entries.append(entry)
        files[entry["wheel_target"]] = (store.path(release.wheel_sha256), release.wheel_sha256)
        files[entry["bundle_target"]] = (store.path(release.bundle_sha256),
                                         release.bundle_sha256)
    index = repository(settings)
    index.initialize(pinned=pinned_root_path(settings))
    lifetime = {"timestamp": timedelta(seconds=registry_config().timestamp_lifetime_seconds)}
    return index.publish(entries, files, now=now, lifetime=lifetime)


def _stored(store: BlobStore, digest: str, what: str) -> bytes:
    from tracer_registry.verify import Refusal

    path = store.path(digest)
    if not path.is_file():
        raise Refusal("digest", f"{what}: sha256 {digest} is missing from the blob store")
    return path.read_bytes()
