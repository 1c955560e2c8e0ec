"""Installing a release into this platform's plugin directory, for a tenant.

Order: signed index (TUF from the pinned root; a stale index stops installs) and its signed
kill list copied to this host (``kill_list``) → the entry,
by name, or by domain only through the listing of the domain's owner → its status → the
tenant's certification policy → download (length and sha256 as signed) → the downloaded
bytes against the catalog's record and the digest the publisher's bundle signs → the
bundle, re-verified against the identity the index records → for tenants requiring
``certified``, the signed attestation of these exact bytes → the wheel's members, RECORD
and contents (no ``.pth``, bytecode or unreadable source) → the files swapped into the
plugin dir under the installing transaction (``plugin_dir``) → the load check → the
registered domains must be the declared ones → the installation recorded → commit.
Nothing from the wheel runs before the checks on signed data and bytes passed, and a
failure at any later step, or a rollback, leaves the previous version (or nothing)
installed and importable.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version
from sqlalchemy import select
from tracer import __version__ as TRACER_VERSION
from tracer.errors import ValidationError

from tracer_registry import kill_list
from tracer_registry.catalog import client, level_rank
from tracer_registry.errors import RegistryError
from tracer_registry.models import Installation, TenantPolicy
from tracer_registry.plugin_dir import PluginDirSwap
from tracer_registry.subject import check_bytes
from tracer_registry.verify import Refusal, TrustedPublisherRule, verify_release
from tracer_registry.wheels import inspect_wheel

if TYPE_CHECKING:
    from sqlalchemy.orm import Session
    from tracer.settings import Settings


@dataclass
class Installed:
    listing: str
    version: str
    sha256: str
    previous: str | None
    domains: list[str]
    plugins: list[str]

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def parse_spec(spec: str) -> tuple[str, str | None]:
    name, _, version = spec.partition("==")
    shown = spec if len(spec) <= 80 else f"{spec[:80]}…"
    if not name.strip() or "=" in version:
        raise ValidationError(f"install spec {shown!r}: use NAME or NAME==VERSION",
                              field="spec")
    version = version.strip()
    if version:
        try:
            Version(version)
        except InvalidVersion:
            raise ValidationError(f"install spec {shown!r}: {version[:40]!r} is not a "
                                  "version (PEP 440, e.g. 1.2.0)", field="spec") from None
    return name.strip(), (version or None)


def set_policy(s: Session, tenant_id: str, min_level: str) -> TenantPolicy:
    level_rank(min_level)
    policy = s.get(TenantPolicy, tenant_id) or TenantPolicy(tenant_id=tenant_id)
    policy.min_level = min_level
    s.add(policy)
    s.flush()
    return policy


def _effective_level(entry: dict[str, Any]) -> str:
    level = entry.get("certification_level") or "community"
    expires = entry.get("certification_expires_at")
    if level == "certified" and expires and datetime.fromisoformat(expires).replace(
            tzinfo=datetime.fromisoformat(expires).tzinfo or UTC) < datetime.now(UTC):
        return "verified-publisher" if entry.get("method") != "key" else "community"
    return level


def choose(entries: list[dict[str, Any]], name: str, version: str | None) -> dict[str, Any]:
    """The entry to install: the exact pin (a yanked pin is allowed), else the newest active."""
    wanted = canonicalize_name(name)
    # a listing by its name; a domain only through the listing of the domain's owner
    mine = [e for e in entries if e["listing"] == wanted] or [
        e for e in entries if name in (e.get("domains") or [])
        and e.get("publisher") and (e.get("domain_owners") or {}).get(name) == e["publisher"]]
    if not mine:
        raise Refusal("index", f"{name!r} is not in the signed catalog index")
    if version is not None:
        entry = next((e for e in mine if Version(e["version"]) == Version(version)), None)
        if entry is None:
            raise Refusal("index", f"{name} {version} is not in the signed catalog index")
        if entry["status"] in ("quarantined", "revoked"):
            raise Refusal("status", f"{entry['listing']} {version} is {entry['status']}: "
                                    f"{entry.get('status_reason') or 'no reason given'}")
        return entry
    active = [e for e in mine if e["status"] == "active"]
    if not active:
        reasons = "; ".join(f"{e['version']} {e['status']}: {e.get('status_reason')}"
                            for e in mine)
        raise Refusal("status", f"{name} has no installable release ({reasons})")
    return max(active, key=lambda e: Version(e["version"]))


# -- the plugin directory (files: ``plugin_dir``) -------------------------------------

def _load_check(settings: Settings, listing: str) -> list[dict[str, Any]]:
    """Load the plugin dir as a fresh host would; records of ``listing``.

    A host never imports a plugin-dir distribution: it asks a confined runner to (see
    ``tracer.runner``), so the check runs the plugin's import inside the same box serving
    will, and nothing of the wheel executes in this process.
    """
    from tracer.host import PluginHost

    host = PluginHost(settings)
    try:
        records = [r.as_dict() for r in host.records.values()]
    finally:
        host.close()
    return [r for r in records if r.get("distribution")
            and canonicalize_name(r["distribution"]) == listing]


def fetch_verified(s: Session, settings: Settings, tenant_id: str | None,
                   spec: str) -> tuple[dict[str, Any], bytes, Any]:
    """Everything before unpacking: index, status, policy, download, bundle, wheel checks."""
    name, version = parse_spec(spec)
    index = client(settings)
    updater = index.refresh()
    kill_list.sync(settings, index, updater)  # this host learns revocations signed
    entry = choose(index.catalog(updater), name, version)
    listing = entry["listing"]
    policy = s.get(TenantPolicy, tenant_id) if tenant_id else None
    minimum = policy.min_level if policy else "community"
    level = _effective_level(entry)
    if level_rank(level) < level_rank(minimum):
        raise Refusal("policy", f"{listing} {entry['version']} is {level}; tenant {tenant_id} "
                                f"accepts {minimum} or higher")
    try:
        if entry.get("requires_tracer") and not SpecifierSet(entry["requires_tracer"]).contains(
                Version(TRACER_VERSION), prereleases=True):
            raise Refusal("metadata", f"{listing} {entry['version']} requires tracer"
                                      f"{entry['requires_tracer']}; this is {TRACER_VERSION}")
    except InvalidSpecifier:
        raise Refusal("metadata", f"bad tracer range {entry['requires_tracer']!r}") from None
    wheel, wheel_custom = index.download(updater, entry["wheel_target"])
    bundle, _ = index.download(updater, entry["bundle_target"])
    if wheel_custom.get("sha256") != entry["sha256"]:
        raise Refusal("index", "the catalog and the target metadata disagree (mix-and-match)")
    # the downloaded bytes themselves: the catalog's record and the publisher's signed digest
    check_bytes(f"{listing} {entry['version']} wheel", wheel, recorded=entry["sha256"],
                bundle_raw=bundle)
    if entry.get("bundle_sha256"):
        check_bytes(f"{listing} {entry['version']} bundle", bundle,
                    recorded=entry["bundle_sha256"], bundle_raw=None)
    rules = [TrustedPublisherRule(**r) for r in entry.get("trusted_publishers") or []]
    identity = verify_release(wheel, entry["filename"], bundle, rules=rules,
                              keys=entry.get("keys") or {})
    if identity.signer != entry["signer"]:
        raise Refusal("identity", f"signed by {identity.signer}, the index records "
                                  f"{entry['signer']}")
    if minimum == "certified":
        _verify_certified(s, settings, entry, wheel)
    return entry, wheel, inspect_wheel(wheel, entry["filename"])


def _verify_certified(s: Session, settings: Settings, entry: dict[str, Any],
                      wheel: bytes) -> None:
    """The tenant requires certified plugins: the index's level is not enough, the signed
    attestation over exactly these bytes must verify (reviewers M of N, registry key,
    subject digest, name, version, expiry) before anything of the wheel is imported."""
    from sqlalchemy.exc import OperationalError, ProgrammingError

    from tracer_registry.certify.release_review import verify_for_install
    from tracer_registry.errors import CertificationError

    try:
        verify_for_install(s, settings, entry["listing"], entry["version"], wheel)
    except CertificationError as exc:
        raise Refusal("certification", f"{entry['listing']} {entry['version']}: {exc}") \
            from None
    except (OperationalError, ProgrammingError):
        # no certification tables: nothing can prove the level, so fail closed
        raise Refusal("certification", f"{entry['listing']} {entry['version']}: this "
                      "platform keeps no certification attestations (the certification "
                      "plugin's tables are missing), so certified cannot be verified") \
            from None


def install(s: Session, settings: Settings, tenant_id: str, spec: str) -> Installed:
    """Verify and install ``spec`` (``NAME`` or ``NAME==VERSION``) for ``tenant_id``.

    Every check that reads only signed data and the wheel's bytes runs before anything is
    unpacked; after that the files are swapped in and ``s`` owns them: a failure here, in
    the caller or at commit puts the plugin dir back as it was (``PluginDirSwap``).
    """
    _, version = parse_spec(spec)
    entry, wheel, info = fetch_verified(s, settings, tenant_id, spec)
    listing = entry["listing"]
    swap = PluginDirSwap(settings.plugins_path, listing)
    swap.place(wheel)
    try:
        records = _load_check(settings, listing)
        failed = [r for r in records if r["status"] != "loaded"]
        if not records or failed:
            why = "; ".join(f"{r['name']}: {r['error']}" for r in failed) or "no entry points"
            raise RegistryError(f"{listing} {info.version} does not load ({why}); "
                                f"{swap.previous or 'nothing'} stays installed")
        domains = sorted({d for r in records for d in r.get("domains", [])})
        undeclared = sorted(set(domains) - set(entry.get("domains") or []))
        if undeclared:
            raise Refusal("domain", f"{listing} {info.version} registered domain(s) "
                                    f"{', '.join(undeclared)} its signed index entry does "
                                    "not declare; nothing stays installed")
        _record(s, tenant_id, listing, info.version, pinned=version is not None,
                domains=domains)
        swap.bind(s)
    except BaseException:
        swap.undo()
        raise
    return Installed(listing=listing, version=info.version, sha256=entry["sha256"],
                     previous=swap.previous, domains=domains,
                     plugins=[r["name"] for r in records])


def _record(s: Session, tenant_id: str, listing: str, version: str, *, pinned: bool,
            domains: list[str]) -> None:
    row = s.scalars(select(Installation).where(Installation.tenant_id == tenant_id,
                                               Installation.listing_name == listing)).first()
    if row is None:
        row = Installation(tenant_id=tenant_id, listing_name=listing, version=version,
                           pinned=pinned, enabled=False)
        s.add(row)
    row.version, row.pinned = version, pinned
    s.flush()
    from tracer import installs  # the tenant's domain installs (and their metering)

    for domain in domains:
        if installs.find_install(s, tenant_id, domain) is None:
            installs.install(s, tenant_id, domain, version)


def reload_host(host: Any, listing: str | None = None) -> None:
    """Make a running host see the plugin dir as it is now (new versions, kill list).

    Third-party plugins live in runners: unregistering one stops its runners, and loading
    again starts fresh ones on the new files. Nothing was imported here to forget.
    """
    for record in list(host.records.values()):
        if not record.builtin:
            host.unregister(record.name)
    host.load_entrypoints()
