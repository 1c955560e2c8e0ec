"""Issue 12: each attack that was accepted is now refused, naming its check, and no
plugin code runs; the summary prints tried / refused per class."""

from __future__ import annotations

import pytest
from tracer.db import session
from tracer_registry.models import Release

from tests.registry import attack_classes as attacks


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
    monkeypatch.setenv("TRACER_REGISTRY_TIMESTAMP_LIFETIME_SECONDS", "3600")


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
    monkeypatch.setenv("TRACER_REGISTRY_PINNED_ROOT", str(tmp_path / "absent.json"))
    with pytest.raises(Refusal, match="a host never trusts a root on first use"):
        attacks.install_for(acme)
