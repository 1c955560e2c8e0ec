"""A third-party plugin adds leaderboard candidates through its runner — its own trainer
only: the platform's fitters run in the host, so their params are not the plugin's to set."""

from __future__ import annotations

import textwrap

import pytest
from tracer.candidates import candidates_for
from tracer.errors import PluginError
from tracer.host import PluginHost

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


def _host(settings, install_plugin, kind: str) -> PluginHost:
    install_plugin("cand-plugin", "cand_plugin",
                   textwrap.dedent(SOURCE).format(domain="cand/one", kind=kind))
    return PluginHost(settings)


def test_a_runner_plugin_adds_its_own_trainer_with_other_params(settings, install_plugin):
    host = _host(settings, install_plugin, "trainer")
    try:
        found = {c.name: c for c in candidates_for(host, host.domain("cand/one"))}
        assert found["deeper trainer"].kind == "trainer"
        assert dict(found["deeper trainer"].params) == {"max_depth": 3}
    finally:
        host.close()


def test_a_runner_plugin_cannot_set_the_platforms_own_fitters(settings, install_plugin):
    host = _host(settings, install_plugin, "xgboost")
    try:
        with pytest.raises(PluginError, match="must be of kind 'trainer'"):
            candidates_for(host, host.domain("cand/one"))
    finally:
        host.close()
