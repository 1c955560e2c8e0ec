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
    monkeypatch.setenv("TRACER_REGISTRY_TIMESTAMP_LIFETIME_SECONDS", "3600")
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
