"""Certification levels, lowest to highest, and how a release earns one.

- ``community``: the release is publisher-signed (the registry verified its bundle).
- ``verified-publisher``: the signing identity matches the namespace's trusted publisher.
- ``certified``: the automated checks passed and reviewers approved; it lapses when the
  attestation expires (two years after review), and the level falls back to the
  publisher level until the release is recertified.
"""

from __future__ import annotations

COMMUNITY = "community"
VERIFIED_PUBLISHER = "verified-publisher"
CERTIFIED = "certified"
LEVELS = (COMMUNITY, VERIFIED_PUBLISHER, CERTIFIED)


def rank(level: str | None) -> int:
    return LEVELS.index(level) if level in LEVELS else -1


def meets(level: str | None, required: str | None) -> bool:
    """Whether a release at ``level`` satisfies a tenant policy requiring ``required``."""
    return required is None or rank(level) >= rank(required)
