"""The certification part of ``tracer demo``: a third party's release, certified end to end.

A plugin freshly rendered from ``template/`` (what a third party starts from) is built,
signed with its publisher's key and published; the publish queues certification and the
validator worker runs it (``intake.run_pending``) with the registry's fixed policy → the
automated report → a reviewer claims it → two reviewer approvals (M = 2) → the registry's
signature → the attestation verified as a host verifies it before installing → the level
the catalog shows.

Why the template plugin and not a first-party one: the validator trains the plugin's
reference data twice in its sandbox, and the first-party references are large (the
esports plugin's dota2 domain has 93k games: minutes on a loaded machine). The template's
600-row sample takes about twenty seconds, and the policy stays the registry's own.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

from packaging.utils import canonicalize_name
from rich.panel import Panel

WORKSPACE = Path(__file__).resolve().parents[4]
TEMPLATE = WORKSPACE / "template"
PUBLISHER, PUBLISHER_NAME = "acme", "Acme Analytics (a third-party publisher)"
NAMESPACE = "tracer-acme-*"
REVIEWERS = ("reviewer-ada", "reviewer-grace")


def render_template_wheel(out: Path) -> Path | None:
    """The template rendered with its defaults and built offline by its backend (uv)."""
    uv = shutil.which("uv")
    if uv is None or not TEMPLATE.is_dir():
        return None
    from cookiecutter.main import cookiecutter

    project = Path(cookiecutter(str(TEMPLATE), no_input=True, output_dir=str(out / "src")))
    subprocess.run([uv, "build", "--wheel", "--offline", "--out-dir", str(out / "dist"),
                    str(project)], check=True, capture_output=True)
    return next((out / "dist").glob("*.whl"))


def publish_template(settings, console, out: Path) -> tuple[str, str] | None:
    """Publish the rendered plugin as a third party (key-signed); returns (name, version)."""
    from tracer.db import session
    from tracer.errors import ConflictError

    from tracer_registry import catalog, publishers, signing
    from tracer_registry.certify import runs
    from tracer_registry.models import Publisher
    from tracer_registry.publishing import publish

    wheel = render_template_wheel(out)
    if wheel is None:
        console.print("skipped: rendering and building the template needs uv and template/")
        return None
    name, version = canonicalize_name(wheel.name.split("-")[0]), wheel.name.split("-")[1]
    key_path = settings.home.resolve() / "keys" / f"demo-{PUBLISHER}-publisher.pem"
    with session(settings) as s:
        if s.get(Publisher, PUBLISHER) is None:
            publishers.create_publisher(s, PUBLISHER, PUBLISHER_NAME)
        from tracer_registry.domains import claim_domain

        claim_domain(s, PUBLISHER, "acme")  # the domains its releases declare: acme/...
        if not key_path.exists():
            try:
                record = publishers.register_key(s, PUBLISHER, NAMESPACE,
                                                 signing.generate_key(key_path))
            except ConflictError as exc:
                key_path.unlink(missing_ok=True)
                console.print(f"skipped: {exc} (an older demo home; use a fresh TRACER_HOME)")
                return None
            console.print(f"{PUBLISHER} generated an EC P-256 key and registered it for "
                          f"{NAMESPACE} ({record.key_id[:16]}…)")
    with session(settings) as s:
        if any(r.version == version for r in catalog.releases(s, name)):
            runs.enqueue(s, name, version)  # once per release: a no-op when queued before
            console.print(f"{name} {version}: already published")
            return name, version
        data = wheel.read_bytes()
        bundle = signing.sign_with_key(data, wheel.name, signing.load_private_key(key_path))
        release = publish(s, settings, data, wheel.name, bundle, publisher_id=PUBLISHER,
                          domains=["acme/churn"])
        runs.enqueue(s, name, version)
        console.print(f"published [bold]{name} {version}[/] (rendered from template/) "
                      f"signed by {release.signer[:20]}… ({release.method}), level "
                      f"{release.certification_level}; certification queued")
    return name, version


def run_demo(settings, console, wheel: Path | None = None, certify=None) -> None:
    """``wheel`` and ``certify`` replace the template build and the validator in tests."""
    from tracer.db import session

    from tracer_registry.certify import intake, runs
    from tracer_registry.certify import review as service
    from tracer_registry.certify.cli import print_report
    from tracer_registry.certify.report import Report

    console.rule("[bold]Certification[/] — automated checks, review, signed attestation")
    if wheel is not None:
        review_id = _submit_given(settings, console, wheel, certify)
    else:
        with tempfile.TemporaryDirectory(prefix="tracer-template-") as tmp:
            published = publish_template(settings, console, Path(tmp))
        if published is None:
            return
        with console.status("the validator worker runs the queued checks (plugin code runs "
                            "only in a sandboxed child process)"):
            intake.run_pending(settings)
        with session(settings) as s:
            state = runs.state(s, *published)
            if state is None or state["status"] != "done":
                console.print(f"[red]the validator did not finish:[/] {state}")
                return
            review = service.get_review(s, state["review"])
            review_id = review.id
            print_report(console, Report.from_dict(service.report_of(s, review)))
    if review_id is not None:
        _review_and_show(settings, console, review_id)


def _submit_given(settings, console, path: Path, certify) -> str | None:
    """Tests: certify a given wheel (``certify`` may stand in for the validator)."""
    from tracer.db import session

    from tracer_registry.certify import review as service
    from tracer_registry.certify.cli import print_report
    from tracer_registry.certify.registry_link import published_version
    from tracer_registry.certify.validator import certify_wheel
    from tracer_registry.certify.wheel import Wheel

    opened = Wheel(path)
    with session(settings) as s:
        published = published_version(s, opened.name, opened.version)
        allowances = service.allowances_for(s, opened.name)
    report = certify(path) if certify else certify_wheel(path, published=published,
                                                         allowances=allowances)
    print_report(console, report)
    with session(settings) as s:
        return service.submit(s, settings, report, opened.data).id


def _review_and_show(settings, console, review_id: str) -> None:
    from tracer.db import session

    from tracer_registry import catalog
    from tracer_registry.certify import attestation as att
    from tracer_registry.certify import release_review
    from tracer_registry.certify import review as service
    from tracer_registry.certify.registry_link import load_wheel

    with session(settings) as s:
        review = service.get_review(s, review_id)
        plugin, version, status = review.plugin, review.version, review.status
        digest, notes = review.wheel_sha256, review.notes
    if status not in ("queued", "claimed", "approved"):
        console.print(f"[red]{plugin} {version} cannot be reviewed yet:[/] the automated "
                      f"checks failed (see the report); the publisher sees:\n{notes}")
        return
    if status != "approved":
        _approve(settings, console, review_id)
    with session(settings) as s:
        found = service.latest_attestation(s, plugin, version)
        assert found is not None  # the approval above wrote it
        envelope, trust = found.envelope, service.trust_policy(s, settings)
        status_view = service.status_of(s, plugin, version)
        try:
            listing_level = catalog.show(s, plugin)["certification"]["level"]
        except Exception:  # noqa: BLE001 -- a wheel certified outside the catalog
            listing_level = None
        # exactly what an install for a tenant requiring certified runs on these bytes
        verified = release_review.verify_for_install(s, settings, plugin, version,
                                              load_wheel(settings, digest))
    predicate = json.loads(att.payload_of(envelope))["predicate"]
    console.print(Panel(
        "\n".join([
            f"[bold]in-toto statement[/] subject sha256 {digest}",
            f"level [green]{predicate['level']}[/], plugin {predicate['plugin']['name']} "
            f"{predicate['plugin']['version']}, policy {predicate['policy_version']}",
            f"publisher {predicate['publisher'].get('identity') or '(not in the catalog)'}",
            f"checks {sum(c['status'] == 'passed' for c in predicate['checks'])}/"
            f"{len(predicate['checks'])} passed; reviewed {predicate['reviewed_at']}, "
            f"expires {predicate['expires_at']}",
            f"DSSE signatures: {len(envelope['signatures'])} (2 reviewers of "
            f"{len(trust.reviewer_keys)}, threshold {trust.threshold}, + the registry)",
            f"verified as a host would before installing: [green]{verified.level}[/] until "
            f"{att.iso(verified.expires_at)}, reviewers {', '.join(verified.reviewers)}",
            f"catalog level now: [bold]{listing_level or status_view['level']}[/]",
        ]), title="Certification attestation", expand=False))
    console.print_json(json.dumps({"payloadType": envelope["payloadType"],
                                   "signatures": envelope["signatures"]}))


def _approve(settings, console, review_id: str) -> None:
    from tracer.db import session

    from tracer_registry.certify import attestation as att
    from tracer_registry.certify import review as service

    keys = settings.home.resolve() / "keys"
    reviewers = {}
    for name in REVIEWERS:
        key_path = keys / f"demo-{name}.pem"
        if not key_path.exists():
            att.save_private(att.generate_key(), key_path)
        reviewers[name] = key_path
    with session(settings) as s:
        for name, key_path in reviewers.items():
            service.register_reviewer_key(s, name, att.public_pem(att.load_private(key_path)))
        service.claim(s, review_id, REVIEWERS[0])
        diff = service.diff_from_previous(s, settings, service.get_review(s, review_id))
    console.print(f"{REVIEWERS[0]} claimed review {review_id}; diff from the previous "
                  f"certified version: {diff.get('previous') or 'none (first certification)'}")
    for name, key_path in reviewers.items():
        with session(settings) as s:
            service.claim(s, review_id, name)  # only the claimer approves; one claim each
            service.approve_with_key(s, settings, review_id, name, key_path,
                                     notes="read the report and every file")
        console.print(f"{name} signed and approved")
