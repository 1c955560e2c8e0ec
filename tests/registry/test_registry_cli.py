"""The registry's commands, in process through ``tracer.cli.main`` (TRACER_HOME in tmp).

Publishers make a key, register it, sign and publish; anyone searches and shows the
catalog; an operator installs for a tenant and yanks, quarantines, revokes and lifts with
reasons. Errors are one line on stderr with exit status 1 (2 for usage errors).
"""

from __future__ import annotations

import json
import stat

import pytest
from tracer.cli import main
from tracer.db import session

from tests.certification.build import FIXTURES, build_wheel
from tests.registry.artifacts import make_wheel, write


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, " ".join(captured.out.split()), " ".join(captured.err.split())


def run_json(capsys, *argv: str):
    code = main(list(argv))
    assert code == 0
    return json.loads(capsys.readouterr().out)


@pytest.fixture(autouse=True)
def _wide_console(monkeypatch):
    """Paths in messages stay on one line (rich folds long words at the terminal width)."""
    from tracer.cli import context

    monkeypatch.setattr(context.console, "_width", 240)


@pytest.fixture
def acme_cli(settings, tmp_path, capsys):
    """Publisher acme with a key made and registered through the CLI; tenant t1."""
    from tracer.cli.context import platform
    from tracer.tenancy import create_tenant

    key = tmp_path / "keys" / "acme.pem"
    code, out, _ = run(capsys, "publisher", "keygen", str(key))
    assert code == 0 and "private key" in out
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert (tmp_path / "keys" / "acme.pem.pub").read_text().startswith("-----BEGIN PUBLIC KEY")
    assert run(capsys, "publisher", "create", "acme", "--name", "Acme Analytics")[:2] == (
        0, "publisher acme created")
    code, out, _ = run(capsys, "publisher", "add-key", "acme", "--namespace", "acme-*",
                       "--key", f"{key}.pub")
    assert code == 0 and out.endswith("registered for acme-*")
    assert run(capsys, "publisher", "claim-domain", "acme", "--prefix", "acme")[:2] == (
        0, "acme owns domain prefix acme/")
    h, _ = platform()
    with session(h.settings) as s:
        create_tenant(s, "t1", "Tenant One", "professional", h.settings.tiers)
    return key


def signed_wheel(capsys, tmp_path, key, version: str, **options):
    filename, data = make_wheel(version=version, **options)
    wheel = write(tmp_path, filename, data)
    code, out, _ = run(capsys, "publisher", "sign", str(wheel), "--key", str(key))
    assert code == 0 and out == f"wrote {wheel}.sigstore.json"
    return wheel


def publish(capsys, wheel, *extra: str):
    return run(capsys, "publish", str(wheel), "--bundle", f"{wheel}.sigstore.json",
               "--domain", "acme/signal", *extra)


def test_a_publisher_signs_and_publishes_and_certification_is_queued(acme_cli, capsys,
                                                                    tmp_path):
    wheel = signed_wheel(capsys, tmp_path, acme_cli, "1.0.0")
    code, out, err = publish(capsys, wheel)
    assert (code, err) == (0, "")
    assert "published acme-signal 1.0.0" in out and "(key), level community" in out
    assert "certification queued: `tracer review run-pending` runs the automated checks" in out
    code, out, err = publish(capsys, wheel)
    assert code == 1 and "refused (version check): acme-signal 1.0.0 is not newer" in err
    tampered = tmp_path / "other" / wheel.name
    tampered.parent.mkdir()
    tampered.write_bytes(make_wheel(version="1.0.1")[1])
    code, _, err = run(capsys, "publish", str(tampered), "--bundle", f"{wheel}.sigstore.json")
    assert code == 1 and "refused (" in err
    status = run_json(capsys, "review", "status", "acme-signal", "1.0.0")
    assert (status["status"], status["automated"]["status"]) == ("checks-pending", "pending")


def test_publisher_accounts_refuse_duplicates_and_overlapping_namespaces(acme_cli, capsys):
    code, _, err = run(capsys, "publisher", "create", "acme", "--name", "Again")
    assert code == 1 and "publisher 'acme' exists already" in err
    assert run(capsys, "publisher", "create", "globex", "--name", "Globex")[0] == 0
    code, _, err = run(capsys, "publisher", "trust", "globex", "--namespace", "acme-fraud",
                       "--issuer", "https://token.actions.githubusercontent.com",
                       "--repository", "globex/fraud", "--workflow", "release.yml")
    assert code == 1 and "overlaps 'acme-*', which publisher 'acme' owns" in err
    code, out, _ = run(capsys, "publisher", "trust", "globex", "--namespace", "globex-*",
                       "--issuer", "https://token.actions.githubusercontent.com",
                       "--repository", "globex/fraud", "--workflow", "release.yml")
    assert code == 0 and out == "globex may publish globex-* from globex/fraud release.yml"
    code, _, err = run(capsys, "publisher", "add-key", "globex", "--namespace", "globex-*",
                       "--key", str(acme_cli) + ".pub")
    assert code == 1 and "is registered already" in err


def test_catalog_search_and_show_as_tables_and_json(acme_cli, capsys, tmp_path):
    for version in ("1.0.0", "1.1.0"):
        assert publish(capsys, signed_wheel(capsys, tmp_path, acme_cli, version))[0] == 0
    found = run_json(capsys, "catalog", "search", "--json")
    assert [(r["name"], r["version"], r["certification_level"], r["domains"])
            for r in found] == [("acme-signal", "1.1.0", "community", ["acme/signal"])]
    assert len(run_json(capsys, "catalog", "search", "signal", "--domain", "acme",
                        "--level", "community", "--json")) == 1
    assert run_json(capsys, "catalog", "search", "--level", "certified", "--json") == []
    assert run_json(capsys, "catalog", "search", "weather", "--json") == []
    code, out, _ = run(capsys, "catalog", "search")
    assert code == 0 and "Catalog (1 listings)" in out and "acme-signal" in out
    shown = run_json(capsys, "catalog", "show", "acme-signal", "--json")
    assert [v["version"] for v in shown["versions"]] == ["1.1.0", "1.0.0"]
    assert shown["publisher"]["identity"]["method"] == "key"
    code, out, _ = run(capsys, "catalog", "show", "acme/signal")
    assert code == 0 and "acme-signal — Acme signal domain for Tracer" in out
    assert "publisher acme" in out and "level community" in out and "free" in out
    code, _, err = run(capsys, "catalog", "show", "acme-nothing")
    assert code == 1 and "no listing 'acme-nothing' in the catalog" in err
    code, _, err = run(capsys, "catalog", "search", "--level", "gold")
    assert code == 1 and "unknown certification level 'gold'" in err


def test_install_yank_quarantine_revoke_and_lift_from_the_cli(acme_cli, capsys, tmp_path,
                                                             settings):
    for version in ("1.0.0", "1.1.0"):
        assert publish(capsys, signed_wheel(capsys, tmp_path, acme_cli, version))[0] == 0
    code, out, err = run(capsys, "install", "acme-signal", "--tenant", "t1")
    assert (code, err) == (0, "")
    assert out == ("installed acme-signal 1.1.0 (was -); domains acme/signal — enable them "
                   "for t1")
    code, out, _ = run(capsys, "yank", "acme-signal==1.1.0", "--reason", "breaks on empty frames")
    assert (code, out) == (0, "acme-signal 1.1.0 is now yanked: breaks on empty frames")
    code, out, _ = run(capsys, "quarantine", "acme-signal==1.0.0", "--reason", "under review")
    assert (code, out) == (0, "acme-signal 1.0.0 is now quarantined: under review")
    code, _, err = run(capsys, "install", "acme-signal", "--tenant", "t1")
    assert code == 1 and "refused (status check): acme-signal has no installable release" in err
    code, out, _ = run(capsys, "revoke", "acme-signal==1.1.0", "--reason", "credential theft")
    assert (code, out) == (0, "acme-signal 1.1.0 is now revoked: credential theft")
    kill_list = json.loads((settings.plugins_path / "kill-list.json").read_text())["entries"]
    assert [(e["version"], e["action"], e["reason"]) for e in kill_list] == [
        ("1.0.0", "quarantined", "under review"), ("1.1.0", "revoked", "credential theft")]
    from tracer.host import PluginHost

    assert PluginHost(settings).records["acme-signal"].status == "skipped"
    code, _, err = run(capsys, "lift", "acme-signal==1.1.0", "--reason", "oops")
    assert code == 1 and "acme-signal 1.1.0 is revoked" in err
    code, out, _ = run(capsys, "lift", "acme-signal==1.0.0", "--reason", "cleared")
    assert (code, out) == (0, "acme-signal 1.0.0 is now active: cleared")
    assert run(capsys, "yank", "acme-signal", "--reason", "no version")[0] == 2
    assert run(capsys, "revoke", "acme-signal==1.0.0")[0] == 2  # --reason is required
    code, _, err = run(capsys, "quarantine", "acme-signal==1.0.0", "--reason", " ")
    assert code == 1 and "a quarantine needs a reason tenants can read" in err
    shown = run_json(capsys, "catalog", "show", "acme-signal", "--json")
    assert {v["version"]: (v["status"], v["reason"]) for v in shown["versions"]} == {
        "1.1.0": ("revoked", "credential theft"), "1.0.0": ("active", "cleared")}


def test_publish_with_certify_runs_the_queued_checks_and_the_report_enters_review(
        settings, capsys, tmp_path):
    key = tmp_path / "labs.pem"
    assert run(capsys, "publisher", "keygen", str(key))[0] == 0
    assert run(capsys, "publisher", "create", "certsample-labs", "--name", "Labs")[0] == 0
    assert run(capsys, "publisher", "add-key", "certsample-labs", "--namespace",
               "tracer-certsample", "--key", f"{key}.pub")[0] == 0
    assert run(capsys, "publisher", "claim-domain", "certsample-labs", "--prefix",
               "certsample")[0] == 0
    wheel = build_wheel(FIXTURES / "benign", tmp_path / "dist")
    assert run(capsys, "publisher", "sign", str(wheel), "--key", str(key))[0] == 0
    code, out, err = run(capsys, "publish", str(wheel), "--bundle", f"{wheel}.sigstore.json",
                         "--domain", "certsample/signal", "--certify")
    assert (code, err) == (0, "")
    assert "published tracer-certsample 1.0.0" in out
    assert "certification of tracer-certsample 1.0.0: done" in out
    status = run_json(capsys, "review", "status", "tracer-certsample", "1.0.0")
    assert (status["status"], status["report_passed"], status["counts"]["errors"]) == (
        "queued", True, 0)
    assert status["automated"]["status"] == "done"
    code, out, _ = run(capsys, "review", "run-pending")
    assert (code, out) == (0, "no release is waiting for the automated checks")
    code, out, _ = run(capsys, "review", "queue")
    assert code == 0 and "tracer-certsample" in out and "queued" in out


def test_run_pending_records_a_run_it_cannot_certify_and_claims_each_run_once(settings,
                                                                             capsys):
    from tracer.cli.context import platform
    from tracer_registry.certify import intake, runs
    from tracer_registry.certify.policy import REGISTRY_POLICY

    h, _ = platform()
    with session(h.settings) as s:
        first = runs.enqueue(s, "Acme_Ghost", "1.0.0").id
        assert runs.enqueue(s, "acme-ghost", "1.0.0").id == first  # once per release
    code, out, _ = run(capsys, "review", "run-pending")
    assert code == 0
    assert "acme-ghost 1.0.0: the validator could not run: acme-ghost has no release 1.0.0" \
        in out
    with session(h.settings) as s:
        state = runs.state(s, "acme-ghost", "1.0.0")
        assert (state["status"], state["review"]) == ("failed", None)
        runs.enqueue(s, "acme-other", "2.0.0")
    assert intake._claim_next(h.settings, REGISTRY_POLICY)[1:] == ("acme-other", "2.0.0")
    assert intake._claim_next(h.settings, REGISTRY_POLICY) is None  # running: not claimed twice


def test_claiming_a_first_party_or_taken_domain_prefix_fails_and_export_root_writes_the_pin(
        acme_cli, capsys, tmp_path, settings):
    from tracer_registry.config import default_pinned_root

    assert run(capsys, "publisher", "create", "globex", "--name", "Globex")[0] == 0
    code, _, err = run(capsys, "publisher", "claim-domain", "globex", "--prefix", "esports")
    assert code == 1 and "is (or looks like) the first-party prefix 'esports'" in err
    code, _, err = run(capsys, "publisher", "claim-domain", "globex", "--prefix", "acme/x")
    assert code == 1 and "overlaps 'acme', which publisher 'acme' owns" in err
    assert publish(capsys, signed_wheel(capsys, tmp_path, acme_cli, "1.0.0"))[0] == 0
    target = tmp_path / "ship" / "root.json"
    code, out, _ = run(capsys, "catalog", "export-root", str(target))
    assert code == 0 and out.startswith(f"root metadata written to {target}")
    assert json.loads(target.read_text())["signed"]["_type"] == "root"
    assert target.read_bytes() == default_pinned_root(settings).read_bytes()
