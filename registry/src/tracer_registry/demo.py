"""The registry's part of ``tracer demo``: publish the first-party plugins, air-gapped.

Exactly the air-gapped path a deployment without Fulcio/Rekor uses: build the wheels
offline, sign them with a local EC P-256 key the publisher registered, publish (the
registry verifies the bundle), then verify each release the way a host does before an
install (signed index, download, bundle), and show the catalog.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from rich.table import Table

from tracer_registry.names import FIRST_PARTY_NAMES as FIRST_PARTY  # protected, published here

PUBLISHER = "tracer"
# first party claims its own names, not all of tracer-*: plugins rendered from template/
# are named tracer-<namespace>-<name> and belong to their third-party publishers (look-alike
# names are still refused at publish by the near-miss check)
#: a demo price: free install, a tenth of a cent per prediction (first party keeps 100 %)
DEMO_PER_PREDICTION_MICROS = 1_000


def _workspace() -> Path | None:
    for parent in Path(__file__).resolve().parents:
        if (parent / "pyproject.toml").exists() and (parent / "plugins").is_dir():
            return parent
    return None


def build_wheel(workspace: Path, package: str, out: Path) -> Path:
    """Build a wheel offline: ``uv build`` if present, else ``python -m build``."""
    if shutil.which("uv"):
        command = ["uv", "build", "--package", package, "--wheel", "--offline", "-o", str(out)]
    else:
        source = workspace / "plugins" / package.removeprefix("tracer-")
        command = [sys.executable, "-m", "build", "--wheel", "--no-isolation", "-o", str(out),
                   str(source)]
    done = subprocess.run(command, cwd=workspace, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"building {package} failed: {done.stderr.strip()[-300:]}")
    return next(out.glob(f"{package.replace('-', '_')}-*.whl"))


def _domains_of(distribution: str) -> list[str]:
    from tracer.cli.context import host

    return sorted(d for r in host().records.values() if r.distribution == distribution
                  for d in r.domains)


def run(settings: Any, console: Any) -> None:
    from tracer.db import session

    from tracer_registry.catalog import describe_listing, releases, search, set_price_plan
    from tracer_registry.install import fetch_verified
    from tracer_registry.models import Publisher
    from tracer_registry.publishers import create_publisher, register_key
    from tracer_registry.publishing import publish
    from tracer_registry.signing import generate_key, load_private_key, sign_with_key

    console.rule("[bold]Registry[/] — publish the first-party plugins (air-gapped, key-signed)")
    workspace = _workspace()
    if workspace is None:
        console.print("[yellow]not running from the workspace: no plugin sources to build[/]")
        return
    keys = {}
    with session(settings) as s:
        if s.get(Publisher, PUBLISHER) is None:
            create_publisher(s, PUBLISHER, "Tracer first-party plugins", first_party=True)
        from tracer_registry.domains import claim_domain
        from tracer_registry.names import FIRST_PARTY_DOMAINS

        for prefix in FIRST_PARTY_DOMAINS:
            claim_domain(s, PUBLISHER, prefix)
        for package in FIRST_PARTY:  # a key per namespace (a registered key has one)
            keys[package] = settings.home.resolve() / "registry" / f"demo-{package}.pem"
            if not keys[package].exists():
                record = register_key(s, PUBLISHER, package, generate_key(keys[package]))
                console.print(f"generated EC P-256 key {keys[package].name}, registered for "
                              f"{package} as {record.key_id[:16]}…")
    with tempfile.TemporaryDirectory(prefix="tracer-dist-") as tmp:
        for package in FIRST_PARTY:
            wheel = build_wheel(workspace, package, Path(tmp))
            bundle = sign_with_key(wheel.read_bytes(), wheel.name,
                                   load_private_key(keys[package]))
            with session(settings) as s:
                published = {r.version for r in releases(s, package)}
                version = wheel.name.split("-")[1]
                if version in published:
                    console.print(f"{package} {version}: already published")
                else:
                    release = publish(s, settings, wheel.read_bytes(), wheel.name, bundle,
                                      publisher_id=PUBLISHER, domains=_domains_of(package))
                    console.print(f"published [bold]{package} {release.version}[/] "
                                  f"sha256 {release.wheel_sha256[:12]}… "
                                  f"{release.signer[:20]}… ({release.method})")
                describe_listing(s, package, domains=_domains_of(package) or None)
                set_price_plan(s, package, currency="USD",
                               per_prediction_micros=DEMO_PER_PREDICTION_MICROS)
    with session(settings) as s:
        from tracer_registry.catalog import sign_index

        sign_index(s, settings)
        for package in FIRST_PARTY:
            entry, _, info = fetch_verified(s, settings, None, package)
            console.print(f"[green]verified[/] {package} {entry['version']}: signed index, "
                          f"sha256 {entry['sha256'][:12]}…, bundle by {entry['signer'][:20]}…, "
                          f"{info.files} files match RECORD")
        table = Table(title="Catalog")
        for column in ("listing", "version", "domains", "level", "price"):
            table.add_column(column)
        for row in search(s):
            price = row["price"]
            table.add_row(row["name"], row["version"], ", ".join(row["domains"]),
                          row["certification_level"],
                          f"{price['per_prediction_micros'] / 1e6:.4f} {price['currency']}"
                          "/prediction")
        console.print(table)
