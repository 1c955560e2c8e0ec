"""Tracer registry: signed releases, a signed catalog index, verified installs, revocation.

Joins the platform through hooks only (``tracer_registry.plugin``); ``tracer`` core never
imports this package. The pieces, each a small module:

- ``publishers``  publisher accounts, trusted-publisher records, registered EC keys
- ``verify``      Sigstore bundle verification (keyless, PEP 740, public-key) with a
                  pinned trust root; every refusal names the check that failed
- ``wheels``      reading wheel metadata and extracting wheels without escaping the root
- ``publishing``  the publish flow: verify, inspect, refuse non-newer versions, store
- ``blobs``       the content-addressed store under ``settings.blobs``
- ``index``       the catalog index as TUF metadata (registry side and host side)
- ``catalog``     search, listings, price plans, certification fields
- ``install``     verified installs into ``settings.plugins_path``
- ``revocation``  yank, quarantine, revoke and the kill list hosts apply
"""

__all__ = ["__version__"]

__version__ = "0.1.0"
