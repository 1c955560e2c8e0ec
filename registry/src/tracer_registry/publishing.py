"""Publishing a release: verify the signature, read the wheel, refuse what is not newer,
what looks like another publisher's name (``names``, refused or held per the registry's
``name_policy``) and what declares a domain its publisher does not own (``domains``).

The order matters: nothing from the wheel is trusted (not even its metadata) until its
bytes are proven to be what the namespace owner signed. A refused upload writes nothing:
blobs, rows and the index change only after every check passed.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from packaging.version import Version
from sqlalchemy import select

from tracer_registry.blobs import BlobStore
from tracer_registry.catalog import releases, sign_index
from tracer_registry.config import registry_config
from tracer_registry.domains import check_owned
from tracer_registry.models import Listing, Publisher, Release
from tracer_registry.names import FIRST_PARTY_NAMES, first_near_miss
from tracer_registry.publishers import credentials_for
from tracer_registry.verify import PINNED_TRUST_ROOT, Refusal, VerifiedIdentity, verify_release
from tracer_registry.wheels import inspect_wheel, parse_filename

if TYPE_CHECKING:
    from pathlib import Path

    from sqlalchemy.orm import Session
    from tracer.settings import Settings


def _protected_names(s: Session, publisher_id: str) -> list[str]:
    """Names another publisher's release could be mistaken for: every listing of another
    publisher, and the first-party names unless this publisher is first party."""
    publisher = s.get(Publisher, publisher_id)
    names = [row.name for row in s.scalars(select(Listing))
             if row.publisher_id != publisher_id]
    if publisher is None or not publisher.first_party:
        names += [n for n in FIRST_PARTY_NAMES if n not in names]
    return names


def _held_for_review(s: Session, name: str, owner: str) -> str | None:
    """None, or the reason a new listing's name is held (policy ``hold``); refused
    outright under policy ``refuse``."""
    publisher = s.get(Publisher, owner)
    if name in FIRST_PARTY_NAMES and (publisher is None or not publisher.first_party):
        raise Refusal("near-miss", f"{name!r} is a first-party name; only a first-party "
                                   "publisher publishes it", protected=name)
    found = first_near_miss(name, _protected_names(s, owner))
    if found is None:
        return None
    if registry_config().name_policy == "refuse":
        raise Refusal("near-miss", f"{found}; a near-miss name is refused by registry "
                                   "policy (ask the registry to review it)",
                      protected=found.protected)
    return f"held for review (near-miss check): {found}"


def publish(s: Session, settings: Settings, wheel: bytes, filename: str, bundle: bytes, *,
            publisher_id: str | None = None, domains: list[str] | None = None,
            trust_root: Path = PINNED_TRUST_ROOT) -> Release:
    """Verify and store one release; raises ``Refusal`` naming the check that failed."""
    if len(wheel) > settings.api.max_upload_bytes:
        raise Refusal("size", f"{filename} is {len(wheel)} bytes, over the upload limit "
                              f"{settings.api.max_upload_bytes}")
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
    # a held listing stays held until a reviewer lifts one of its releases
    unreviewed = all(r.status == "quarantined" and (r.status_reason or "").startswith(
        "held for review") for r in existing)
    held = _held_for_review(s, name, owner) if unreviewed else None
    declared = info.domains
    if domains is not None and (extra := sorted(set(domains) - set(declared))):
        raise Refusal("domain", f"{name} {version}: {', '.join(extra)} is not declared by the "
                                f"release's code (it declares {', '.join(declared) or 'none'})")
    check_owned(s, owner, f"{name} {version}", declared)
    store = BlobStore(settings.blobs)
    identity_record = {**identity.as_dict(), "filename": filename,
                       "trusted_publishers": [r.__dict__ for r in rules]}
    release = Release(
        listing_name=name, version=version, filename=filename, size=len(wheel),
        wheel_sha256=store.put(wheel), bundle_sha256=store.put(bundle),
        identity_sha256=store.put(json.dumps(identity_record, sort_keys=True).encode()),
        method=identity.method, signer=identity.signer, issuer=identity.issuer,
        key_id=identity.key_id, requires_tracer=info.requires_tracer, license=info.license,
        entry_points=info.entry_points, status="quarantined" if held else "active",
        status_reason=held,
        certification_level=_initial_level(identity))
    listing = s.get(Listing, name)
    if listing is None:
        listing = Listing(name=name, publisher_id=owner, domains=[], tags=[], metrics={})
        s.add(listing)
    listing.summary = info.summary
    listing.readme = info.readme
    listing.domains = list(declared)  # what the code declares and the publisher owns
    listing.tags = sorted(info.entry_points.get("tracer", {}))
    s.add(release)
    s.flush()
    sign_index(s, settings)
    return release


def _initial_level(identity: VerifiedIdentity) -> str:
    # keyless and PEP 740 bundles matched a trusted-publisher record: a verified publisher;
    # a registered key proves who signed, not where it was built: community
    return "verified-publisher" if identity.method in ("keyless", "pep740") else "community"
