"""``tracer certify`` (authors and the registry, same checks) and ``tracer review`` (reviewers).

The embedded deployment runs the reviewer commands against the local platform database;
the API (``api.py``) offers the same operations over HTTP with the reviewer role.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

STATUS_STYLE = {"passed": "[green]passed[/]", "failed": "[red]failed[/]",
                "skipped": "[yellow]skipped[/]"}


def print_report(console, report) -> None:
    table = Table(title=f"Certification report: {report.plugin} {report.version} "
                        f"(policy {report.policy_version})")
    for column in ("check", "severity", "status", "message"):
        table.add_column(column, overflow="fold")
    for c in report.checks:
        table.add_row(c.id, c.severity, STATUS_STYLE[c.status], c.message)
    console.print(table)
    counts = report.counts()
    verdict = "[green]PASSED[/]" if report.passed else "[red]FAILED[/]"
    console.print(f"{verdict}: {counts['passed']} passed, {counts['errors']} errors, "
                  f"{counts['warnings']} warnings, {counts['skipped']} skipped "
                  f"(wheel sha256 {report.wheel_sha256[:16]}…)")


#: merged into ``tracer`` by certification's ``tracer_cli`` hook: ``tracer certify`` and
#: the ``review`` group
app = typer.Typer()


@app.command("certify")
def certify(wheel: Annotated[Path, typer.Argument(help="The wheel to check (dist/X.whl).")],
            as_json: bool = typer.Option(False, "--json", help="Print the JSON report."),
            ) -> None:
    """Run the registry's certification checks on a wheel (plugin code runs only in a
    sandboxed child process). Exit status 1 when a blocking check fails."""
    from tracer.cli.context import console

    from tracer_registry.certify.validator import certify_wheel

    if as_json:
        report = certify_wheel(wheel)
        typer.echo(report.to_json())
    else:
        with console.status("certifying") as status:
            report = certify_wheel(wheel, progress=lambda s: status.update(s))
        print_report(console, report)
    raise typer.Exit(0 if report.passed else 1)

review = typer.Typer(help="Human review of certification: queue, claim, approve, reject.",
                     no_args_is_help=True)
app.add_typer(review, name="review")

@review.command("submit")
def submit(wheel: Path, as_json: bool = typer.Option(False, "--json")) -> None:
    """Certify a wheel with the registry's policy and store the report (queued if it
    passed)."""
    from tracer.cli.context import console, migrated
    from tracer.db import session

    from tracer_registry.certify import review as service
    from tracer_registry.certify.registry_link import owned_domain_prefixes, published_version
    from tracer_registry.certify.validator import certify_wheel
    from tracer_registry.certify.wheel import Wheel

    h = migrated()
    opened = Wheel(wheel)
    with session(h.settings) as s:
        published = published_version(s, opened.name, opened.version)
        allowances = service.allowances_for(s, opened.name)
        owned = owned_domain_prefixes(s, opened.name)
    report = certify_wheel(wheel, published=published, allowances=allowances,
                           owned_domains=owned)
    with session(h.settings) as s:
        row = service.submit(s, h.settings, report, opened.data)
        review_id, status = row.id, row.status
    if as_json:
        typer.echo(json.dumps({"review": review_id, "status": status,
                               "report": report.as_dict()}, default=str))
    else:
        print_report(console, report)
        console.print(f"review {review_id}: {status}")

@review.command("run-pending")
def run_pending(as_json: bool = typer.Option(False, "--json")) -> None:
    """Run the automated checks on every release queued at publish (the validator
    worker; reports then wait in `tracer review queue`)."""
    from tracer.cli.context import console, migrated

    from tracer_registry.certify import review as service
    from tracer_registry.certify.intake import run_pending as drain
    from tracer_registry.certify.report import Report

    h = migrated()
    outcomes = drain(h.settings)
    if as_json:
        typer.echo(json.dumps(outcomes))
        return
    from tracer.db import session

    for outcome in outcomes:
        if outcome["status"] != "done":
            console.print(f"[red]{outcome['plugin']} {outcome['version']}: the "
                          f"validator could not run:[/] {outcome['error']}")
            continue
        with session(h.settings) as s:
            row = service.get_review(s, outcome["review"])
            report, status = Report.from_dict(service.report_of(s, row)), row.status
        print_report(console, report)
        console.print(f"review {outcome['review']}: {status}")
    if not outcomes:
        console.print("no release is waiting for the automated checks")

@review.command("queue")
def show_queue() -> None:
    """Releases waiting for a reviewer."""
    from tracer.cli.context import console, migrated
    from tracer.db import session

    from tracer_registry.certify import review as service

    h = migrated()
    table = Table(title="Certification queue")
    for column in ("review", "plugin", "version", "status", "claimed by", "since"):
        table.add_column(column)
    with session(h.settings) as s:
        for r in service.queue(s):
            table.add_row(r.id, r.plugin, r.version, r.status, r.claimed_by or "",
                          r.created_at.isoformat(timespec="seconds"))
    console.print(table)

@review.command("claim")
def claim(review_id: str, reviewer: str = typer.Option(..., "--as")) -> None:
    """Claim a queued release; prints its report and the diff from the last certified
    version."""
    from tracer.cli.context import console, migrated
    from tracer.db import session

    from tracer_registry.certify import review as service
    from tracer_registry.certify.report import Report

    h = migrated()
    with session(h.settings) as s:
        row = service.claim(s, review_id, reviewer)
        report = Report.from_dict(service.report_of(s, row))
        diff = service.diff_from_previous(s, h.settings, row)
    print_report(console, report)
    console.print(f"diff from the previous certified version: {diff.get('previous')}")
    console.print(diff.get("diff") or diff.get("note", ""))

@review.command("approve")
def approve(review_id: str,
            key: Annotated[Path, typer.Option("--key",
                                              help="Your EC P-256 private key.")],
            reviewer: str = typer.Option(..., "--as"),
            notes: str = typer.Option("", "--notes")) -> None:
    """Sign the review's statement with your key and approve."""
    from tracer.cli.context import console, migrated
    from tracer.db import session

    from tracer_registry.certify import review as service

    h = migrated()
    with session(h.settings) as s:
        row = service.approve_with_key(s, h.settings, review_id, reviewer, key, notes)
        status = row.status
    console.print(f"review {review_id}: {status}")

@review.command("reject")
def reject(review_id: str, reviewer: str = typer.Option(..., "--as"),
           notes: str = typer.Option(..., "--notes")) -> None:
    """Reject with notes the publisher sees."""
    from tracer.cli.context import console, migrated
    from tracer.db import session

    from tracer_registry.certify import review as service

    h = migrated()
    with session(h.settings) as s:
        service.reject(s, review_id, reviewer, notes)
    console.print(f"review {review_id}: rejected")

@review.command("sign")
def sign(statement_file: Annotated[Path, typer.Argument(
             help="The statement to sign: the console's statement.json, or the JSON of "
                  "GET /v1/certification/reviews/{id}/statement.")],
         key: Annotated[Path, typer.Option("--key", help="Your EC P-256 private key.")],
         as_json: bool = typer.Option(False, "--json")) -> None:
    """Sign a review's statement offline; paste the keyid and sig into the console.

    Reads no database and sends nothing: the private key stays on this machine."""
    import json

    from tracer.cli.context import console
    from tracer.errors import ValidationError

    from tracer_registry.certify import review as service

    try:
        data = json.loads(statement_file.read_text())
    except (OSError, ValueError) as error:
        raise ValidationError(f"{statement_file}: not a readable JSON statement "
                              f"({error})") from None
    stmt = data.get("statement", data) if isinstance(data, dict) else data
    keyid, sig = service.sign_statement(stmt, key)
    if as_json:
        print(json.dumps({"keyid": keyid, "sig": sig}))
    else:
        console.print(f"keyid {keyid}", soft_wrap=True, markup=False)
        console.print(f"sig   {sig}", soft_wrap=True, markup=False)

@review.command("keygen")
def keygen(out: Annotated[Path, typer.Option("--out",
                                             help="Where to write the private key.")],
           reviewer: str = typer.Option(..., "--as")) -> None:
    """Make a reviewer key pair and register its public half."""
    from tracer.cli.context import console, migrated
    from tracer.db import session

    from tracer_registry.certify import attestation as att
    from tracer_registry.certify import review as service

    h = migrated()
    key = att.generate_key()
    att.save_private(key, out)
    with session(h.settings) as s:
        service.register_reviewer_key(s, reviewer, att.public_pem(key))
    console.print(f"key {att.keyid(key)[:16]}… registered for {reviewer}; private key "
                  f"in {out}")

@review.command("allow")
def allow(plugin: str, rule: str, file: str, symbol: str,
          reason: str = typer.Option(..., "--reason"),
          reviewer: str = typer.Option(..., "--as")) -> None:
    """Allow one static finding of one plugin, visibly, with a reason."""
    from tracer.cli.context import console, migrated
    from tracer.db import session

    from tracer_registry.certify import review as service

    h = migrated()
    with session(h.settings) as s:
        service.allow(s, plugin=plugin, rule=rule, file=file, symbol=symbol,
                      reason=reason, reviewer=reviewer)
    console.print(f"allowed {rule} {file} {symbol} for {plugin}")

@review.command("status")
def status(plugin: str, version: str) -> None:
    """What the publisher sees: state, notes, level, expiry."""
    from tracer.cli.context import console, migrated
    from tracer.db import session

    from tracer_registry.certify import review as service

    h = migrated()
    with session(h.settings) as s:
        console.print_json(json.dumps(service.status_of(s, plugin, version)))
