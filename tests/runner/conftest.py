"""Runner tests reuse the registry's fixtures (a migrated registry DB, publisher ``acme``)
and install their plugins as real distributions on the import path (third-party trust)."""

import textwrap

import pytest

from tests.core.test_host import make_distribution
from tests.registry.conftest import acme, publisher_key, registry_db  # noqa: F401


@pytest.fixture
def install_plugin(tmp_path, settings, monkeypatch):
    """``install_plugin(dist, module, source)``: a distribution on a fresh site directory,
    the only one the host is allowed to load."""
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))

    def install(dist: str, module: str, source: str) -> None:
        make_distribution(site, dist, module, textwrap.dedent(source))
        settings.plugins.allow = [dist]
    return install
