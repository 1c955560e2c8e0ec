"""Every shared Sigstore fixture gives its expected result, offline, with the pinned root.

Verifying: 9 cases (sigstore-python wheel, conformance v0.3, DSSE, Rekor v2 with its own root,
managed key, two PEP 740 attestations, the PEP 740 bundle, the model-signing directory).
Failing: 10 cases, each with the check that must name the failure.
"""

from __future__ import annotations

import shutil

import pytest
from tracer_registry.verify import (
    Refusal,
    TrustedPublisherRule,
    key_id,
    load_public_key,
    verify_model_directory,
    verify_release,
)
from tracer_registry.verify.refusal import GITHUB_ISSUER, GITLAB_ISSUER

from tests.registry.conftest import FIXTURES

RFC = "sigstore-python/rfc8785-0.1.2-py3-none-any.whl"
RFC_RULE = TrustedPublisherRule(GITHUB_ISSUER, "trailofbits/rfc8785.py", "release.yml")
BEACON = TrustedPublisherRule(GITHUB_ISSUER,
                              "sigstore-conformance/extremely-dangerous-public-oidc-beacon",
                              "extremely-dangerous-oidc-beacon.yml")
PYPI_ATT = TrustedPublisherRule(GITHUB_ISSUER, "trailofbits/pypi-attestations", "release.yml")
GITLAB = TrustedPublisherRule(GITLAB_ISSUER, "facutuesca/gitlab-oidc-project", ".gitlab-ci.yml")
DIST = "pep740/pypi_attestations-0.0.19.tar.gz"


def _read(rel: str) -> bytes:
    return (FIXTURES / rel).read_bytes()


def _keys(rel: str) -> dict[str, str]:
    pem = (FIXTURES / rel).read_text()
    return {key_id(load_public_key(pem)): pem}


def _flipped(data: bytes) -> bytes:
    changed = bytearray(data)
    changed[len(changed) // 2] ^= 0x01
    return bytes(changed)


# name -> (artifact, filename, bundle, rules, keys, trust root or None)
def _cases():
    a_txt = _read("conformance/a.txt")
    managed = _keys("conformance/managed-key-happy-path/key.pub")
    return {
        "rfc8785 wheel (v0.2, Rekor v1)": (_read(RFC), RFC.split("/")[1],
                                            _read(RFC + ".sigstore.json"), [RFC_RULE], {}, None),
        "conformance happy-path-v0.3": (a_txt, "a.txt",
                                        _read("conformance/happy-path-v0.3/bundle.sigstore.json"),
                                        [BEACON], {}, None),
        "conformance intoto-in-dsse-v3": (a_txt, "a.txt", _read(
            "conformance/happy-path-intoto-in-dsse-v3/bundle.sigstore.json"), [BEACON], {}, None),
        "conformance rekor2 (own root)": (a_txt, "a.txt", _read(
            "conformance/rekor2-happy-path/bundle.sigstore.json"), [BEACON], {},
            FIXTURES / "conformance/rekor2-happy-path/trusted_root.json"),
        "conformance managed-key": (a_txt, "a.txt", _read(
            "conformance/managed-key-happy-path/bundle.sigstore.json"), [], managed, None),
        "pep740 pypi-attestations": (_read(DIST), DIST.split("/")[1],
                                     _read(DIST + ".publish.attestation"), [PYPI_ATT], {}, None),
        "pep740 as sigstore bundle": (_read(DIST), DIST.split("/")[1],
                                      _read(DIST + ".sigstore.json"), [PYPI_ATT], {}, None),
        "pep740 gitlab": (_read("pep740/gitlab_oidc_project-0.0.3.tar.gz"),
                          "gitlab_oidc_project-0.0.3.tar.gz",
                          _read("pep740/gitlab_oidc_project-0.0.3.tar.gz.publish.attestation"),
                          [GITLAB], {}, None),
    }


VERIFYING = list(_cases())


def _failing():
    c = _cases()
    rfc, dist = c["rfc8785 wheel (v0.2, Rekor v1)"], c["pep740 pypi-attestations"]
    evil = TrustedPublisherRule(GITHUB_ISSUER, "evil/rfc8785.py", "release.yml")
    google = TrustedPublisherRule("https://accounts.google.com", "trailofbits/rfc8785.py",
                                  "release.yml")
    other = TrustedPublisherRule(GITHUB_ISSUER, "trailofbits/pypi-attestations", "other.yml")
    a_txt = _read("conformance/a.txt")
    return {
        "rfc8785 wheel, one byte flipped": ((_flipped(rfc[0]), *rfc[1:]), "digest"),
        "rfc8785, identity evil/...": ((*rfc[:3], [evil], {}, None), "identity"),
        "rfc8785, issuer accounts.google.com": ((*rfc[:3], [google], {}, None), "issuer"),
        "conformance wrong-material_fail": ((_read("conformance/wrong-material_fail/artifact"),
                                             "a.txt", _read(
            "conformance/wrong-material_fail/bundle.sigstore.json"), [BEACON], {}, None),
            "digest"),
        "conformance signature-mismatch_fail": ((a_txt, "a.txt", _read(
            "conformance/signature-mismatch_fail/bundle.sigstore.json"), [BEACON], {}, None),
            "signature"),
        "rekor2 against the production root": ((*c["conformance rekor2 (own root)"][:5], None),
                                               "trust root"),
        "managed-key with another key": ((*c["conformance managed-key"][:4],
                                          _keys("model-signing-key/publisher-ec-p256.pub"), None),
                                         "key"),
        "pep740 workflow other.yml": ((*dist[:3], [other], {}, None), "identity"),
        "pep740 modified file": ((_flipped(dist[0]), *dist[1:]), "digest"),
        "pep740 renamed to 0.0.20": ((dist[0], "pypi_attestations-0.0.20.tar.gz", *dist[2:]),
                                     "name"),
    }


FAILING = list(_failing())


def _verify(artifact, filename, bundle, rules, keys, root):
    extra = {"trust_root": root} if root else {}
    return verify_release(artifact, filename, bundle, rules=rules, keys=keys, **extra)


@pytest.mark.parametrize("case", VERIFYING)
def test_fixture_verifies(case):
    artifact, filename, *_ = _cases()[case]
    identity = _verify(*_cases()[case])
    assert identity.sha256 == __import__("hashlib").sha256(artifact).hexdigest()
    assert identity.signer


@pytest.mark.parametrize("case", FAILING)
def test_fixture_fails_with_its_reason(case):
    args, check = _failing()[case]
    with pytest.raises(Refusal) as refused:
        _verify(*args)
    assert refused.value.check == check, str(refused.value)
    assert refused.value.problem()["check"] == check


def test_keyless_identity_claims_are_read_from_the_certificate():
    identity = _verify(*_cases()["rfc8785 wheel (v0.2, Rekor v1)"])
    assert identity.signer == ("https://github.com/trailofbits/rfc8785.py/.github/workflows/"
                               "release.yml@refs/tags/v0.1.2")
    assert identity.issuer == GITHUB_ISSUER
    assert identity.claims["source_digest"] == "d8b4a6445f38c48b9137a8099706d9b8073146e4"
    assert identity.claims["build_trigger"] == "release"


def test_managed_key_bundle_log_entry_checked_against_pinned_rekor_key():
    identity = _verify(*_cases()["conformance managed-key"])
    assert identity.transparency_log is True
    assert identity.key_id == "4cb32c4837c6dda8cfb1681efb3fef5f94ffce5b979e6bdb9139302c857af139"


MODEL = FIXTURES / "model-signing-key"


def test_model_signing_directory_verifies_and_every_change_fails(tmp_path):
    bundle = (MODEL / "demo-plugin.sig.sigstore.json").read_bytes()
    keys = _keys("model-signing-key/publisher-ec-p256.pub")
    assert verify_model_directory(MODEL / "demo-plugin", bundle, keys).subject_name \
        == "demo-plugin"
    outcomes = {}
    for change in ("modified", "added", "deleted", "renamed", "other key"):
        work = tmp_path / change
        shutil.copytree(MODEL / "demo-plugin", work)
        if change == "modified":
            (work / "plugin.json").write_text((work / "plugin.json").read_text() + " ")
        elif change == "added":
            (work / "extra.py").write_text("print('hi')\n")
        elif change == "deleted":
            (work / "weights" / "model.bin").unlink()
        elif change == "renamed":
            (work / "plugin.json").rename(work / "plugin2.json")
        try:
            verify_model_directory(work, bundle, _keys("conformance/managed-key-happy-path/key.pub")
                                   if change == "other key" else keys)
            outcomes[change] = "verified"
        except Refusal as refused:
            outcomes[change] = refused.check
    assert outcomes == {"modified": "digest", "added": "digest", "deleted": "digest",
                        "renamed": "digest", "other key": "key"}


def test_fixture_summary_counts():
    verified = sum(1 for case in VERIFYING if _verify(*_cases()[case]))
    failed = {}
    for case, (args, _check) in _failing().items():
        try:
            _verify(*args)
        except Refusal as refused:
            failed[case] = refused.check
    print(f"\nfixtures: {verified + 1} verify (incl. model-signing dir), "
          f"{len(failed)} fail with the expected check")
    assert verified == 8
    assert failed == {case: check for case, (_, check) in _failing().items()}
    assert len(failed) == 10
