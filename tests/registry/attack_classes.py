"""The attack classes of issue 12, each against the real publish, re-sign or install path.

Each function takes a fresh registry (``acme`` owns ``acme-*`` and the domain prefix
``acme``, tenant ``t1``) and returns ``{attempt: outcome}``, the outcome being the name of
the check that refused it or ``"accepted"``. ``test_attacks_closed`` runs them one by
one and prints the table of tried / refused per class.
"""

from __future__ import annotations

import hashlib
import shutil

from tracer.db import session
from tracer_registry.blobs import BlobStore
from tracer_registry.catalog import index_entry, repository, sign_index
from tracer_registry.install import install
from tracer_registry.models import Listing, Release
from tracer_registry.publishing import publish
from tracer_registry.verify import Refusal

from tests.registry.artifacts import make_wheel, signed


def outcome(action) -> str:
    try:
        action()
    except Refusal as refused:
        return refused.check
    return "accepted"


def publish_signed(settings, key, filename, wheel, **options):
    with session(settings) as s:
        return publish(s, settings, wheel, filename, signed(key, filename, wheel), **options)


def install_for(settings, spec="acme-signal", tenant="t1"):
    with session(settings) as s:
        return install(s, settings, tenant, spec)


def legacy_release(settings, key, filename, wheel, *, domains=("acme/signal",)):
    """A release stored the way a registry without today's publish checks stored it:
    really signed, in the blob store, in the signed index. Install must still refuse it."""
    from tracer_registry.verify import key_id
    from tracer_registry.wheels import parse_filename

    name, version = parse_filename(filename)
    bundle = signed(key, filename, wheel)
    store = BlobStore(settings.blobs)
    with session(settings) as s:
        if s.get(Listing, name) is None:
            s.add(Listing(name=name, publisher_id="acme", domains=list(domains), tags=[],
                          metrics={}))
        s.add(Release(listing_name=name, version=version, filename=filename, size=len(wheel),
                      wheel_sha256=store.put(wheel), bundle_sha256=store.put(bundle),
                      identity_sha256=store.put(b"{}"), method="key",
                      signer=f"key:{key_id(key.public_key())}",
                      key_id=key_id(key.public_key()), entry_points={}, status="active",
                      certification_level="community"))
        s.flush()
        sign_index(s, settings)


def sign_raw(index, entries, files):
    """Sign an index the way a registry without the byte checks did (a compromised or
    old re-sign): over whatever file is named, with a lifetime hosts accept."""
    from datetime import timedelta

    return index.publish(entries, files, lifetime={"timestamp": timedelta(hours=1)})


def plugin_importable(settings, module="acme_signal") -> bool:
    return (settings.plugins_path / module).exists()


# -- storage swap laundered by the routine re-sign -----------------------------------------

def storage_swap(settings, key) -> dict[str, str]:
    filename, wheel = make_wheel()
    publish_signed(settings, key, filename, wheel, domains=["acme/signal"])
    _, other = make_wheel(body="open('/tmp/pwned', 'w')")  # same name and version
    other_bundle = signed(key, filename, other)
    index = repository(settings)
    target = index.targets / "acme-signal" / filename
    original, original_bundle = target.read_bytes(), (target.parent
                                                      / f"{filename}.sigstore.json").read_bytes()
    results = {}

    def resign():
        with session(settings) as s:
            sign_index(s, settings)

    # 1. the targets folder holds the other wheel (and its valid bundle): re-sign refuses
    target.write_bytes(other)
    (target.parent / f"{filename}.sigstore.json").write_bytes(other_bundle)
    results["re-sign over a swapped target (same key)"] = outcome(resign)
    target.write_bytes(original)
    (target.parent / f"{filename}.sigstore.json").write_bytes(original_bundle)
    # 2. the blob store holds the other wheel under the released digest
    blob = BlobStore(settings.blobs).path(hashlib.sha256(wheel).hexdigest())
    blob.chmod(0o644)
    blob.write_bytes(other)
    results["re-sign over a swapped blob"] = outcome(resign)
    blob.write_bytes(wheel)
    # 3. an index signed over the swapped file anyway (the old re-sign): install refuses
    with session(settings) as s:
        entries = [index_entry(s, r) for r in s.query(Release)]
    target.write_bytes(other)
    bundle_target = target.parent / f"{filename}.sigstore.json"
    sign_raw(index, entries, {f"acme-signal/{filename}": (target, hashlib.sha256(other)
                                                        .hexdigest()),
                            f"acme-signal/{filename}.sigstore.json": (
                                bundle_target, hashlib.sha256(original_bundle).hexdigest())})
    results["install from an index signed over a swapped wheel"] = outcome(
        lambda: install_for(settings))
    bundle_target.write_bytes(other_bundle)
    sign_raw(index, entries, {f"acme-signal/{filename}": (target, hashlib.sha256(other)
                                                        .hexdigest()),
                            f"acme-signal/{filename}.sigstore.json": (
                                bundle_target, hashlib.sha256(other_bundle).hexdigest())})
    results["install, wheel and bundle both swapped (same key)"] = outcome(
        lambda: install_for(settings))
    assert not plugin_importable(settings)
    shutil.rmtree(settings.plugins_path, ignore_errors=True)
    return results


# -- startup hooks, bytecode and code the scan cannot read ---------------------------------

HOSTILE_MEMBERS = {
    ".pth at the top level": {"zzz_acme.pth": b"import os; os.system('id')\n"},
    ".pth under .data/purelib": {
        "acme_signal-{v}.data/purelib/zzz_acme.pth": b"import os; os.system('id')\n"},
    "sourceless .pyc": {"acme_signal/__pycache__/hidden.cpython-311.pyc":
                        b"\xa7\r\r\n" + b"\0" * 12 + b"\xe3" + b"\0" * 40},
    "source in another encoding": {"acme_signal/codec.py":
                                   b"# -*- coding: utf-7 -*-\nx = 1\n"},
    "source that is not UTF-8": {"acme_signal/latin.py": b"x = '\xe9'\n"},
    "source that does not parse": {"acme_signal/broken.py": b"def (:\n"},
}


def startup_hooks_and_unreadable(settings, key) -> dict[str, str]:
    results = {}
    for number, (name, members) in enumerate(HOSTILE_MEMBERS.items()):
        version = f"1.0.{number}"
        extra = {k.format(v=version): v for k, v in members.items()}
        filename, wheel = make_wheel(version=version, extra=extra)
        results[f"publish: {name}"] = outcome(
            lambda f=filename, w=wheel: publish_signed(settings, key, f, w))
    for number, (name, members) in enumerate(HOSTILE_MEMBERS.items()):
        version = f"2.0.{number}"
        extra = {k.format(v=version): v for k, v in members.items()}
        filename, wheel = make_wheel(version=version, extra=extra)
        legacy_release(settings, key, filename, wheel)
        results[f"install: {name}"] = outcome(
            lambda v=version: install_for(settings, f"acme-signal=={v}"))
        assert not plugin_importable(settings)
    return results


# -- trust on first use and stale indexes ----------------------------------------------------

def _fresh_host(settings) -> None:
    shutil.rmtree(settings.home / "registry" / "trusted", ignore_errors=True)


def index_trust(settings, key) -> dict[str, str]:
    """A new host shown an attacker's root, a replayed pre-revoke index, no registry."""
    from datetime import UTC, datetime, timedelta

    from tracer_registry.index import IndexRepository
    from tracer_registry.revocation import change_status

    results = {}
    filename, wheel = make_wheel()
    publish_signed(settings, key, filename, wheel, domains=["acme/signal"])
    with session(settings) as s:  # signed two hours ago: older than the 1 h lifetime
        sign_index(s, settings, now=datetime.now(UTC) - timedelta(hours=2))
    real = repository(settings)
    before_revoke = settings.home / "replayed"
    shutil.copytree(real.root, before_revoke)
    with session(settings) as s:
        change_status(s, settings, "acme-signal", "1.0.0", "revoke", "malicious")
    # 1. the mirror serves the pre-revoke index to a host that never saw the registry
    shutil.rmtree(real.metadata)
    shutil.copytree(before_revoke / "metadata", real.metadata)
    _fresh_host(settings)
    results["replayed pre-revoke index, new host"] = outcome(lambda: install_for(settings))
    # 2. the mirror serves an index of the attacker's own keys, root and all
    evil = IndexRepository(settings.home / "evil-index")
    with session(settings) as s:
        entries = [index_entry(s, r) for r in s.query(Release)]
    for entry in entries:
        entry["status"] = "active"
    store = BlobStore(settings.blobs)
    evil.publish(entries, {e[t]: (store.path(e[d]), e[d]) for e in entries
                           for t, d in (("wheel_target", "sha256"),
                                        ("bundle_target", "bundle_sha256"))},
                 lifetime={"timestamp": timedelta(minutes=30)})
    shutil.rmtree(real.metadata)
    shutil.copytree(evil.metadata, real.metadata)
    _fresh_host(settings)
    results["attacker's own root shown to a new host"] = outcome(lambda: install_for(settings))
    # 3. the registry cannot be reached at all
    shutil.rmtree(real.metadata)
    results["registry unreachable"] = outcome(lambda: install_for(settings))
    assert not plugin_importable(settings)
    return results


def checked(action) -> str:
    """Like ``outcome``, for actions refused by other errors: the error's problem slug."""
    from tracer.errors import TracerError

    try:
        action()
    except Refusal as refused:
        return refused.check
    except TracerError as refused:
        return refused.slug
    return "accepted"


def _mallory(settings, namespaces=("mallory-*",)):
    """A stranger with a key of their own for each of ``namespaces`` and the domain prefix
    ``mallory``: {namespace: key}."""
    from cryptography.hazmat.primitives.asymmetric import ec
    from tracer_registry.domains import claim_domain
    from tracer_registry.publishers import create_publisher, register_key
    from tracer_registry.signing import public_pem

    keys = {n: ec.generate_private_key(ec.SECP256R1()) for n in namespaces}
    with session(settings) as s:
        create_publisher(s, "mallory", "Mallory")
        for namespace, key in keys.items():
            register_key(s, "mallory", namespace, public_pem(key))
        claim_domain(s, "mallory", "mallory")
    return keys


# -- typosquats ------------------------------------------------------------------------------

SQUATS = ("tracer-esport", "tracer-esports-pro", "tracer-frauds", "tracer-fraub",
          "tracer-fr4ud", "tracer-esp0rts", "tracer-fraud-ml", "pro-tracer-esports",
          "acrne-signal", "acrne-signa1")


def near_miss_names(settings, key) -> dict[str, str]:
    """Each squat in a namespace of its own (a stranger may claim those: none covers a
    protected name), so only the near-miss check stands between it and the catalog."""
    filename, wheel = make_wheel()
    publish_signed(settings, key, filename, wheel)  # acme-signal, acme's own
    keys = _mallory(settings, SQUATS)
    results = {}
    for name in SQUATS:
        filename, wheel = make_wheel(name=name, domain="mallory/signal")
        results[name] = outcome(lambda f=filename, w=wheel, k=keys[name]:
                                publish_signed(settings, k, f, w))
    return results


# -- domain hijack -----------------------------------------------------------------------------

def domain_hijack(settings, key) -> dict[str, str]:
    """A stranger declares someone else's domain, or claims its prefix, or outbids it."""
    from tracer_registry.domains import claim_domain

    filename, wheel = make_wheel()
    publish_signed(settings, key, filename, wheel)  # acme-signal provides acme/signal
    keys = _mallory(settings, ("mallory-*",))
    mallory = keys["mallory-*"]
    results = {}
    for number, domain in enumerate(("esports/lol-10min", "acme/signal", "acme/signal/v2")):
        f, w = make_wheel(name="mallory-lol", version=f"1.0.{number}", domain=domain)
        results[f"publish declaring {domain}"] = outcome(
            lambda f=f, w=w: publish_signed(settings, mallory, f, w))
    f, w = make_wheel(name="mallory-lol", version="1.1.0", domain="mallory/lol")
    results["publish claiming acme/signal in free text"] = outcome(
        lambda: publish_signed(settings, mallory, f, w, domains=["acme/signal"]))
    # source declares mallory/lol (owned), the code renames it when it runs: only a run can
    # tell, so the install's load check (in the confined runner) refuses it
    f, w = make_wheel(name="mallory-lol", version="1.2.0", domain="mallory/lol",
                      body="DOMAIN.__dict__['name'] = 'acme/' + 'signal'")
    publish_signed(settings, mallory, f, w)
    results["domain renamed at run time, then installed"] = outcome(
        lambda: install_for(settings, "mallory-lol==1.2.0"))
    for prefix in ("esports", "esport", "acme", "acme/signal", "acrne"):
        results[f"claim the domain prefix {prefix}"] = checked(
            lambda p=prefix: _claim(settings, claim_domain, p))
    # a release that reached the index anyway (before these checks) cannot win by version
    f, w = make_wheel(name="mallory-lol", version="9.9.9", body="open('/tmp/x', 'w')")
    legacy_release(settings, mallory, f, w, domains=("acme/signal",))
    _set_publisher(settings, "mallory-lol", "mallory")
    installed = install_for(settings, "acme/signal")
    results["install acme/signal with mallory-lol 9.9.9 in the index"] = (
        "domain" if installed.listing == "acme-signal"
        and not plugin_importable(settings, "mallory_lol") else "accepted")
    return results


def _claim(settings, claim_domain, prefix):
    with session(settings) as s:
        claim_domain(s, "mallory", prefix)


def _set_publisher(settings, listing, publisher):
    with session(settings) as s:
        s.get(Listing, listing).publisher_id = publisher
        sign_index(s, settings)


# -- review ------------------------------------------------------------------------------------

def review_takeover(settings, key) -> dict[str, str]:
    """Another reviewer rejects or approves a review claimed by someone else; a read that
    used to write. Needs the certification tables."""
    from tracer import db
    from tracer_registry.certify import attestation as att
    from tracer_registry.certify import review as service
    from tracer_registry.certify.plugin import tracer_migrations as certification_tree
    from tracer_registry.certify.report import CheckResult, Report

    db.upgrade(settings, extra=certification_tree())
    filename, wheel = make_wheel()
    report = Report(plugin="acme-signal", version="1.0.0", wheel=filename,
                    wheel_sha256=hashlib.sha256(wheel).hexdigest(), policy_version="t",
                    tracer_version="0", checks=[CheckResult("conformance", "passed", "error",
                                                            "passed")])
    keys = {}
    with session(settings) as s:
        for name in ("ada", "grace"):
            private = att.generate_key()
            keys[name] = att.save_private(private, settings.home / f"{name}.pem")
            service.register_reviewer_key(s, name, att.public_pem(private))
        review_id = service.submit(s, settings, report, wheel).id

    def act(fn):
        with session(settings) as s:
            fn(s)

    results = {"read the statement before any claim (used to fix it)": checked(
        lambda: act(lambda s: service.statement(s, review_id)))}
    act(lambda s: service.claim(s, review_id, "ada"))
    results["grace rejects ada's claim"] = checked(lambda: act(
        lambda s: service.reject(s, review_id, "grace", "rejecting what I did not claim")))
    results["grace approves ada's claim"] = checked(lambda: act(
        lambda s: service.approve_with_key(s, settings, review_id, "grace", keys["grace"])))
    act(lambda s: service.approve_with_key(s, settings, review_id, "ada", keys["ada"]))
    results["ada claims again to approve twice"] = checked(lambda: act(
        lambda s: service.claim(s, review_id, "ada")))
    return results


# -- certification misses ------------------------------------------------------------------------

def certification_misses(settings, key) -> dict[str, str]:
    """Wheels certification used to pass: each must now fail the check named."""
    from tracer_registry.certify import REGISTRY_POLICY
    from tracer_registry.certify.contents_checks import contents_checks
    from tracer_registry.certify.domain_checks import check_domains
    from tracer_registry.certify.static_checks import static_checks
    from tracer_registry.certify.wheel import Wheel

    from tests.certification.build import FIXTURES, build_wheel

    def failed(extra, name):
        path = build_wheel(FIXTURES / "benign", settings.home / "wheels" / name, extra=extra)
        wheel = Wheel(path)
        checks = (contents_checks(wheel, REGISTRY_POLICY)
                  + static_checks(wheel, REGISTRY_POLICY)
                  + [check_domains(wheel, REGISTRY_POLICY, ["certsample"])])
        return next((c.id for c in checks if c.status == "failed"), "accepted")

    hook = "import os\nos.system('id')\n"
    attempts = {
        ".pth under .data/purelib": {"tracer_certsample-1.0.0.data/purelib/x.pth": hook},
        "sourceless .pyc": {"certsample/__pycache__/x.cpython-311.pyc": "\xa7\r\r\n" + "0" * 40},
        "pkgutil.resolve_name": {"certsample/r.py": "import pkgutil\n"
                                                    "pkgutil.resolve_name('os:system')('id')\n"},
        "Path.open for writing": {"certsample/w.py": "from pathlib import Path\n"
                                                     "Path('/etc/x').open('w').write('y')\n"},
        "getattr(pkgutil, 'resolve_name')": {
            "certsample/g.py": "import pkgutil\ngetattr(pkgutil, 'resolve_name')('os:system')\n"},
        "getattr(os, 'system')": {"certsample/o.py": "import os\ngetattr(os, 'system')('id')\n"},
        ".pth at the top level": {"x.pth": hook},
        "a native extension module": {"certsample/_x.so": "\x7fELF\x02\x01\x01" + "\0" * 57},
        "a first-party domain": {"certsample/d.py": "from tracer import Domain\n"
                                                    "D = Domain(name='esports/lol-10min')\n"},
    }
    results = {name: failed({k: v.encode("latin-1") for k, v in extra.items()},
                            str(number)) for number, (name, extra) in
               enumerate(attempts.items())}
    results["a feature that leaks the label"] = _leak_flagged(settings)
    return results


def _leak_flagged(settings) -> str:
    from tests.certification.test_leakage import _run

    try:
        _run(settings, "leaky", ["x", "after"])
    except AssertionError as flagged:  # ConformanceError
        return "conformance" if "tell the outcome on their own" in str(flagged) else "other"
    return "accepted"


# -- key hygiene ---------------------------------------------------------------------------------

def key_hygiene(settings, key) -> dict[str, str]:
    from tracer.tenancy import issue_key

    def issue(name="k", n=1):
        with session(settings) as s:
            for _ in range(n):
                issue_key(s, "tenant", tenant_id="t1", name=name)

    issue(n=settings.api.max_active_keys)
    return {"a key over the cap": checked(issue),
            "a 101-character key name": checked(lambda: issue("x" * 101)),
            "a key name with a newline": checked(lambda: issue("ci\nadmin")),
            "a key name with a bidi override": checked(lambda: issue("a\u202eexe"))}


# -- failed installs -----------------------------------------------------------------------------

def failed_installs(settings, key) -> dict[str, str]:
    """Installs failing at each step; refused only if nothing stays installed."""

    def attempt(version, spec, tenant="t1", after=None, **options):
        filename, wheel = make_wheel(version=version, **options)
        publish_signed(settings, key, filename, wheel)
        try:
            with session(settings) as s:
                install(s, settings, tenant, spec)
                if after:
                    raise RuntimeError(after)
        except Exception as failed:  # noqa: BLE001 -- whatever broke the install, check the rollback
            left = plugin_importable(settings)
            return "rolled back" if not left else f"left installed ({failed})"
        return "accepted"

    return {
        "load check fails": attempt("1.0.0", "acme-signal==1.0.0", body="raise SystemExit"),
        "recording fails (no tenant)": attempt("1.0.1", "acme-signal==1.0.1",
                                               tenant="nobody"),
        "the caller fails after install": attempt("1.0.2", "acme-signal==1.0.2",
                                                  after="caller failed"),
        "registers an undeclared domain": attempt(
            "1.0.3", "acme-signal==1.0.3",
            body="DOMAIN.__dict__['name'] = 'globex/' + 'x'"),
    }
