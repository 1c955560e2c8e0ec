"""Keyless Sigstore signing of an attestation statement (online only: Fulcio, Rekor, OIDC).

Offline deployments sign with registry and reviewer EC keys (``attestation``); connected
ones can add a Sigstore bundle whose certificate names the reviewer's identity. Hosts
verify it with ``sigstore.verify.Verifier.verify_dsse`` and then compare the statement's
subject digest themselves (``verify_dsse`` does not look at the artifact).
"""

from __future__ import annotations

from typing import Any


def sign_keyless(statement: dict[str, Any], identity_token: str | None = None) -> str:
    """A Sigstore bundle (JSON) over the statement, signed with an ambient OIDC identity."""
    from sigstore import dsse
    from sigstore.models import ClientTrustConfig
    from sigstore.oidc import IdentityToken, detect_credential
    from sigstore.sign import SigningContext

    from tracer_registry.certify.attestation import canonical

    token = identity_token or detect_credential()
    if token is None:
        from tracer_registry.errors import CertificationError

        raise CertificationError("keyless signing needs an OIDC identity token (CI ambient "
                                 "credentials); none was found")
    context = SigningContext.from_trust_config(ClientTrustConfig.production())
    with context.signer(IdentityToken(token)) as signer:
        bundle = signer.sign_dsse(dsse.Statement(canonical(statement)))
    return bundle.to_json()
