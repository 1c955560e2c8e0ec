"""More attack classes of issue 12: the signed kill list, native code, names around a
protected one. Same contract as ``attack_classes``: each function takes a fresh registry
(``acme`` owns ``acme-*`` and the domain prefix ``acme``, tenant ``t1``) and returns
``{attempt: outcome}``, the outcome the check that refused it or ``"accepted"``."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta

from tracer.db import session
from tracer_registry import kill_list
from tracer_registry.catalog import index_entry, repository, sign_index
from tracer_registry.models import Release

from tests.registry.artifacts import make_wheel
from tests.registry.attack_classes import (
    _mallory,
    legacy_release,
    outcome,
    plugin_importable,
    publish_signed,
)


def second_host(settings):
    """Another host of the same registry: its own plugin dir, kill list and trusted state."""
    return settings.model_copy(update={"plugins": settings.plugins.model_copy(
        update={"dir": settings.home / "host-b" / "plugins"})})


def killed_on(host) -> list[str]:
    path = host.plugins_path / kill_list.KILL_LIST
    entries = json.loads(path.read_text())["entries"] if path.exists() else []
    return [f"{e['distribution']}=={e['version']}" for e in entries]


# -- the signed kill list ------------------------------------------------------------------

def kill_list_tampering(settings, key) -> dict[str, str]:
    """A mirror between the registry and a host tries to keep a revoked release alive on
    the host: every attempt is refused and the host keeps the revocation it had."""
    from tracer_registry.index import IndexRepository
    from tracer_registry.revocation import change_status

    filename, wheel = make_wheel()
    publish_signed(settings, key, filename, wheel, domains=["acme/signal"])
    host = second_host(settings)
    real = repository(settings)
    before_revoke = settings.home / "pre-revoke"
    shutil.copytree(real.root, before_revoke, ignore=shutil.ignore_patterns("keys"))
    with session(settings) as s:
        change_status(s, settings, "acme-signal", "1.0.0", "revoke", "malicious")
    kill_list.sync(host)
    assert killed_on(host) == ["acme-signal==1.0.0"]
    honest = settings.home / "honest"
    shutil.copytree(real.root, honest, ignore=shutil.ignore_patterns("keys"))

    def restore(source=honest):
        for part in ("metadata", "targets"):
            shutil.rmtree(real.root / part, ignore_errors=True)
            shutil.copytree(source / part, real.root / part)

    def attempt() -> str:
        result = outcome(lambda: kill_list.sync(host))
        kept = killed_on(host) == ["acme-signal==1.0.0"]
        restore()
        return result if kept else "accepted"

    results = {}
    # 1. the served kill-list.json drops the entry (the signed metadata untouched)
    (real.targets / kill_list.KILL_LIST).write_bytes(kill_list.document([]))
    results["kill list served with the revoke dropped"] = attempt()
    # 2. the pre-revoke index and kill list replayed to a host that saw the revoke
    restore(before_revoke)
    results["pre-revoke index and kill list replayed"] = attempt()
    # 3. an index of the attacker's own keys with an empty kill list
    evil = IndexRepository(settings.home / "evil-index")
    with session(settings) as s:
        entries = [{**index_entry(s, r), "status": "active"} for r in s.query(Release)]
    evil.publish(entries, {}, lifetime={"timestamp": timedelta(minutes=30)})
    for part in ("metadata", "targets"):
        shutil.rmtree(real.root / part)
        shutil.copytree(evil.root / part, real.root / part)
    results["kill list signed by the attacker's keys"] = attempt()
    # 4. a frozen index: still the right keys, but its timestamp has expired
    with session(settings) as s:
        sign_index(s, settings, now=datetime.now(UTC) - timedelta(hours=2))
    results["frozen index (expired timestamp)"] = attempt()
    # 5. the registry cannot be reached at all
    shutil.rmtree(real.metadata)
    results["registry unreachable"] = attempt()
    return results


# -- native code the static scan cannot read -------------------------------------------------

ELF = b"\x7fELF\x02\x01\x01" + b"\0" * 57


def native_code(settings, key) -> dict[str, str]:
    """Native extension modules: machine code no scan reads, refused at publish and
    install (and in certification, ``packaging.readable``)."""
    members = {"an extension module (.so)": "acme_signal/_fast.cpython-311-x86_64-linux-gnu.so",
               "ELF bytes under another name": "acme_signal/data.bin",
               "a Windows extension (.pyd)": "acme_signal/_fast.pyd"}
    results = {}
    for number, (name, member) in enumerate(members.items()):
        filename, wheel = make_wheel(version=f"1.0.{number}", extra={member: ELF})
        results[f"publish: {name}"] = outcome(
            lambda f=filename, w=wheel: publish_signed(settings, key, f, w))
    for number, (name, member) in enumerate(members.items()):
        version = f"2.0.{number}"
        filename, wheel = make_wheel(version=version, extra={member: ELF})
        legacy_release(settings, key, filename, wheel)
        results[f"install: {name}"] = outcome(
            lambda v=version: _install(settings, f"acme-signal=={v}"))
        assert not plugin_importable(settings)
    return results


def _install(settings, spec):
    from tracer_registry.install import install

    with session(settings) as s:
        return install(s, settings, "t1", spec)


# -- names around a protected one --------------------------------------------------------------

AROUND = ("my-tracer-esports-pro", "the-tracer-fraud-kit", "tracer-esport-pro",
          "tracer-fraud-s", "tracer-frauds-x", "tracer-fraudd", "tracer-\u0435sports",
          "TRACER_ESPORTS", "tracer.fraud", "tracer--fraud")
CLAIMS = ("tracer-*", "tracer-e*", "tracer-fraud", "tracer-esports")


def names_around(settings, key) -> dict[str, str]:
    """A stranger tries names around a first-party one (prefix and suffix together, plural
    plus suffix, case and separators, a Cyrillic letter), each in a namespace of its own,
    then namespaces covering a first-party name, then the exact name under a key that a
    registry without the namespace rule let it register."""
    from cryptography.hazmat.primitives.asymmetric import ec
    from tracer_registry.models import PublisherKey
    from tracer_registry.publishers import register_key
    from tracer_registry.signing import public_pem
    from tracer_registry.verify import key_id

    from tests.registry.attack_classes import checked

    _mallory(settings)
    results = {}

    def claim(namespace, private):
        with session(settings) as s:
            register_key(s, "mallory", namespace, public_pem(private))

    for name in AROUND:
        private = ec.generate_private_key(ec.SECP256R1())
        refused = checked(lambda n=name, k=private: claim(n, k))
        filename, wheel = make_wheel(name=name, domain="mallory/signal")
        results[f"publish {name}"] = refused if refused != "accepted" else outcome(
            lambda f=filename, w=wheel, k=private: publish_signed(settings, k, f, w))
    for namespace in CLAIMS:
        results[f"claim the namespace {namespace}"] = checked(
            lambda n=namespace: claim(n, ec.generate_private_key(ec.SECP256R1())))
    private = ec.generate_private_key(ec.SECP256R1())
    with session(settings) as s:  # a key registered before first-party names were guarded
        s.add(PublisherKey(key_id=key_id(private.public_key()), publisher_id="mallory",
                           namespace="tracer-fraud", public_pem=public_pem(private)))
    filename, wheel = make_wheel(name="tracer-fraud", domain="mallory/fraud")
    results["publish the first-party name under a legacy key"] = outcome(
        lambda: publish_signed(settings, private, filename, wheel))
    return results
