"""Installs into the plugin dir, upgrades, failed installs, policy, yank/quarantine/revoke."""

from __future__ import annotations

import json

import pytest
from tracer.db import session
from tracer.errors import ConflictError
from tracer.host import PluginHost
from tracer_registry.catalog import set_certification, show
from tracer_registry.errors import RegistryError
from tracer_registry.install import install, set_policy
from tracer_registry.models import Installation
from tracer_registry.publishing import publish
from tracer_registry.revocation import change_status
from tracer_registry.verify import Refusal

from tests.registry.artifacts import make_wheel, signed


def _publish(settings, key, version, **options):
    filename, wheel = make_wheel(version=version, **options)
    with session(settings) as s:
        return publish(s, settings, wheel, filename, signed(key, filename, wheel),
                       domains=["acme/signal"]).version


def _install(settings, spec="acme-signal"):
    with session(settings) as s:
        return install(s, settings, "t1", spec)


def _status(settings, version, action, reason="test"):
    with session(settings) as s:
        return change_status(s, settings, "acme-signal", version, action, reason).status


def _installed_version(settings):
    found = [p.name for p in settings.plugins_path.glob("acme_signal-*.dist-info")]
    assert len(found) <= 1, found
    return found[0].removesuffix(".dist-info").split("-")[1] if found else None


def test_install_then_upgrade_puts_the_plugin_in_the_plugin_dir_and_the_host_loads_it(
        acme, publisher_key):
    _publish(acme, publisher_key, "1.0.0")
    first = _install(acme)
    assert (first.version, first.previous, first.domains) == ("1.0.0", None, ["acme/signal"])
    _publish(acme, publisher_key, "1.1.0")
    second = _install(acme)
    assert (second.version, second.previous) == ("1.1.0", "1.0.0")
    assert _installed_version(acme) == "1.1.0"
    host = PluginHost(acme)
    assert host.records["acme-signal"].status == "loaded"
    assert host.records["acme-signal"].version == "1.1.0"
    with session(acme) as s:
        row = s.query(Installation).one()
        assert (row.tenant_id, row.version, row.enabled) == ("t1", "1.1.0", False)


def test_a_release_that_fails_to_load_leaves_the_previous_version_serving(acme,
                                                                          publisher_key):
    _publish(acme, publisher_key, "1.0.0")
    _install(acme)
    _publish(acme, publisher_key, "2.0.0", body="raise RuntimeError('broken at import')")
    with pytest.raises(RegistryError, match="1.0.0 stays installed"):
        _install(acme)
    assert _installed_version(acme) == "1.0.0"
    assert PluginHost(acme).records["acme-signal"].status == "loaded"
    assert not list(acme.plugins_path.glob(".staging-*")) + list(
        acme.plugins_path.glob(".backup-*"))


def test_tenant_certification_policy_refuses_lower_levels(acme, publisher_key):
    _publish(acme, publisher_key, "1.0.0")
    with session(acme) as s:
        set_policy(s, "t1", "certified")
    with pytest.raises(Refusal) as refused:
        _install(acme)
    assert refused.value.check == "policy"
    assert "community" in str(refused.value)
    with session(acme) as s:
        set_certification(s, acme, "acme-signal", "1.0.0", level="certified",
                          report={"checks": 12, "passed": 12})
    # the index's level alone does not pass: the signed attestation must verify over the
    # downloaded bytes (the passing case is tests/e2e/test_release_journey.py)
    with pytest.raises(Refusal) as refused:
        _install(acme)
    assert refused.value.check == "certification"
    assert not list(acme.plugins_path.glob("acme_signal*"))


def test_yank_hides_from_new_installs_but_an_exact_pin_still_installs(acme, publisher_key):
    _publish(acme, publisher_key, "1.0.0")
    _publish(acme, publisher_key, "1.1.0")
    assert _status(acme, "1.1.0", "yank", "breaks on empty frames") == "yanked"
    assert _install(acme).version == "1.0.0"
    assert _install(acme, "acme-signal==1.1.0").version == "1.1.0"
    with session(acme) as s:
        versions = {v["version"]: (v["status"], v["reason"])
                    for v in show(s, "acme-signal")["versions"]}
    assert versions["1.1.0"] == ("yanked", "breaks on empty frames")


def test_quarantine_blocks_install_and_execution_until_lifted(acme, publisher_key):
    _publish(acme, publisher_key, "1.0.0")
    _install(acme)
    _status(acme, "1.0.0", "quarantine", "under investigation")
    with pytest.raises(Refusal) as refused:
        _install(acme)
    assert refused.value.check == "status" and "under investigation" in str(refused.value)
    assert PluginHost(acme).records["acme-signal"].status == "skipped"
    _status(acme, "1.0.0", "lift", "cleared")
    assert PluginHost(acme).records["acme-signal"].status == "loaded"


def test_revoke_puts_the_release_on_the_kill_list_and_running_hosts_unload_it(
        acme, publisher_key):
    _publish(acme, publisher_key, "1.0.0")
    _install(acme)
    running = PluginHost(acme)
    assert "acme/signal" in running.domains
    _status(acme, "1.0.0", "revoke", "credential theft")
    kill_list = json.loads((acme.plugins_path / "kill-list.json").read_text())
    assert kill_list["entries"] == [{"distribution": "acme-signal", "version": "1.0.0",
                                     "action": "revoked", "reason": "credential theft"}]
    assert running.apply_kill_list() == ["acme-signal"]
    assert "acme/signal" not in running.domains
    assert running.records["acme-signal"].error == "revoked: credential theft"
    with pytest.raises(ConflictError):
        _status(acme, "1.0.0", "lift", "oops")  # revocation is final
    with pytest.raises(Refusal):
        _install(acme, "acme-signal==1.0.0")


def test_incompatible_tracer_range_is_refused_before_download(acme, publisher_key):
    _publish(acme, publisher_key, "1.0.0", requires_tracer=">=9")
    with pytest.raises(Refusal) as refused:
        _install(acme)
    assert refused.value.check == "metadata"
