"""What a verification returns (``VerifiedIdentity``) or raises (``Refusal``).

Every refusal names the check that failed, so a publisher can tell a tampered file
(``digest``) from a workflow that is not their trusted publisher (``identity``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from tracer_registry.errors import RegistryError

#: the checks a release can fail, in the order they run
CHECKS = ("size", "bundle", "digest", "name", "signature", "trust root", "issuer", "identity",
          "key", "metadata", "paths", "namespace", "version", "index", "status", "policy",
          "certification", "contents", "near-miss", "domain", "freshness")


class Refusal(RegistryError):
    """A release or index refused by a named check (``details['check']``)."""

    def __init__(self, check: str, message: str, **details: Any) -> None:
        if check not in CHECKS:
            raise ValueError(f"unknown check {check!r}")
        super().__init__(f"refused ({check} check): {message}", check=check, **details)
        self.check = check


@dataclass(frozen=True)
class VerifiedIdentity:
    """Who signed what, as established by a verification that passed."""

    method: str  # keyless | pep740 | key
    sha256: str  # the artifact digest the signature covers
    signer: str  # certificate SAN (keyless) or key id (key)
    issuer: str | None = None  # OIDC issuer (keyless)
    key_id: str | None = None
    subject_name: str | None = None  # the file name that was signed, when the format binds one
    claims: dict[str, str] = field(default_factory=dict)
    transparency_log: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class TrustedPublisherRule:
    """The identity a keyless bundle must carry (the PyPI Trusted Publishing model).

    ``repository`` is ``owner/name`` and ``workflow`` the workflow file name
    (GitHub: ``release.yml``; GitLab: the CI file path, ``.gitlab-ci.yml``). For other
    issuers the certificate identity (SAN) must equal ``workflow`` exactly. Fulcio
    certificates carry no deployment environment, so ``environment`` is recorded but cannot
    be checked from a bundle (PyPI checks it only when it exchanges the OIDC token).
    """

    issuer: str
    repository: str
    workflow: str
    environment: str | None = None

    def expected_identity(self) -> str:
        if self.issuer == GITHUB_ISSUER:
            return f"https://github.com/{self.repository}/.github/workflows/{self.workflow}@"
        if self.issuer == GITLAB_ISSUER:
            return f"https://gitlab.com/{self.repository}//{self.workflow}@"
        return self.workflow

    def matches_identity(self, san: str) -> bool:
        expected = self.expected_identity()
        if expected.endswith("@"):
            # repository owners and names are case-insensitive on GitHub and GitLab
            head, sep, ref = san.partition("@")
            return bool(sep) and bool(ref) and (head + "@").lower() == expected.lower()
        return san == expected


GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
GITLAB_ISSUER = "https://gitlab.com"
