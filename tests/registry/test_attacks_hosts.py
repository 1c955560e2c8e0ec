"""Issue 12, hosts: the kill list is signed data a host copies only verified; native code,
names around a protected one. Each attack fails closed naming its check."""

from __future__ import annotations

import json

from tracer.db import session

from tests.registry import attack_hosts as attacks
from tests.registry.artifacts import make_wheel
from tests.registry.attack_classes import install_for, publish_signed


def test_the_index_signs_the_kill_list_and_the_registry_writes_the_same_bytes(
        acme, publisher_key):
    from tracer_registry.catalog import repository
    from tracer_registry.revocation import change_status
    from tuf.api.metadata import Metadata, Targets

    filename, wheel = make_wheel()
    publish_signed(acme, publisher_key, filename, wheel, domains=["acme/signal"])
    with session(acme) as s:
        change_status(s, acme, "acme-signal", "1.0.0", "quarantine", "under review")
    index = repository(acme)
    signed = Metadata[Targets].from_file(str(index.metadata / "targets.json"))
    local = (acme.plugins_path / "kill-list.json").read_bytes()
    assert (index.targets / "kill-list.json").read_bytes() == local
    import hashlib

    assert signed.signed.targets["kill-list.json"].hashes["sha256"] == \
        hashlib.sha256(local).hexdigest()
    assert json.loads(local)["entries"] == [{"distribution": "acme-signal", "version": "1.0.0",
                                             "action": "quarantined",
                                             "reason": "under review"}]


def test_another_host_learns_a_revoke_only_from_the_signed_kill_list(acme, publisher_key):
    from tracer.host import PluginHost
    from tracer_registry import kill_list
    from tracer_registry.revocation import change_status

    filename, wheel = make_wheel()
    publish_signed(acme, publisher_key, filename, wheel, domains=["acme/signal"])
    host_b = attacks.second_host(acme)
    install_for(host_b)
    with session(acme) as s:
        change_status(s, acme, "acme-signal", "1.0.0", "revoke", "exfiltrates records")
    assert attacks.killed_on(host_b) == []  # nothing told host b yet
    synced = kill_list.sync(host_b)
    assert (synced.entries, synced.changed) == (1, True)
    assert "kill list: 1 entry from the signed index" in str(synced)
    assert attacks.killed_on(host_b) == ["acme-signal==1.0.0"]
    plugin_host = PluginHost(host_b)
    try:
        record = plugin_host.records["acme-signal"]
        assert record.status == "skipped" and "exfiltrates records" in record.error
    finally:
        plugin_host.close()
    assert kill_list.sync(host_b).changed is False


def test_a_mirror_cannot_take_a_revocation_back_from_a_host(acme, publisher_key, monkeypatch):
    monkeypatch.setenv("TRACER_REGISTRY__TIMESTAMP_LIFETIME_SECONDS", "3600")
    assert attacks.kill_list_tampering(acme, publisher_key) == {
        "kill list served with the revoke dropped": "index",
        "pre-revoke index and kill list replayed": "index",
        "kill list signed by the attacker's keys": "index",
        "frozen index (expired timestamp)": "freshness",
        "registry unreachable": "freshness"}


def test_refresh_from_the_cli_says_why_a_host_cannot_refresh(acme, publisher_key, capsys):
    import shutil

    from tracer.cli import main
    from tracer.cli.context import reset
    from tracer_registry.catalog import repository

    filename, wheel = make_wheel()
    publish_signed(acme, publisher_key, filename, wheel, domains=["acme/signal"])
    reset()
    assert main(["catalog", "refresh"]) == 0
    assert "kill list: 0 entries from the signed index" in capsys.readouterr().out
    shutil.rmtree(repository(acme).metadata)
    assert main(["catalog", "refresh"]) == 1
    err = capsys.readouterr().err
    assert "refused (freshness check): cannot refresh the catalog index" in err
    assert "the last verified refresh was at" in err


def test_native_code_is_refused_at_publish_and_install(acme, publisher_key):
    from tracer_registry.models import Release

    results = attacks.native_code(acme, publisher_key)
    assert results == dict.fromkeys(results, "contents") and len(results) == 6
    with session(acme) as s:  # the refused publishes stored nothing
        assert {r.version for r in s.query(Release)} == {"2.0.0", "2.0.1", "2.0.2"}


def test_names_around_a_first_party_name_and_namespaces_covering_one_are_refused(
        acme, publisher_key):
    from tracer_registry.models import Release

    results = attacks.names_around(acme, publisher_key)
    claims = {k: v for k, v in results.items() if v == "conflict"}
    assert sorted(claims) == sorted(
        ["publish TRACER_ESPORTS", "publish tracer.fraud", "publish tracer--fraud",
         *(f"claim the namespace {n}" for n in attacks.CLAIMS)])
    # a Cyrillic letter is no distribution name at all (PEP 508 names are ASCII)
    assert results.pop("publish tracer-\u0435sports") == "validation"
    others = {k: v for k, v in results.items() if k not in claims}
    assert others == dict.fromkeys(others, "near-miss") and len(others) == 7
    with session(acme) as s:
        assert s.query(Release).count() == 0


def test_the_exact_first_party_name_is_refused_naming_the_check(acme):
    from cryptography.hazmat.primitives.asymmetric import ec
    from tracer.errors import ConflictError
    from tracer_registry.publishers import register_key
    from tracer_registry.signing import public_pem

    attacks._mallory(acme)
    with session(acme) as s, __import__("pytest").raises(ConflictError) as refused:
        register_key(s, "mallory", "tracer-*", public_pem(ec.generate_private_key(
            ec.SECP256R1())))
    assert "covers the first-party name 'tracer-esports'" in str(refused.value)


def test_a_new_host_trusts_the_root_shipped_in_the_registry_package(acme, publisher_key,
                                                                   monkeypatch, tmp_path):
    import shutil

    import pytest
    from tracer_registry import config
    from tracer_registry.catalog import repository
    from tracer_registry.index import IndexRepository
    from tracer_registry.verify import Refusal

    filename, wheel = make_wheel()
    publish_signed(acme, publisher_key, filename, wheel, domains=["acme/signal"])
    shutil.rmtree(acme.home / "registry" / "host-config")  # a host with no local copy
    shutil.rmtree(acme.home / "registry" / "trusted", ignore_errors=True)
    shipped = tmp_path / "tracer_registry" / "host_config" / "catalog-root.json"
    monkeypatch.setattr(config, "SHIPPED_ROOT", shipped)
    with pytest.raises(Refusal, match="a host never trusts a root on first use"):
        install_for(acme)
    other = IndexRepository(tmp_path / "another-registry")  # a root of other keys shipped
    other.initialize()
    other.export_root(shipped)
    with pytest.raises(Refusal, match="index check"):
        install_for(acme)
    shutil.rmtree(acme.home / "registry" / "trusted")
    repository(acme).export_root(shipped)  # the operator ships this registry's root
    assert install_for(acme).version == "1.0.0"
