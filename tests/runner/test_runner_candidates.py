"""A third-party plugin adds leaderboard candidates through its runner — its own trainer
only: the platform's fitters run in the host, so their params are not the plugin's to set."""

from __future__ import annotations

import textwrap

import pytest
from tracer.candidates import candidates_for
from tracer.errors import PluginError
from tracer.host import PluginHost

from tests.core.test_host import make_distribution

pytestmark = pytest.mark.xdist_group("runner-candidates")

SOURCE = """
    import pandas as pd
    from tracer import hookimpl
    from tests.core.toy import toy_domain

    @hookimpl
    def tracer_domains():
        return [toy_domain("{domain}")]

    @hookimpl
    def tracer_features(domain, records, state):
        return pd.DataFrame({{"signal": records["signal"]}})

    @hookimpl
    def tracer_candidates(domain):
        return [{{"name": "deeper trainer", "kind": "{kind}", "params": {{"max_depth": 3}}}}]
"""


def _host(tmp_path, settings, monkeypatch, kind: str) -> PluginHost:
    site = tmp_path / "site"
    site.mkdir()
    make_distribution(site, "cand-plugin", "cand_plugin",
                      textwrap.dedent(SOURCE).format(domain="cand/one", kind=kind))
    monkeypatch.syspath_prepend(str(site))
    settings.plugins_allow = ["cand-plugin"]
    return PluginHost(settings)


def test_a_runner_plugin_adds_its_own_trainer_with_other_params(tmp_path, settings,
                                                                 monkeypatch):
    host = _host(tmp_path, settings, monkeypatch, "trainer")
    try:
        found = {c.name: c for c in candidates_for(host, host.domain("cand/one"))}
        assert found["deeper trainer"].kind == "trainer"
        assert dict(found["deeper trainer"].params) == {"max_depth": 3}
    finally:
        host.close()


def test_a_runner_plugin_cannot_set_the_platforms_own_fitters(tmp_path, settings,
                                                              monkeypatch):
    host = _host(tmp_path, settings, monkeypatch, "xgboost")
    try:
        with pytest.raises(PluginError, match="must be of kind 'trainer'"):
            candidates_for(host, host.domain("cand/one"))
    finally:
        host.close()
