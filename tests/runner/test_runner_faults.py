"""A runner that crashes, hangs, runs out of memory or answers nonsense is a clear error for
that call, and the next call gets a fresh runner; without bubblewrap nothing runs at all."""

from __future__ import annotations

import pandas as pd
import pytest
from tracer.domain import FeatureState
from tracer.errors import PluginError
from tracer.host import PluginHost
from tracer.runner import tenant_scope

pytestmark = pytest.mark.xdist_group("runner-faults")

FAULTY = """
    import os, time
    import numpy as np
    import pandas as pd
    from tracer import Explanation, Factor, hookimpl
    from tests.core.toy import toy_domain

    @hookimpl
    def tracer_domains():
        return [toy_domain("faulty/one")]

    @hookimpl
    def tracer_features(domain, records, state):
        mode = float(records["signal"].iloc[0])
        if mode == 666:
            os._exit(3)                                  # the process dies
        if mode == 777:
            time.sleep(30)                               # hangs past the deadline
        if mode == 888:
            blob = bytearray(3 << 30)                    # over the address-space limit
        if mode == 999:
            return pd.DataFrame({"signal": [np.inf] * len(records)})
        if mode == 555:
            return pd.DataFrame({"signal": [1.0] * (len(records) + 1)})
        return pd.DataFrame({"signal": records["signal"], "count": records["count"]})

    @hookimpl
    def tracer_explain(domain, prediction):
        if prediction.record["signal"] == 444:
            return Explanation(factors=[Factor("signal", 1, 0.5, "sideways", "x")], summary="s")
        return Explanation(factors=[], summary="x" * 5000)
"""


@pytest.fixture
def faulty(settings, install_plugin):
    install_plugin("faulty-plugin", "faulty_plugin", FAULTY)
    settings.runner.call_seconds = 3
    settings.runner.train_seconds = 3
    host = PluginHost(settings)
    assert host.records["faulty-plugin"].status == "loaded", host.records["faulty-plugin"]
    yield host
    host.close()


def _features(host, signal: float):
    from tracer.features import compute_features

    records = pd.DataFrame({"signal": [signal], "count": [1], "noise": [0.0]})
    with tenant_scope("acme"):
        return compute_features(host, host.domain("faulty/one"), records, FeatureState())


@pytest.mark.parametrize("signal, says", [
    (666, "its runner exited with status 3 during tracer_features"),
    (777, "tracer_features did not answer within 3 s; its runner was stopped"),
    (888, "MemoryError"),
    (999, "feature 'signal' has infinite values"),
    (555, "tracer_features returned 2 rows for 1 records"),
])
def test_a_failing_call_is_a_clear_error_and_the_next_call_gets_a_runner(faulty, signal, says):
    with pytest.raises(PluginError) as failed:
        _features(faulty, signal)
    assert says in str(failed.value)
    assert list(_features(faulty, 0.5).columns) == ["signal", "count"]
    assert [r["tenant"] for r in faulty.pool.states("faulty-plugin")].count("acme") == 1


def test_explanations_are_checked_before_the_platform_uses_them(faulty):
    from tracer.domain import Prediction

    domain = faulty.domain("faulty/one")

    def explain(signal: float):
        prediction = Prediction(record={"signal": signal}, features={"signal": signal},
                                contributions={"signal": 0.5}, bias=0.0, probability=0.6,
                                label=1, threshold=0.5, base_rate=0.5, state=FeatureState())
        return faulty.explain_all(domain, [prediction])

    with pytest.raises(PluginError, match="direction 'sideways'"):
        explain(444)
    with pytest.raises(PluginError, match="a summary that is empty or over 1000 characters"):
        explain(1.0)


def test_without_bubblewrap_third_party_plugins_fail_closed(tmp_path, settings, monkeypatch,
                                                           install_plugin):
    install_plugin("faulty-plugin", "faulty_plugin", FAULTY)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no bwrap to be found
    host = PluginHost(settings)
    record = host.records["faulty-plugin"]
    assert (record.status, record.trust) == ("failed", "third-party")
    assert "no bubblewrap" in record.error and "apt-get install bubblewrap" in record.error
    assert "faulty/one" not in host.domains


def test_a_plugin_dir_wheel_named_like_a_first_party_one_is_still_third_party(settings):
    from tracer_registry.wheels import extract_wheel

    from tests.registry.artifacts import make_wheel

    _, wheel = make_wheel(name="tracer-esports", domain="acme/signal")
    settings.plugins_path.mkdir(parents=True, exist_ok=True)
    extract_wheel(wheel, settings.plugins_path)
    settings.plugins.allow = ["tracer-esports"]
    host = PluginHost(settings)
    try:
        record = host.records["tracer-esports"]  # the wheel's entry point
        assert (record.trust, record.status, record.domains) == (
            "third-party", "loaded", ["acme/signal"])
        assert host.records["esports-lol"].trust == "first-party"  # the platform's own
    finally:
        host.close()


def test_tracer_plugins_shows_trust_and_the_runner(settings, monkeypatch, capsys,
                                                   install_plugin):
    import json

    from tracer.cli import main

    install_plugin("faulty-plugin", "faulty_plugin", FAULTY)
    monkeypatch.setenv("TRACER_PLUGINS__ALLOW", "faulty-plugin,tracer.builtin.trainer")
    assert main(["plugins", "--json"]) == 0
    records = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    faulty = records["faulty-plugin"]
    assert (faulty["trust"], faulty["status"]) == ("third-party", "loaded")
    assert [r["tenant"] for r in faulty["runners"]] == ["_platform"]
    assert records["tracer.builtin.trainer"]["trust"] == "builtin"
    from tracer.cli.context import console

    monkeypatch.setattr(console, "width", 250)
    assert main(["plugins"]) == 0
    table = capsys.readouterr().out
    assert "third-party" in table and "_platform pid" in table
