"""Publishing (keyless via a trusted publisher, air-gapped via a key) and the catalog."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tracer.db import session
from tracer.errors import ConflictError
from tracer_registry.blobs import BlobStore
from tracer_registry.catalog import price_plan, search, set_certification, set_price_plan, show
from tracer_registry.publishers import add_trusted_publisher, create_publisher
from tracer_registry.publishing import publish
from tracer_registry.verify import Refusal
from tracer_registry.verify.refusal import GITHUB_ISSUER

from tests.registry.artifacts import make_wheel, signed
from tests.registry.conftest import FIXTURES

RFC = FIXTURES / "sigstore-python" / "rfc8785-0.1.2-py3-none-any.whl"


def test_keyless_wheel_publishes_through_its_trusted_publisher_record(registry_db):
    with session(registry_db) as s:
        create_publisher(s, "tob", "Trail of Bits")
        add_trusted_publisher(s, "tob", "rfc8785", issuer=GITHUB_ISSUER,
                              repository="trailofbits/rfc8785.py", workflow="release.yml")
    with session(registry_db) as s:
        release = publish(s, registry_db, RFC.read_bytes(), RFC.name,
                          Path(f"{RFC}.sigstore.json").read_bytes())
        assert (release.listing_name, release.version, release.method) == ("rfc8785", "0.1.2",
                                                                           "keyless")
        assert release.certification_level == "verified-publisher"
        assert release.wheel_sha256.startswith("c4e92e9e")
        identity = json.loads(BlobStore(registry_db.blobs).get(release.identity_sha256))
    assert identity["issuer"] == GITHUB_ISSUER
    assert identity["claims"]["source_repository"] == "https://github.com/trailofbits/rfc8785.py"
    assert (registry_db.blobs / "sha256" / "c4" / release.wheel_sha256).is_file()


def test_key_signed_wheel_metadata_is_read_and_a_version_not_newer_is_refused(acme,
                                                                              publisher_key):
    filename, wheel = make_wheel(version="1.2.0")
    with session(acme) as s:
        release = publish(s, acme, wheel, filename, signed(publisher_key, filename, wheel))
        assert (release.license, release.requires_tracer) == ("Apache-2.0", "<0.2,>=0.1")
        assert release.entry_points == {"tracer": {"acme-signal": "acme_signal"}}
    for version in ("1.2.0", "1.1.9"):
        filename, wheel = make_wheel(version=version, body="x = 1")
        with session(acme) as s, pytest.raises(Refusal) as refused:
            publish(s, acme, wheel, filename, signed(publisher_key, filename, wheel))
        assert refused.value.check == "version"


def test_a_signed_name_other_than_the_upload_is_refused(acme, publisher_key):
    filename, wheel = make_wheel()
    bundle = signed(publisher_key, "acme_signal-9.9.9-py3-none-any.whl", wheel)
    with session(acme) as s, pytest.raises(Refusal) as refused:
        publish(s, acme, wheel, filename, bundle)
    assert refused.value.check == "name"


def test_namespaces_belong_to_one_publisher_and_near_miss_names_are_flagged(acme,
                                                                           publisher_key):
    from tracer_registry.publishers import register_key
    from tracer_registry.signing import public_pem

    with session(acme) as s:
        create_publisher(s, "mallory", "Mallory")
        with pytest.raises(ConflictError):
            register_key(s, "mallory", "acme-signal", public_pem(publisher_key))
    filename, wheel = make_wheel()
    with session(acme) as s:
        publish(s, acme, wheel, filename, signed(publisher_key, filename, wheel))
    from cryptography.hazmat.primitives.asymmetric import ec

    mallory_key = ec.generate_private_key(ec.SECP256R1())
    with session(acme) as s:
        register_key(s, "mallory", "acrne-*", public_pem(mallory_key))
    tried = flagged = 0
    for name in ("acrne-signal", "acrne-signa1"):
        filename, wheel = make_wheel(name=name)
        tried += 1
        with session(acme) as s:
            try:
                publish(s, acme, wheel, filename, signed(mallory_key, filename, wheel))
            except Refusal as refused:
                flagged += refused.check == "near-miss"
    assert (tried, flagged) == (2, 2)


def test_catalog_search_show_price_plan_and_certification(acme, publisher_key):
    filename, wheel = make_wheel()
    with session(acme) as s:
        publish(s, acme, wheel, filename, signed(publisher_key, filename, wheel),
                domains=["acme/signal"])
        set_price_plan(s, "acme-signal", currency="EUR", monthly_fee_minor=4_900,
                       per_prediction_micros=400)
    with session(acme) as s:
        assert [r["name"] for r in search(s, "positive signal")] == ["acme-signal"]
        assert search(s, "fraud") == []
        assert [r["name"] for r in search(s, domain="acme")] == ["acme-signal"]
        assert search(s, level="certified") == []
        plan = price_plan(s, "acme/signal")
        assert (plan.currency, plan.monthly_fee_minor, plan.per_prediction_micros,
                plan.commission_bps, plan.first_party) == ("EUR", 4_900, 400, 3000, False)
        assert price_plan(s, "nobody/none") is None
        set_certification(s, acme, "acme-signal", "1.0.0", level="certified",
                          report={"checks": {"metadata.name": "pass"}})
    with session(acme) as s:
        assert [r["name"] for r in search(s, level="certified")] == ["acme-signal"]
        listing = show(s, "acme-signal")
    assert listing["certification"]["report"] == {"checks": {"metadata.name": "pass"}}
    assert listing["publisher"]["identity"]["method"] == "key"
    assert listing["readme"].startswith("# acme-signal")
    assert [v["version"] for v in listing["versions"]] == ["1.0.0"]


def test_a_third_party_price_plan_reaches_the_ledger_per_domain(acme, publisher_key):
    from tracer import db
    from tracer_registry.ledger import migration_tree
    from tracer_registry.ledger.models import PricePlanRow

    db.upgrade(acme, extra=[migration_tree()])
    filename, wheel = make_wheel()
    with session(acme) as s:
        publish(s, acme, wheel, filename, signed(publisher_key, filename, wheel),
                domains=["acme/signal"])
        set_price_plan(s, "acme-signal", currency="EUR", monthly_fee_minor=4_900,
                       per_prediction_micros=400)
    with session(acme) as s:
        row = s.get(PricePlanRow, "acme/signal")
        assert (row.publisher_id, row.currency, row.monthly_fee_minor,
                row.prediction_price_micros, row.commission_bps) == ("acme", "EUR", 4_900,
                                                                     400, 3000)
