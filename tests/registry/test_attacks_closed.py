"""Issue 12: each attack that was accepted is now refused, naming its check, and no
plugin code runs; the summary prints tried / refused per class."""

from __future__ import annotations

import pytest
from tracer.db import session
from tracer_registry.models import Release

from tests.registry import attack_classes as attacks
from tests.registry import attack_hosts as hosts


def test_a_swapped_wheel_is_refused_at_re_sign_and_install_naming_both_digests(
        acme, publisher_key, capsys):
    import hashlib

    from tracer_registry.catalog import repository, sign_index
    from tracer_registry.verify import Refusal

    from tests.registry.artifacts import make_wheel, signed

    filename, wheel = make_wheel()
    attacks.publish_signed(acme, publisher_key, filename, wheel, domains=["acme/signal"])
    _, other = make_wheel(body="pass  # another build")
    target = repository(acme).targets / "acme-signal" / filename
    target.write_bytes(other)
    (target.parent / f"{filename}.sigstore.json").write_bytes(
        signed(publisher_key, filename, other))
    before = (repository(acme).metadata / "timestamp.json").read_bytes()
    with session(acme) as s, pytest.raises(Refusal) as refused:
        sign_index(s, acme)
    assert refused.value.check == "digest"
    message = str(refused.value)
    assert hashlib.sha256(other).hexdigest() in message
    assert hashlib.sha256(wheel).hexdigest() in message
    assert (repository(acme).metadata / "timestamp.json").read_bytes() == before
    with session(acme) as s:
        assert [r.wheel_sha256 for r in s.query(Release)] == [hashlib.sha256(wheel).hexdigest()]


def test_storage_swaps_are_refused_everywhere(acme, publisher_key):
    results = attacks.storage_swap(acme, publisher_key)
    assert results == dict.fromkeys(results, "digest") and len(results) == 4


def test_install_names_the_downloaded_digest_and_the_recorded_one(acme, publisher_key):
    import hashlib

    from tracer_registry.catalog import index_entry, repository
    from tracer_registry.verify import Refusal

    from tests.registry.artifacts import make_wheel

    filename, wheel = make_wheel()
    attacks.publish_signed(acme, publisher_key, filename, wheel, domains=["acme/signal"])
    _, other = make_wheel(body="pass  # swapped")
    index = repository(acme)
    target = index.targets / "acme-signal" / filename
    target.write_bytes(other)
    bundle = target.parent / f"{filename}.sigstore.json"
    with session(acme) as s:
        entries = [index_entry(s, r) for r in s.query(Release)]
    attacks.sign_raw(index, entries, {f"acme-signal/{filename}": (target, hashlib.sha256(other)
                                                        .hexdigest()),
                            f"acme-signal/{filename}.sigstore.json": (
                                bundle, hashlib.sha256(bundle.read_bytes()).hexdigest())})
    with pytest.raises(Refusal) as refused:
        attacks.install_for(acme)
    assert refused.value.check == "digest"
    assert (f"the bytes have sha256 {hashlib.sha256(other).hexdigest()}, the catalog "
            f"records {hashlib.sha256(wheel).hexdigest()}") in str(refused.value)
    assert not attacks.plugin_importable(acme)


def test_pth_bytecode_and_unreadable_source_are_refused_at_publish_and_install(
        acme, publisher_key):
    results = attacks.startup_hooks_and_unreadable(acme, publisher_key)
    assert results == dict.fromkeys(results, "contents") and len(results) == 12
    with session(acme) as s:  # the refused publishes stored nothing
        assert {r.version for r in s.query(Release)} == {f"2.0.{n}" for n in range(6)}


@pytest.fixture
def short_lifetime(monkeypatch):
    monkeypatch.setenv("TRACER_REGISTRY__TIMESTAMP_LIFETIME_SECONDS", "3600")


def test_a_new_host_trusts_the_pinned_root_not_the_first_index_it_is_shown(
        acme, publisher_key, short_lifetime):
    results = attacks.index_trust(acme, publisher_key)
    assert results == {"replayed pre-revoke index, new host": "freshness",
                       "attacker's own root shown to a new host": "index",
                       "registry unreachable": "freshness"}


def test_a_host_that_cannot_refresh_stops_installing_and_says_why(
        acme, publisher_key, short_lifetime):
    import shutil

    from tracer_registry.catalog import repository
    from tracer_registry.verify import Refusal

    from tests.registry.artifacts import make_wheel

    filename, wheel = make_wheel()
    attacks.publish_signed(acme, publisher_key, filename, wheel, domains=["acme/signal"])
    attacks.install_for(acme)  # a verified refresh at time T
    shutil.rmtree(repository(acme).metadata)
    with pytest.raises(Refusal) as refused:
        attacks.install_for(acme)
    message = str(refused.value)
    assert refused.value.check == "freshness"
    assert "cannot refresh the catalog index" in message
    assert "the last verified refresh was at 20" in message
    assert "the timestamp lifetime is 3600 s, so installs stop" in message


def test_a_host_without_a_pinned_root_refuses_to_start_trusting(acme, publisher_key,
                                                                 monkeypatch, tmp_path):
    from tracer_registry.verify import Refusal

    from tests.registry.artifacts import make_wheel

    filename, wheel = make_wheel()
    attacks.publish_signed(acme, publisher_key, filename, wheel, domains=["acme/signal"])
    monkeypatch.setenv("TRACER_REGISTRY__PINNED_ROOT", str(tmp_path / "absent.json"))
    with pytest.raises(Refusal, match="a host never trusts a root on first use"):
        attacks.install_for(acme)


def test_typosquats_of_first_party_and_other_listings_are_refused(acme, publisher_key):
    results = attacks.near_miss_names(acme, publisher_key)
    assert results == dict.fromkeys(results, "near-miss") and len(results) == 10
    with session(acme) as s:
        assert [r.listing_name for r in s.query(Release)] == ["acme-signal"]


def test_domains_are_owned_and_install_by_domain_resolves_to_the_owner(acme, publisher_key):
    results = attacks.domain_hijack(acme, publisher_key)
    claims = {k: v for k, v in results.items() if k.startswith("claim")}
    assert claims == dict.fromkeys(claims, "conflict") and len(claims) == 5
    others = {k: v for k, v in results.items() if k not in claims}
    assert others == dict.fromkeys(others, "domain") and len(others) == 6


def test_a_near_miss_is_held_for_review_under_the_hold_policy(acme, publisher_key,
                                                              monkeypatch):
    from tracer_registry.catalog import show
    from tracer_registry.verify import Refusal

    from tests.registry.artifacts import make_wheel

    monkeypatch.setenv("TRACER_REGISTRY__NAME_POLICY", "hold")
    keys = attacks._mallory(acme, ("tracer-frauds",))
    filename, wheel = make_wheel(name="tracer-frauds", domain="mallory/fraud")
    release = attacks.publish_signed(acme, keys["tracer-frauds"], filename, wheel)
    assert release.status == "quarantined"
    assert release.status_reason == ("held for review (near-miss check): 'tracer-frauds' is a "
                                     "near miss of 'tracer-fraud' (a plural 's' added or "
                                     "removed)")
    with pytest.raises(Refusal, match="status check"):
        attacks.install_for(acme, "tracer-frauds")
    filename, wheel = make_wheel(name="tracer-frauds", version="1.0.1", domain="mallory/fraud")
    assert attacks.publish_signed(acme, keys["tracer-frauds"], filename, wheel).status == \
        "quarantined"  # still held: nobody reviewed the name yet
    with session(acme) as s:
        shown = show(s, "tracer-frauds")
    assert [v["status"] for v in shown["versions"]] == ["quarantined", "quarantined"]
    assert not attacks.plugin_importable(acme, "tracer_frauds")


CLASSES = {
    "storage swap (re-sign, install)": (attacks.storage_swap, {"digest"}),
    ".pth, bytecode, unreadable code": (attacks.startup_hooks_and_unreadable, {"contents"}),
    "typosquats (near-miss names)": (attacks.near_miss_names, {"near-miss"}),
    "domain hijack": (attacks.domain_hijack, {"domain", "conflict"}),
    "trust on first use, stale index": (attacks.index_trust, {"index", "freshness"}),
    "review takeover": (attacks.review_takeover, {"forbidden", "conflict"}),
    "certification misses": (attacks.certification_misses, {
        "packaging.paths", "packaging.readable", "static.eval-exec",
        "static.filesystem-write", "static.subprocess", "packaging.native",
        "metadata.domains", "conformance"}),
    "failed installs": (attacks.failed_installs, {"rolled back"}),
    "key hygiene": (attacks.key_hygiene, {"conflict", "validation"}),
    "signed kill list (mirror)": (hosts.kill_list_tampering, {"index", "freshness"}),
    "native code": (hosts.native_code, {"contents"}),
    "names around, namespaces": (hosts.names_around, {"near-miss", "conflict", "validation"}),
}


def test_issue_12_attack_summary_tried_and_refused_per_class(tmp_path, monkeypatch, request,
                                                              capsys):
    from cryptography.hazmat.primitives.asymmetric import ec

    from tests.registry.test_attacks import _acme, _fresh

    monkeypatch.setenv("TRACER_REGISTRY__TIMESTAMP_LIFETIME_SECONDS", "3600")
    rows = []
    for number, (name, (attack, checks)) in enumerate(CLASSES.items()):
        settings = _fresh(tmp_path / f"home{number}", monkeypatch, request)
        key = ec.generate_private_key(ec.SECP256R1())
        _acme(settings, key)
        results = attack(settings, key)
        refused = sum(1 for outcome in results.values() if outcome in checks)
        rows.append((name, len(results), refused, sorted(set(results.values()))))
        assert refused == len(results), (name, results)
    with capsys.disabled():
        print("\nissue 12 attack class            tried  refused  accepted  checks")
        for name, tried, refused, named in rows:
            print(f"{name:<32} {tried:>5} {refused:>8} {tried - refused:>9}  "
                  f"{', '.join(named)}")
        print(f"{'total':<32} {sum(r[1] for r in rows):>5} {sum(r[2] for r in rows):>8}")
    assert sum(r[1] for r in rows) == 88


def test_each_certification_miss_fails_the_check_meant_for_it(acme, publisher_key):
    assert attacks.certification_misses(acme, publisher_key) == {
        ".pth under .data/purelib": "packaging.paths",
        "sourceless .pyc": "packaging.readable",
        "pkgutil.resolve_name": "static.eval-exec",
        "Path.open for writing": "static.filesystem-write",
        "getattr(pkgutil, 'resolve_name')": "static.eval-exec",
        "getattr(os, 'system')": "static.subprocess",
        ".pth at the top level": "packaging.paths",
        "a native extension module": "packaging.native",
        "a first-party domain": "metadata.domains",
        "a feature that leaks the label": "conformance"}
