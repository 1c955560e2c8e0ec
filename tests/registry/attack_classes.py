"""The attack classes of issue 12, each against the real publish, re-sign or install path.

Each function takes a fresh registry (``acme`` owns ``acme-*`` and the domain prefix
``acme``, tenant ``t1``) and returns ``{attempt: outcome}``, the outcome being the name of
the check that refused it or ``"accepted"``. ``test_attacks_closed`` runs them one by
one and prints the table of tried / refused per class.
"""

from __future__ import annotations

import hashlib
import shutil

from tracer.db import session
from tracer_registry.blobs import BlobStore
from tracer_registry.catalog import index_entry, repository, sign_index
from tracer_registry.install import install
from tracer_registry.models import Listing, Release
from tracer_registry.publishing import publish
from tracer_registry.verify import Refusal

from tests.registry.artifacts import make_wheel, signed


def outcome(action) -> str:
    try:
        action()
    except Refusal as refused:
        return refused.check
    return "accepted"


def publish_signed(settings, key, filename, wheel, **options):
    with session(settings) as s:
        return publish(s, settings, wheel, filename, signed(key, filename, wheel), **options)


def install_for(settings, spec="acme-signal", tenant="t1"):
    with session(settings) as s:
        return install(s, settings, tenant, spec)


def legacy_release(settings, key, filename, wheel, *, domains=("acme/signal",)):
    """A release stored the way a registry without today's publish checks stored it:
    really signed, in the blob store, in the signed index. Install must still refuse it."""
    from tracer_registry.verify import key_id
    from tracer_registry.wheels import parse_filename

    name, version = parse_filename(filename)
    bundle = signed(key, filename, wheel)
    store = BlobStore(settings.blobs)
    with session(settings) as s:
        if s.get(Listing, name) is None:
            s.add(Listing(name=name, publisher_id="acme", domains=list(domains), tags=[],
                          metrics={}))
        s.add(Release(listing_name=name, version=version, filename=filename, size=len(wheel),
                      wheel_sha256=store.put(wheel), bundle_sha256=store.put(bundle),
                      identity_sha256=store.put(b"{}"), method="key",
                      signer=f"key:{key_id(key.public_key())}",
                      key_id=key_id(key.public_key()), entry_points={}, status="active",
                      certification_level="community"))
        s.flush()
        sign_index(s, settings)


def sign_raw(index, entries, files):
    """Sign an index the way a registry without the byte checks did (a compromised or
    old re-sign): over whatever file is named, with a lifetime hosts accept."""
    from datetime import timedelta

    return index.publish(entries, files, lifetime={"timestamp": timedelta(hours=1)})


def plugin_importable(settings, module="acme_signal") -> bool:
    return (settings.plugins_path / module).exists()


# -- storage swap laundered by the routine re-sign -----------------------------------------

def storage_swap(settings, key) -> dict[str, str]:
    filename, wheel = make_wheel()
    publish_signed(settings, key, filename, wheel, domains=["acme/signal"])
    _, other = make_wheel(body="open('/tmp/pwned', 'w')")  # same name and version
    other_bundle = signed(key, filename, other)
    index = repository(settings)
    target = index.targets / "acme-signal" / filename
    original, original_bundle = target.read_bytes(), (target.parent
                                                      / f"{filename}.sigstore.json").read_bytes()
    results = {}

    def resign():
        with session(settings) as s:
            sign_index(s, settings)

    # 1. the targets folder holds the other wheel (and its valid bundle): re-sign refuses
    target.write_bytes(other)
    (target.parent / f"{filename}.sigstore.json").write_bytes(other_bundle)
    results["re-sign over a swapped target (same key)"] = outcome(resign)
    target.write_bytes(original)
    (target.parent / f"{filename}.sigstore.json").write_bytes(original_bundle)
    # 2. the blob store holds the other wheel under the released digest
    blob = BlobStore(settings.blobs).path(hashlib.sha256(wheel).hexdigest())
    blob.chmod(0o644)
    blob.write_bytes(other)
    results["re-sign over a swapped blob"] = outcome(resign)
    blob.write_bytes(wheel)
    # 3. an index signed over the swapped file anyway (the old re-sign): install refuses
    with session(settings) as s:
        entries = [index_entry(s, r) for r in s.query(Release)]
    target.write_bytes(other)
    bundle_target = target.parent / f"{filename}.sigstore.json"
    sign_raw(index, entries, {f"acme-signal/{filename}": (target, hashlib.sha256(other)
                                                        .hexdigest()),
                            f"acme-signal/{filename}.sigstore.json": (
                                bundle_target, hashlib.sha256(original_bundle).hexdigest())})
    results["install from an index signed over a swapped wheel"] = outcome(
        lambda: install_for(settings))
    bundle_target.write_bytes(other_bundle)
    sign_raw(index, entries, {f"acme-signal/{filename}": (target, hashlib.sha256(other)
                                                        .hexdigest()),
                            f"acme-signal/{filename}.sigstore.json": (
                                bundle_target, hashlib.sha256(other_bundle).hexdigest())})
    results["install, wheel and bundle both swapped (same key)"] = outcome(
        lambda: install_for(settings))
    assert not plugin_importable(settings)
    shutil.rmtree(settings.plugins_path, ignore_errors=True)
    return results


# -- startup hooks, bytecode and code the scan cannot read ---------------------------------

HOSTILE_MEMBERS = {
    ".pth at the top level": {"zzz_acme.pth": b"import os; os.system('id')\n"},
    ".pth under .data/purelib": {
        "acme_signal-{v}.data/purelib/zzz_acme.pth": b"import os; os.system('id')\n"},
    "sourceless .pyc": {"acme_signal/__pycache__/hidden.cpython-311.pyc":
                        b"\xa7\r\r\n" + b"\0" * 12 + b"\xe3" + b"\0" * 40},
    "source in another encoding": {"acme_signal/codec.py":
                                   b"# -*- coding: utf-7 -*-\nx = 1\n"},
    "source that is not UTF-8": {"acme_signal/latin.py": b"x = '\xe9'\n"},
    "source that does not parse": {"acme_signal/broken.py": b"def (:\n"},
}


def startup_hooks_and_unreadable(settings, key) -> dict[str, str]:
    results = {}
    for number, (name, members) in enumerate(HOSTILE_MEMBERS.items()):
        version = f"1.0.{number}"
        extra = {k.format(v=version): v for k, v in members.items()}
        filename, wheel = make_wheel(version=version, extra=extra)
        results[f"publish: {name}"] = outcome(
            lambda f=filename, w=wheel: publish_signed(settings, key, f, w))
    for number, (name, members) in enumerate(HOSTILE_MEMBERS.items()):
        version = f"2.0.{number}"
        extra = {k.format(v=version): v for k, v in members.items()}
        filename, wheel = make_wheel(version=version, extra=extra)
        legacy_release(settings, key, filename, wheel)
        results[f"install: {name}"] = outcome(
            lambda v=version: install_for(settings, f"acme-signal=={v}"))
        assert not plugin_importable(settings)
    return results


# -- trust on first use and stale indexes ----------------------------------------------------

def _fresh_host(settings) -> None:
    shutil.rmtree(settings.home / "registry" / "trusted", ignore_errors=True)


def index_trust(settings, key) -> dict[str, str]:
    """A new host shown an attacker's root, a replayed pre-revoke index, no registry."""
    from datetime import UTC, datetime, timedelta

    from tracer_registry.index import IndexRepository
    from tracer_registry.revocation import change_status

    results = {}
    filename, wheel = make_wheel()
    publish_signed(settings, key, filename, wheel, domains=["acme/signal"])
    with session(settings) as s:  # signed two hours ago: older than the 1 h lifetime
        sign_index(s, settings, now=datetime.now(UTC) - timedelta(hours=2))
    real = repository(settings)
    before_revoke = settings.home / "replayed"
    shutil.copytree(real.root, before_revoke)
    with session(settings) as s:
        change_status(s, settings, "acme-signal", "1.0.0", "revoke", "malicious")
    # 1. the mirror serves the pre-revoke index to a host that never saw the registry
    shutil.rmtree(real.metadata)
    shutil.copytree(before_revoke / "metadata", real.metadata)
    _fresh_host(settings)
    results["replayed pre-revoke index, new host"] = outcome(lambda: install_for(settings))
    # 2. the mirror serves an index of the attacker's own keys, root and all
    evil = IndexRepository(settings.home / "evil-index")
    with session(settings) as s:
        entries = [index_entry(s, r) for r in s.query(Release)]
    for entry in entries:
        entry["status"] = "active"
    store = BlobStore(settings.blobs)
    evil.publish(entries, {e[t]: (store.path(e[d]), e[d]) for e in entries
                           for t, d in (("wheel_target", "sha256"),
                                        ("bundle_target", "bundle_sha256"))},
                 lifetime={"timestamp": timedelta(minutes=30)})
    shutil.rmtree(real.metadata)
    shutil.copytree(evil.metadata, real.metadata)
    _fresh_host(settings)
    results["attacker's own root shown to a new host"] = outcome(lambda: install_for(settings))
    # 3. the registry cannot be reached at all
    shutil.rmtree(real.metadata)
    results["registry unreachable"] = outcome(lambda: install_for(settings))
    assert not plugin_importable(settings)
    return results
