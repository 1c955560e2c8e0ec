"""Publisher accounts, trusted-publisher records and registered keys, per namespace.

A namespace is a canonical distribution name (``tracer-esports``) or a prefix ending in
``*`` (``acme-*``). One publisher owns a namespace: a second publisher cannot claim an
overlapping one, which is what stops a stranger from publishing into ``acme-fraud``; and
only a first-party publisher claims a namespace covering a first-party name
(``tracer-*``, ``tracer-fraud``).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name
from sqlalchemy import select
from tracer.db import utcnow
from tracer.errors import ConflictError, NotFoundError, ValidationError

from tracer_registry.models import Publisher, PublisherKey, TrustedPublisher
from tracer_registry.verify import Refusal, TrustedPublisherRule, key_id, load_public_key

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

_SLUG = re.compile(r"^[a-z][a-z0-9-]{1,62}$")
_NAMESPACE = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(-\*|\*)?$")


def normalize_namespace(namespace: str) -> str:
    star = namespace.endswith("*")
    base = canonicalize_name(namespace.rstrip("*")) + ("*" if star else "")
    if not _NAMESPACE.match(base) or base == "*":
        raise ValidationError(f"namespace {namespace!r}: a distribution name, or a prefix "
                              "ending in '*'", field="namespace")
    return base


def covers(namespace: str, name: str) -> bool:
    name = canonicalize_name(name)
    if namespace.endswith("*"):
        return name.startswith(namespace[:-1])
    return name == namespace


def _overlaps(a: str, b: str) -> bool:
    return covers(a, b.rstrip("*")) or covers(b, a.rstrip("*"))


def create_publisher(s: Session, publisher_id: str, name: str, *,
                     first_party: bool = False) -> Publisher:
    if not _SLUG.match(publisher_id):
        raise ValidationError(f"publisher id {publisher_id!r}: 2–63 lower-case letters, digits "
                              "and '-', starting with a letter", field="id")
    if s.get(Publisher, publisher_id) is not None:
        raise ConflictError(f"publisher {publisher_id!r} exists already")
    publisher = Publisher(id=publisher_id, name=name, first_party=first_party)
    s.add(publisher)
    s.flush()
    return publisher


def get_publisher(s: Session, publisher_id: str) -> Publisher:
    publisher = s.get(Publisher, publisher_id)
    if publisher is None:
        raise NotFoundError(f"publisher {publisher_id!r} does not exist")
    return publisher


def _claim(s: Session, publisher_id: str, namespace: str) -> str:
    from tracer_registry.names import FIRST_PARTY_NAMES

    namespace = normalize_namespace(namespace)
    publisher = s.get(Publisher, publisher_id)
    if publisher is not None and not publisher.first_party:
        for name in FIRST_PARTY_NAMES:
            if covers(namespace, name):
                raise ConflictError(f"namespace {namespace!r} covers the first-party name "
                                    f"{name!r}, which only a first-party publisher may claim",
                                    namespace=namespace)
    claimed = [(row.publisher_id, row.namespace) for row in s.scalars(select(TrustedPublisher))]
    claimed += [(row.publisher_id, row.namespace) for row in s.scalars(select(PublisherKey))]
    for owner, other in claimed:
        if owner != publisher_id and _overlaps(namespace, other):
            raise ConflictError(f"namespace {namespace!r} overlaps {other!r}, which publisher "
                                f"{owner!r} owns", namespace=namespace)
    return namespace


def add_trusted_publisher(s: Session, publisher_id: str, namespace: str, *, issuer: str,
                          repository: str, workflow: str,
                          environment: str | None = None) -> TrustedPublisher:
    get_publisher(s, publisher_id)
    if not issuer.startswith("https://") or not repository or not workflow:
        raise ValidationError("a trusted publisher needs an https issuer, a repository and a "
                              "workflow", field="issuer")
    record = TrustedPublisher(publisher_id=publisher_id,
                              namespace=_claim(s, publisher_id, namespace), issuer=issuer,
                              repository=repository, workflow=workflow, environment=environment)
    s.add(record)
    s.flush()
    return record


def register_key(s: Session, publisher_id: str, namespace: str, public_pem: str) -> PublisherKey:
    get_publisher(s, publisher_id)
    try:
        key = load_public_key(public_pem)
    except Refusal as exc:
        raise ValidationError(f"signing key: {exc.message}", field="key") from None
    kid = key_id(key)
    if s.get(PublisherKey, kid) is not None:
        raise ConflictError(f"key {kid[:16]}… is registered already")
    record = PublisherKey(key_id=kid, publisher_id=publisher_id,
                          namespace=_claim(s, publisher_id, namespace), public_pem=public_pem)
    s.add(record)
    s.flush()
    return record


def revoke_key(s: Session, kid: str) -> PublisherKey:
    record = s.get(PublisherKey, kid)
    if record is None:
        raise NotFoundError(f"key {kid} is not registered")
    record.revoked_at = record.revoked_at or utcnow()
    return record


def owner_of(s: Session, name: str) -> str | None:
    """The publisher whose namespace covers distribution ``name``."""
    for row in [*s.scalars(select(TrustedPublisher)), *s.scalars(select(PublisherKey))]:
        if covers(row.namespace, name):
            return row.publisher_id
    return None


def credentials_for(s: Session, name: str) -> tuple[str | None, list[TrustedPublisherRule],
                                                    dict[str, str]]:
    """(owner, trusted-publisher rules, active keys) that may sign distribution ``name``."""
    owner = owner_of(s, name)
    rules = [TrustedPublisherRule(r.issuer, r.repository, r.workflow, r.environment)
             for r in s.scalars(select(TrustedPublisher).where(
                 TrustedPublisher.publisher_id == owner)) if covers(r.namespace, name)]
    keys = {k.key_id: k.public_pem for k in s.scalars(select(PublisherKey).where(
        PublisherKey.publisher_id == owner, PublisherKey.revoked_at.is_(None)))
        if covers(k.namespace, name)}
    return owner, rules, keys
