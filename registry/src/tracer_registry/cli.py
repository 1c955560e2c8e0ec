"""Registry commands for the ``tracer`` CLI (added through the ``tracer_cli`` hook)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from tracer.cli.context import console


def _session():
    from tracer.cli.context import migrated
    from tracer.db import session

    host = migrated()
    return host, session(host.settings)


def _print_json(data) -> None:
    from tracer.cli.context import console

    from tracer_registry.catalog import export_json

    console.print_json(export_json(data))


#: merged into ``tracer`` by the registry's ``tracer_cli`` hook: ``tracer publish``,
#: ``tracer install``, ``tracer yank|quarantine|revoke|lift`` and the ``catalog`` and
#: ``publisher`` groups
app = typer.Typer()


@app.command("publish")
def publish_command(
        wheel: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
        bundle: Annotated[Path, typer.Option("--bundle", exists=True,
                                             help="Sigstore bundle or PEP 740 attestation")],
        domain: Annotated[list[str] | None, typer.Option(
            "--domain", help="Domains the plugin provides.")] = None,
        certify: Annotated[bool, typer.Option(
            "--certify", help="Run the queued certification checks now instead of "
            "leaving them to `tracer review run-pending`.")] = False) -> None:
    """Verify a signed wheel and publish it to the catalog; certification is queued."""
    from tracer_registry.certify import intake, runs
    from tracer_registry.publishing import publish

    host, tx = _session()
    with tx as s:
        release = publish(s, host.settings, wheel.read_bytes(), wheel.name,
                          bundle.read_bytes(), domains=domain or None)
        runs.enqueue(s, release.listing_name, release.version)
        name, version = release.listing_name, release.version
        console.print(f"published [bold]{name} {version}[/] "
                      f"sha256 {release.wheel_sha256[:16]}… signed by {release.signer} "
                      f"({release.method}), level {release.certification_level}")
    if not certify:
        console.print("certification queued: `tracer review run-pending` runs the "
                      "automated checks, then reviewers see it in `tracer review queue`")
        return
    for outcome in intake.run_pending(host.settings):
        console.print(f"certification of {outcome['plugin']} {outcome['version']}: "
                      f"{outcome['status']} {outcome.get('review') or outcome.get('error')}")

catalog = typer.Typer(help="Search and show the plugin catalog.", no_args_is_help=True)
app.add_typer(catalog, name="catalog")

@catalog.command("search")
def search_command(text: str = typer.Argument(None), domain: str = typer.Option(None),
                   level: str = typer.Option(None, help="Minimum certification level."),
                   as_json: bool = typer.Option(False, "--json")) -> None:
    """Listings with an installable release."""
    from tracer_registry.catalog import search

    _, tx = _session()
    with tx as s:
        found = search(s, text, domain=domain, level=level)
    if as_json:
        _print_json(found)
        return
    table = Table(title=f"Catalog ({len(found)} listings)")
    for column in ("listing", "version", "domains", "level", "publisher", "price"):
        table.add_column(column)
    for row in found:
        table.add_row(row["name"], row["version"], ", ".join(row["domains"]),
                      row["certification_level"], row["publisher"], _price(row["price"]))
    console.print(table)

@catalog.command("show")
def show_command(name: str, as_json: bool = typer.Option(False, "--json")) -> None:
    """A listing: description, versions, publisher identity, certification, price."""
    from tracer_registry.catalog import show

    _, tx = _session()
    with tx as s:
        listing = show(s, name)
    if as_json:
        _print_json(listing)
        return
    ident = listing["publisher"]["identity"] or {}
    console.print(f"[bold]{listing['name']}[/] — {listing['summary']}")
    console.print(f"publisher {listing['publisher']['id']} · signed by {ident.get('signer')}"
                  f" ({ident.get('method')}) · level {listing['certification']['level']}"
                  f" · {_price(listing['price'])}")
    table = Table(title="Versions")
    for column in ("version", "status", "reason", "level", "sha256"):
        table.add_column(column)
    for v in listing["versions"]:
        table.add_row(v["version"], v["status"], v["reason"] or "",
                      v["certification_level"], v["sha256"][:16] + "…")
    console.print(table)

@catalog.command("export-root")
def export_root_command(path: Path) -> None:
    """Write the index's root metadata for hosts to pin (TRACER_REGISTRY__PINNED_ROOT)."""
    from tracer_registry.catalog import repository

    host, _ = _session()
    console.print(f"root metadata written to {repository(host.settings).export_root(path)};"
                  " ship it with the host configuration")

@catalog.command("refresh")
def refresh_command() -> None:
    """Verify the signed index from the pinned root and copy its signed kill list to
    this host's plugin dir — a host's timer job (installs do it too)."""
    from tracer.cli.context import host as platform_host

    from tracer_registry import kill_list

    console.print(str(kill_list.sync(platform_host().settings)))

@catalog.command("sign-index")
def sign_index_command() -> None:
    """Re-sign the catalog index (fresh expiry) — the registry operator's timer job."""
    from tracer_registry.catalog import sign_index

    host, tx = _session()
    with tx as s:
        console.print(f"index signed, targets version {sign_index(s, host.settings)}")

@app.command("install")
def install_command(spec: str = typer.Argument(..., help="NAME or NAME==VERSION"),
                    tenant: str = typer.Option(..., "--tenant")) -> None:
    """Verify and install a catalog release into this platform for a tenant."""
    from tracer.cli.context import reset

    from tracer_registry.install import install

    host, tx = _session()
    with tx as s:
        done = install(s, host.settings, tenant, spec)
    reset()  # the next command builds a host that sees the new plugin dir
    console.print(f"installed {done.listing} {done.version} (was {done.previous or '-'}); "
                  f"domains {', '.join(done.domains)} — enable them for {tenant}")


publisher = typer.Typer(help="Publisher accounts, trusted publishers, signing keys.",
                        no_args_is_help=True)
app.add_typer(publisher, name="publisher")

@publisher.command("create")
def create_command(publisher_id: str, name: str = typer.Option(...),
                   first_party: bool = typer.Option(False)) -> None:
    from tracer_registry.publishers import create_publisher

    _, tx = _session()
    with tx as s:
        create_publisher(s, publisher_id, name, first_party=first_party)
    console.print(f"publisher {publisher_id} created")

@publisher.command("trust")
def trust_command(publisher_id: str, namespace: str = typer.Option(...),
                  issuer: str = typer.Option(...), repository: str = typer.Option(...),
                  workflow: str = typer.Option(...),
                  environment: str = typer.Option(None)) -> None:
    """Add a trusted publisher (CI identity) for a namespace."""
    from tracer_registry.publishers import add_trusted_publisher

    _, tx = _session()
    with tx as s:
        add_trusted_publisher(s, publisher_id, namespace, issuer=issuer,
                              repository=repository, workflow=workflow,
                              environment=environment)
    console.print(f"{publisher_id} may publish {namespace} from {repository} {workflow}")

@publisher.command("add-key")
def add_key_command(publisher_id: str,
                    namespace: Annotated[str, typer.Option()],
                    key: Annotated[Path, typer.Option(exists=True,
                                                      help="EC public key PEM")]) -> None:
    """Register an EC public key for air-gapped publishing."""
    from tracer_registry.publishers import register_key

    _, tx = _session()
    with tx as s:
        record = register_key(s, publisher_id, namespace, key.read_text())
    console.print(f"key {record.key_id} registered for {namespace}")

@publisher.command("claim-domain")
def claim_domain_command(publisher_id: str,
                         prefix: Annotated[str, typer.Option(
                             help="Domain prefix, e.g. acme (owns acme/...)")]) -> None:
    """Claim a domain prefix: only this publisher's releases may declare its domains."""
    from tracer_registry.domains import claim_domain

    _, tx = _session()
    with tx as s:
        row = claim_domain(s, publisher_id, prefix)
    console.print(f"{publisher_id} owns domain prefix {row.prefix}/")

@publisher.command("keygen")
def keygen_command(path: Path) -> None:
    """Write a new EC P-256 private key (and PATH.pub)."""
    from tracer_registry.signing import generate_key

    Path(f"{path}.pub").write_text(generate_key(path))
    console.print(f"private key {path} (0600), public key {path}.pub")

@publisher.command("sign")
def sign_command(wheel: Annotated[Path, typer.Argument(exists=True)],
                 key: Annotated[Path, typer.Option(exists=True)]) -> None:
    """Sign a wheel with a local key: writes WHEEL.sigstore.json (air-gapped)."""
    from tracer_registry.signing import load_private_key, sign_with_key

    out = Path(f"{wheel}.sigstore.json")
    out.write_bytes(sign_with_key(wheel.read_bytes(), wheel.name, load_private_key(key)))
    console.print(f"wrote {out}")


def _status_command(app: typer.Typer, action: str, helptext: str) -> None:
    from tracer.cli.context import console

    def command(spec: str = typer.Argument(..., help="NAME==VERSION"),
                reason: str = typer.Option(..., "--reason")) -> None:
        from tracer_registry.install import parse_spec
        from tracer_registry.revocation import change_status

        name, version = parse_spec(spec)
        if version is None:
            raise typer.BadParameter("give the exact release: NAME==VERSION")
        host, tx = _session()
        with tx as s:
            release = change_status(s, host.settings, name, version, action, reason)
        console.print(f"{release.listing_name} {release.version} is now {release.status}: "
                      f"{release.status_reason}")

    command.__doc__ = helptext
    app.command(action)(command)


for action, helptext in (("yank", "Hide a release from new installs (pins keep it)."),
                         ("quarantine", "Stop installs and execution (reversible)."),
                         ("revoke", "Kill a release everywhere (hosts unload it)."),
                         ("lift", "Lift a quarantine or a yank.")):
    _status_command(app, action, helptext)


def _price(price: dict) -> str:
    parts = []
    if price["monthly_fee_minor"]:
        parts.append(f"{price['monthly_fee_minor'] / 100:.2f} {price['currency']}/month")
    if price["per_prediction_micros"]:
        parts.append(f"{price['per_prediction_micros'] / 1_000_000:.6f} "
                     f"{price['currency']}/prediction")
    return " + ".join(parts) or "free"


