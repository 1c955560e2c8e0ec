"""Registry fixtures: a migrated platform DB with the registry tree, a publisher with a key."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "sigstore"


@pytest.fixture
def registry_db(settings):
    from tracer import db
    from tracer_registry.plugin import tracer_migrations

    db.upgrade(settings, extra=tracer_migrations())
    return settings


@pytest.fixture
def publisher_key():
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def acme(registry_db, publisher_key):
    """Publisher ``acme`` owning ``acme-*`` and the domain prefix ``acme``, with one
    registered EC key; tenant ``t1``."""
    from tracer.db import session
    from tracer.tenancy import create_tenant
    from tracer_registry.domains import claim_domain
    from tracer_registry.publishers import create_publisher, register_key
    from tracer_registry.signing import public_pem

    with session(registry_db) as s:
        create_publisher(s, "acme", "Acme Analytics")
        register_key(s, "acme", "acme-*", public_pem(publisher_key))
        claim_domain(s, "acme", "acme")
        create_tenant(s, "t1", "Tenant One", "starter", registry_db.tiers)
    return registry_db


@pytest.fixture(autouse=True)
def _forget_plugin_dirs():
    """Hosts append their plugin dir to sys.path; a test's dir must not outlive the test."""
    import importlib
    import sys

    before = list(sys.path)
    yield
    sys.path[:] = before
    for module in [m for m in sys.modules if m.split(".")[0] == "acme_signal"]:
        del sys.modules[module]
    importlib.invalidate_caches()
