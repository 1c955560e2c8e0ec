"""Supply-chain attacks, one class per test, each against the real publish or install path.

Figure (SECURITY.md): installs/publishes accepted per attack class = 0. The summary test
runs every class again and prints tried / refused.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec
from tracer.db import session
from tracer_registry.catalog import repository, sign_index
from tracer_registry.install import fetch_verified, install
from tracer_registry.publishers import add_trusted_publisher, create_publisher
from tracer_registry.publishing import publish
from tracer_registry.verify import Refusal
from tracer_registry.verify.refusal import GITHUB_ISSUER

from tests.registry.artifacts import make_wheel, signed
from tests.registry.conftest import FIXTURES

RFC = FIXTURES / "sigstore-python" / "rfc8785-0.1.2-py3-none-any.whl"


def _flip(data: bytes, at: int | None = None) -> bytes:
    changed = bytearray(data)
    changed[len(data) // 2 if at is None else at] ^= 0x01
    return bytes(changed)


def _publish(settings, filename, wheel, bundle):
    with session(settings) as s:
        return publish(s, settings, wheel, filename, bundle)


def _install(settings, spec="acme-signal"):
    with session(settings) as s:
        return install(s, settings, "t1", spec)


def _verify_only(settings, spec="acme-signal"):
    with session(settings) as s:
        return fetch_verified(s, settings, "t1", spec)


def _outcome(action) -> str:
    try:
        action()
    except Refusal as refused:
        return refused.check
    return "accepted"


def _trust_rfc(settings, *, repository="trailofbits/rfc8785.py", issuer=GITHUB_ISSUER):
    with session(settings) as s:
        create_publisher(s, "tob", "Trail of Bits")
        add_trusted_publisher(s, "tob", "rfc8785", issuer=issuer, repository=repository,
                              workflow="release.yml")


# -- the attack classes: each returns {attempt: outcome} -------------------------------

def flipped_byte(settings, key) -> dict[str, str]:
    filename, wheel = make_wheel()
    bundle = signed(key, filename, wheel)
    results = {"publish key-signed wheel, byte flipped":
               _outcome(lambda: _publish(settings, filename, _flip(wheel), bundle))}
    _publish(settings, filename, wheel, bundle)
    target = repository(settings).targets / "acme-signal" / filename
    target.write_bytes(_flip(target.read_bytes()))
    results["install, stored wheel byte flipped"] = _outcome(lambda: _install(settings))
    return results


def stripped_bundle(settings, key) -> dict[str, str]:
    filename, wheel = make_wheel()
    bundle = json.loads(signed(key, filename, wheel))
    no_sigs = {**bundle, "dsseEnvelope": {**bundle["dsseEnvelope"], "signatures": []}}
    no_material = {k: v for k, v in bundle.items() if k != "verificationMaterial"}
    attempts = {"empty bundle": b"", "truncated bundle": json.dumps(bundle).encode()[:200],
                "signatures removed": json.dumps(no_sigs).encode(),
                "verification material removed": json.dumps(no_material).encode(),
                "envelope removed": json.dumps({k: v for k, v in bundle.items()
                                                if k != "dsseEnvelope"}).encode()}
    return {name: _outcome(lambda b=b: _publish(settings, filename, wheel, b))
            for name, b in attempts.items()}


def wrong_identity(settings, key) -> dict[str, str]:
    _trust_rfc(settings, repository="evil/rfc8785.py")
    return {"rfc8785 bundle, trusted publisher evil/rfc8785.py": _outcome(
        lambda: _publish(settings, RFC.name, RFC.read_bytes(),
                         Path(f"{RFC}.sigstore.json").read_bytes()))}


def wrong_issuer(settings, key) -> dict[str, str]:
    _trust_rfc(settings, issuer="https://accounts.google.com")
    return {"rfc8785 bundle, trusted issuer accounts.google.com": _outcome(
        lambda: _publish(settings, RFC.name, RFC.read_bytes(),
                         Path(f"{RFC}.sigstore.json").read_bytes()))}


def unknown_key(settings, key) -> dict[str, str]:
    stranger = ec.generate_private_key(ec.SECP256R1())
    p384 = ec.generate_private_key(ec.SECP384R1())
    filename, wheel = make_wheel()
    return {name: _outcome(lambda k=k: _publish(settings, filename, wheel,
                                                signed(k, filename, wheel)))
            for name, k in (("unregistered P-256 key", stranger),
                            ("unregistered P-384 key", p384))}


def _two_versions(settings, key, *, host_sees_second: bool = True) -> Path:
    for version in ("1.0.0", "1.1.0"):
        filename, wheel = make_wheel(version=version)
        _publish(settings, filename, wheel, signed(key, filename, wheel))
        if version == "1.0.0":
            _verify_only(settings)  # the host trusts index v1 ...
            old = settings.home / "old-index"
            shutil.copytree(repository(settings).metadata, old)
    if host_sees_second:
        _verify_only(settings)  # ... and then v2
    return old


def index_rollback(settings, key) -> dict[str, str]:
    old = _two_versions(settings, key)
    metadata = repository(settings).metadata
    for name in ("timestamp.json", "snapshot.json", "targets.json"):
        shutil.copyfile(old / name, metadata / name)
    return {"whole index replaced by the older signed one": _outcome(
        lambda: _verify_only(settings))}


def expired_index(settings, key) -> dict[str, str]:
    from datetime import UTC, datetime, timedelta

    filename, wheel = make_wheel()
    _publish(settings, filename, wheel, signed(key, filename, wheel))
    with session(settings) as s:
        sign_index(s, settings, now=datetime.now(UTC) - timedelta(days=2))
    return {"timestamp expired a day ago (frozen index)": _outcome(
        lambda: _verify_only(settings))}


def mix_and_match(settings, key) -> dict[str, str]:
    # the host trusts index v1; the mirror serves the new timestamp and snapshot with the
    # old targets (the catalog before 1.1.0), hoping the host takes the pieces together
    old = _two_versions(settings, key, host_sees_second=False)
    metadata = repository(settings).metadata
    shutil.copyfile(old / "targets.json", metadata / "targets.json")
    results = {"old targets.json with the new snapshot": _outcome(
        lambda: _verify_only(settings))}
    current = json.loads((metadata / "snapshot.json").read_text())
    current["signed"]["meta"]["targets.json"]["version"] = 1  # without the snapshot key
    (metadata / "snapshot.json").write_text(json.dumps(current))
    results["snapshot edited to name the old targets"] = _outcome(lambda: _verify_only(settings))
    return results


def oversized_download(settings, key) -> dict[str, str]:
    filename, wheel = make_wheel()
    _publish(settings, filename, wheel, signed(key, filename, wheel))
    target = repository(settings).targets / "acme-signal" / filename
    target.write_bytes(wheel + b"\0" * 1_000_000)
    results = {"stored wheel padded by 1 MB": _outcome(lambda: _install(settings))}
    big_name, big = make_wheel(version="2.0.0", extra={"acme_signal/blob.bin": os.urandom(5_000)})
    settings.api.max_upload_bytes = 2_048
    results["upload over max_upload_bytes"] = _outcome(
        lambda: _publish(settings, big_name, big, signed(key, big_name, big)))
    return results


def hostile_paths(settings, key) -> dict[str, str]:
    attempts = {"../ member": {"extra": {"../evil.py": b"x = 1\n"}},
                "nested ../ member": {"extra": {"acme_signal/../../evil.py": b"x = 1\n"}},
                "absolute member": {"extra": {"/tmp/evil.py": b"x = 1\n"}},
                "backslash member": {"extra": {"..\\evil.py": b"x = 1\n"}},
                "symlink member": {"symlink": "acme_signal/passwd"}}
    results = {}
    for number, (name, options) in enumerate(attempts.items()):
        filename, wheel = make_wheel(version=f"1.0.{number}", **options)
        results[name] = _outcome(lambda f=filename, w=wheel: _publish(
            settings, f, w, signed(key, f, w)))
    return results


ATTACKS = {"flipped byte": (flipped_byte, {"digest", "index"}),
           "stripped bundle": (stripped_bundle, {"bundle", "key"}),
           "wrong identity": (wrong_identity, {"identity"}),
           "wrong issuer": (wrong_issuer, {"issuer"}),
           "unknown key": (unknown_key, {"key"}),
           "index rollback": (index_rollback, {"index"}),
           "expired index": (expired_index, {"freshness"}),
           "mix-and-match": (mix_and_match, {"index"}),
           "oversized download": (oversized_download, {"size"}),
           "../ paths or symlink": (hostile_paths, {"paths"})}


def _run(name, settings, key):
    attack, checks = ATTACKS[name]
    results = attack(settings, key)
    assert results and all(outcome in checks for outcome in results.values()), results
    return results


def test_flipped_byte_refused(acme, publisher_key):
    assert _run("flipped byte", acme, publisher_key) == {
        "publish key-signed wheel, byte flipped": "digest",
        "install, stored wheel byte flipped": "index"}


def test_stripped_bundle_refused(acme, publisher_key):
    results = _run("stripped bundle", acme, publisher_key)
    assert results["signatures removed"] == "bundle" and len(results) == 5


def test_wrong_identity_refused(acme, publisher_key):
    assert set(_run("wrong identity", acme, publisher_key).values()) == {"identity"}


def test_wrong_issuer_refused(acme, publisher_key):
    assert set(_run("wrong issuer", acme, publisher_key).values()) == {"issuer"}


def test_unknown_key_refused(acme, publisher_key):
    assert set(_run("unknown key", acme, publisher_key).values()) == {"key"}


def test_index_rollback_refused(acme, publisher_key):
    assert set(_run("index rollback", acme, publisher_key).values()) == {"index"}


def test_expired_index_refused(acme, publisher_key):
    assert set(_run("expired index", acme, publisher_key).values()) == {"freshness"}


def test_mix_and_match_refused(acme, publisher_key):
    assert len(_run("mix-and-match", acme, publisher_key)) == 2


def test_oversized_download_refused(acme, publisher_key):
    assert set(_run("oversized download", acme, publisher_key).values()) == {"size"}


def test_wheel_with_traversal_or_symlink_refused(acme, publisher_key):
    results = _run("../ paths or symlink", acme, publisher_key)
    assert set(results.values()) == {"paths"} and len(results) == 5


def test_refused_attacks_store_and_install_nothing(acme, publisher_key):
    hostile_paths(acme, publisher_key)
    unknown_key(acme, publisher_key)
    blobs = list((acme.blobs / "sha256").rglob("*")) if acme.blobs.exists() else []
    assert [p for p in blobs if p.is_file()] == []
    assert list(acme.plugins_path.glob("*")) == [] if acme.plugins_path.exists() else True


def test_attack_summary_tried_and_refused_per_class(tmp_path, monkeypatch, request):
    rows = []
    for number, name in enumerate(ATTACKS):
        settings = _fresh(tmp_path / f"home{number}", monkeypatch, request)
        key = ec.generate_private_key(ec.SECP256R1())
        _acme(settings, key)
        results = ATTACKS[name][0](settings, key)
        refused = sum(1 for outcome in results.values() if outcome != "accepted")
        rows.append((name, len(results), refused))
    print("\nattack class            tried  refused  accepted")
    for name, tried, refused in rows:
        print(f"{name:<22} {tried:>6} {refused:>8} {tried - refused:>9}")
    print(f"{'total':<22} {sum(r[1] for r in rows):>6} {sum(r[2] for r in rows):>8}")
    assert all(tried == refused for _, tried, refused in rows)
    assert sum(r[1] for r in rows) == 22


def _fresh(home, monkeypatch, request):
    from tracer import db
    from tracer import settings as settings_module
    from tracer_registry.plugin import tracer_migrations

    monkeypatch.setenv("TRACER_HOME", str(home))
    settings_module.reset_settings()
    settings = settings_module.get_settings()
    request.addfinalizer(settings_module.reset_settings)
    db.upgrade(settings, extra=tracer_migrations())
    return settings


def _acme(settings, key):
    from tracer.tenancy import create_tenant
    from tracer_registry.domains import claim_domain
    from tracer_registry.publishers import register_key
    from tracer_registry.signing import public_pem

    with session(settings) as s:
        create_publisher(s, "acme", "Acme Analytics")
        register_key(s, "acme", "acme-*", public_pem(key))
        claim_domain(s, "acme", "acme")
        create_tenant(s, "t1", "Tenant One", "starter", settings.tiers)

