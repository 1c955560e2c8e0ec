"""The registry's entry points into review: certify a published catalog release, and the
attestation check an install makes when a tenant requires ``certified``."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name

from tracer_registry.certify import attestation as att
from tracer_registry.certify import registry_link, review
from tracer_registry.certify.policy import REGISTRY_POLICY, Policy

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from sqlalchemy.orm import Session
    from tracer.settings import Settings


def certify_release(settings: Settings, name: str, version: str,
                    policy: Policy = REGISTRY_POLICY,
                    submitted: Callable[[Session, str], None] | None = None) -> str:
    """Certify a published catalog release with the registry's policy; returns the review id.

    The validator runs outside any database transaction (it takes tens of seconds).
    ``submitted(s, review_id)`` runs in the transaction that stores the review, so what the
    caller records about the run (the queue's "done") is seen together with the review.
    """
    import tempfile

    from tracer.db import session

    from tracer_registry import catalog
    from tracer_registry.certify.evaluation import load_sets
    from tracer_registry.certify.validator import certify_wheel
    from tracer_registry.models import Listing

    with session(settings) as s:
        release = catalog.get_release(s, canonicalize_name(name), version)
        filename, digest = release.filename, release.wheel_sha256
        published = registry_link.published_version(s, name, version)
        allowances = review.allowances_for(s, name)
        owned = registry_link.owned_domain_prefixes(s, name)
        provided = list(s.get_one(Listing, release.listing_name).domains or [])
    data = registry_link.load_wheel(settings, digest)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / filename
        path.write_bytes(data)
        report = certify_wheel(path, policy=policy, published=published,
                               allowances=allowances, owned_domains=owned,
                               evaluation_sets=load_sets(settings, provided))
    with session(settings) as s:
        review_id = review.submit(s, settings, report, data).id
        if submitted is not None:
            submitted(s, review_id)
        return review_id


def verify_for_install(s: Session, settings: Settings, name: str, version: str,
                       wheel: bytes, now: datetime | None = None) -> att.VerifiedAttestation:
    """What an install path calls when the tenant's policy requires ``certified``: the
    stored attestation of exactly these wheel bytes, checked against the trust policy."""

    found = review.latest_attestation(s, name, version)
    if found is None:
        from tracer_registry.errors import CertificationError

        raise CertificationError(f"{name} {version} has no certification attestation; the "
                                 "tenant's policy requires certified plugins")
    return att.verify_attestation(found.envelope, wheel_sha256=hashlib.sha256(wheel).hexdigest(),
                                  trust=review.trust_policy(s, settings),
                                  name=canonicalize_name(name), version=version, now=now)
