"""The certification part of ``tracer demo``: certify a first-party release end to end.

publish (the registry's demo step, when it ran) → automated report → claim → two reviewer
approvals (M = 2) → registry signature → attestation verified as a host would before
installing → the level the catalog shows.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

from packaging.utils import canonicalize_name
from rich.panel import Panel

PLUGIN = "tracer-esports"
WORKSPACE = Path(__file__).resolve().parents[4]


def _wheel(settings, console, out: Path) -> tuple[Path, dict | None]:
    """The catalog's wheel of the plugin if the registry published it, else a fresh build."""
    from tracer.db import session

    from tracer_registry import catalog
    from tracer_registry.certify import registry_link

    with session(settings) as s:
        try:
            release = catalog.latest(s, PLUGIN)
        except Exception:  # noqa: BLE001 -- no catalog tables: the registry is not set up
            release = None
        if release is not None:
            path = out / release.filename
            path.write_bytes(registry_link.load_wheel(settings, release.wheel_sha256))
            return path, registry_link.publisher_of(s, PLUGIN, release.version)
    uv = shutil.which("uv")
    if uv is None or not (WORKSPACE / "plugins").is_dir():
        return Path(), None
    console.print(f"[dim]{PLUGIN} is not in the catalog; building its wheel with uv[/]")
    subprocess.run([uv, "build", "--package", PLUGIN, "--wheel", "--offline", "--out-dir",
                    str(out)], cwd=WORKSPACE, check=True, capture_output=True)
    return next(out.glob("*.whl")), None


def run_demo(settings, console, wheel: Path | None = None, certify=None) -> None:
    """``wheel`` and ``certify`` replace the first-party build and the validator in tests."""
    from tracer.db import session

    from tracer_registry.certify import attestation as att
    from tracer_registry.certify import review as service
    from tracer_registry.certify.cli import print_report
    from tracer_registry.certify.registry_link import published_version
    from tracer_registry.certify.validator import certify_wheel
    from tracer_registry.certify.wheel import Wheel

    console.rule("[bold]Certification[/] — automated checks, review, signed attestation")
    with tempfile.TemporaryDirectory() as tmp:
        path, publisher = (wheel, None) if wheel else _wheel(settings, console, Path(tmp))
        if not path.name:
            console.print(f"skipped: no wheel of {PLUGIN} (no catalog release, no uv)")
            return
        wheel = Wheel(path)
        with session(settings) as s:
            published = published_version(s, wheel.name, wheel.version)
            allowances = service.allowances_for(s, wheel.name)
        with console.status(f"certifying {path.name} (plugin code runs in a sandbox)") as st:
            report = certify(path) if certify else certify_wheel(
                path, published=published, allowances=allowances,
                progress=lambda stage: st.update(f"certifying: {stage}"))
        print_report(console, report)
        with session(settings) as s:
            review = service.submit(s, settings, report, wheel.data, publisher)
            review_id, status = review.id, review.status
    if status != "queued":
        console.print(f"[red]{report.plugin} {report.version} cannot be reviewed yet:[/] the "
                      "automated checks failed (see the report); the publisher sees:\n"
                      f"{review.notes}")
        return
    keys = settings.home.resolve() / "keys"
    reviewers = {}
    for name in ("reviewer-ada", "reviewer-grace"):
        key_path = keys / f"demo-{name}.pem"
        if not key_path.exists():
            att.save_private(att.generate_key(), key_path)
        reviewers[name] = key_path
    with session(settings) as s:
        for name, key_path in reviewers.items():
            service.register_reviewer_key(s, name, att.public_pem(att.load_private(key_path)))
        service.claim(s, review_id, "reviewer-ada")
        diff = service.diff_from_previous(s, settings, service.get_review(s, review_id))
    console.print(f"reviewer-ada claimed review {review_id}; diff from the previous "
                  f"certified version: {diff.get('previous') or 'none (first certification)'}")
    for name, key_path in reviewers.items():
        with session(settings) as s:
            service.approve_with_key(s, settings, review_id, name, key_path,
                                     notes="read the report and every file")
        console.print(f"{name} signed and approved")
    with session(settings) as s:
        found = service.latest_attestation(s, report.plugin, report.version)
        envelope = found.envelope
        trust = service.trust_policy(s, settings)
        status_view = service.status_of(s, report.plugin, report.version)
    verified = att.verify_attestation(envelope, wheel_sha256=report.wheel_sha256, trust=trust,
                                      name=canonicalize_name(report.plugin), version=report.version)
    predicate = json.loads(att.payload_of(envelope))["predicate"]
    console.print(Panel(
        "\n".join([
            f"[bold]in-toto statement[/] subject sha256 {report.wheel_sha256}",
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
            f"catalog level now: [bold]{status_view['level']}[/]",
        ]), title="Certification attestation", expand=False))
