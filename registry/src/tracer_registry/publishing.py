"""Publishing a release: verify the signature, read the wheel, refuse what is not newer.

The order matters: nothing from the wheel is trusted (not even its metadata) until its
bytes are proven to be what the namespace owner signed. A refused upload writes nothing:
blobs, rows and the index change only after every check passed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from packaging.utils import canonicalize_name
from packaging.version import Version
from sqlalchemy import select
from sqlalchemy.orm import Session
from tracer.settings import Settings

from tracer_registry.blobs import BlobStore
from tracer_registry.catalog import releases, sign_index
from tracer_registry.models import Listing, Release
from tracer_registry.publishers import credentials_for
from tracer_registry.verify import PINNED_TRUST_ROOT, Refusal, VerifiedIdentity, verify_release
from tracer_registry.wheels import inspect_wheel, parse_filename

#: characters that read alike, folded so that ``tracer-fr4ud`` collides with ``tracer-fraud``
_CONFUSABLE = str.maketrans({"0": "o", "1": "l", "i": "l", "3": "e", "4": "a", "5": "s",
                             "7": "t", "8": "b", "-": "", "_": "", ".": ""})


def skeleton(name: str) -> str:
    return re.sub("rn", "m", canonicalize_name(name)).translate(_CONFUSABLE)


def _near_miss(s: Session, name: str, publisher_id: str) -> str | None:
    mine = skeleton(name)
    for listing in s.scalars(select(Listing)):
        if listing.name != name and listing.publisher_id != publisher_id \
                and skeleton(listing.name) == mine:
            return listing.name
    return None


def publish(s: Session, settings: Settings, wheel: bytes, filename: str, bundle: bytes, *,
            publisher_id: str | None = None, domains: list[str] | None = None,
            trust_root: Path = PINNED_TRUST_ROOT) -> Release:
    """Verify and store one release; raises ``Refusal`` naming the check that failed."""
    if len(wheel) > settings.max_upload_bytes:
        raise Refusal("size", f"{filename} is {len(wheel)} bytes, over the upload limit "
                              f"{settings.max_upload_bytes}")
    name, version = parse_filename(filename)
    owner, rules, keys = credentials_for(s, name)
    if owner is None:
        raise Refusal("namespace", f"no publisher owns the namespace of {name!r}: register a "
                                   "trusted publisher or a key for it first")
    if publisher_id is not None and publisher_id != owner:
        raise Refusal("namespace", f"{name!r} belongs to publisher {owner!r}, not "
                                   f"{publisher_id!r}")
    identity = verify_release(wheel, filename, bundle, rules=rules, keys=keys,
                              trust_root=trust_root)
    info = inspect_wheel(wheel, filename)
    existing = releases(s, name)
    if existing and Version(version) <= Version(existing[0].version):
        raise Refusal("version", f"{name} {version} is not newer than the published "
                                 f"{existing[0].version} (versions are never reused)")
    if not existing and (clash := _near_miss(s, name, owner)):
        raise Refusal("namespace", f"{name!r} is a near-miss of the listing {clash!r} of "
                                   "another publisher")
    store = BlobStore(settings.blobs)
    identity_record = {**identity.as_dict(), "filename": filename,
                       "trusted_publishers": [r.__dict__ for r in rules]}
    release = Release(
        listing_name=name, version=version, filename=filename, size=len(wheel),
        wheel_sha256=store.put(wheel), bundle_sha256=store.put(bundle),
        identity_sha256=store.put(json.dumps(identity_record, sort_keys=True).encode()),
        method=identity.method, signer=identity.signer, issuer=identity.issuer,
        key_id=identity.key_id, requires_tracer=info.requires_tracer, license=info.license,
        entry_points=info.entry_points, status="active",
        certification_level=_initial_level(identity))
    listing = s.get(Listing, name)
    if listing is None:
        listing = Listing(name=name, publisher_id=owner, domains=[], tags=[], metrics={})
        s.add(listing)
    listing.summary = info.summary
    listing.readme = info.readme
    if domains is not None:
        listing.domains = list(domains)
    listing.tags = sorted(info.entry_points.get("tracer", {}))
    s.add(release)
    s.flush()
    sign_index(s, settings)
    return release


def _initial_level(identity: VerifiedIdentity) -> str:
    # keyless and PEP 740 bundles matched a trusted-publisher record: a verified publisher;
    # a registered key proves who signed, not where it was built: community
    return "verified-publisher" if identity.method in ("keyless", "pep740") else "community"
