"""Keyless signing needs Fulcio, Rekor and an OIDC token: online only.

Verification of keyless bundles is tested offline on the fixtures (test_fixtures.py).
"""

from __future__ import annotations

import os
import re

import pytest


def _rule_for(san: str, issuer: str):
    from tracer_registry.verify import TrustedPublisherRule

    github = re.match(r"https://github\.com/([^/]+/[^/]+)/\.github/workflows/([^@]+)@", san)
    if github:
        return TrustedPublisherRule(issuer, github.group(1), github.group(2))
    return TrustedPublisherRule(issuer, "", san)  # other issuers: the exact identity


@pytest.mark.online
def test_keyless_signing_round_trip_verifies_with_the_pinned_root():
    token = os.environ.get("SIGSTORE_ID_TOKEN")
    if not token:
        pytest.skip("offline: keyless signing needs network access to Fulcio and Rekor and "
                    "an OIDC token (SIGSTORE_ID_TOKEN); CI runs offline")
    from sigstore.models import Bundle
    from tracer_registry.signing import sign_keyless
    from tracer_registry.verify import verify_keyless
    from tracer_registry.verify.keyless import certificate_identity

    artifact = b"tracer keyless signing round trip\n"
    bundle = sign_keyless(artifact, token)
    san, issuer, _ = certificate_identity(Bundle.from_json(bundle).signing_certificate)
    verified = verify_keyless(artifact, bundle, [_rule_for(san, issuer)])
    assert verified.signer == san and verified.transparency_log
