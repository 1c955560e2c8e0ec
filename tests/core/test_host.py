"""The host loads plugins through entry points and isolates every kind of failure."""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING

import pytest
from tracer import __version__, hookimpl
from tracer.errors import PluginError, UnknownDomainError
from tracer.host import PluginHost

from tests.core.toy import ToyPlugin, toy_domain

if TYPE_CHECKING:
    from pathlib import Path


def make_distribution(root: Path, dist: str, module: str, source: str,
                      requires: str | None = "tracer>=0.1", entry_name: str | None = None) -> None:
    """A real installed distribution (dist-info + module) on a sys.path directory."""
    (root / f"{module}.py").write_text(textwrap.dedent(source))
    info = root / f"{dist.replace('-', '_')}-1.2.3.dist-info"
    info.mkdir()
    meta = f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.2.3\n"
    if requires:
        meta += f"Requires-Dist: {requires}\n"
    (info / "METADATA").write_text(meta)
    (info / "entry_points.txt").write_text(f"[tracer]\n{entry_name or dist} = {module}\n")


GOOD = """
    import pandas as pd
    from tracer import hookimpl
    from tests.core.toy import toy_domain

    @hookimpl
    def tracer_domains():
        return [toy_domain("good/one")]

    @hookimpl
    def tracer_features(domain, records, state):
        return pd.DataFrame({"signal": records["signal"]})
"""


@pytest.fixture
def site(tmp_path, monkeypatch):
    root = tmp_path / "site"
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))
    return root


def test_broken_plugins_are_recorded_and_the_good_one_still_serves(site, settings, monkeypatch):
    make_distribution(site, "good-plugin", "good_plugin", GOOD)
    make_distribution(site, "broken-import", "broken_import", "import no_such_module_xyz\n")
    make_distribution(site, "too-new", "too_new", GOOD.replace("good/one", "new/one"),
                      requires="tracer>=99")
    make_distribution(site, "bad-domains", "bad_domains", """
        from tracer import hookimpl

        @hookimpl
        def tracer_domains():
            raise RuntimeError("database unavailable")
    """)
    monkeypatch.setattr(settings.plugins, "allow",
                        ["good-plugin", "broken-import", "too-new", "bad-domains"])
    host = PluginHost(settings)

    assert host.records["good-plugin"].status == "loaded"
    assert host.records["good-plugin"].domains == ["good/one"]
    assert host.records["good-plugin"].version == "1.2.3"
    broken = host.records["broken-import"]
    assert (broken.status, broken.distribution) == ("failed", "broken-import")
    assert "No module named 'no_such_module_xyz'" in broken.error
    too_new = host.records["too-new"]
    assert too_new.status == "failed"
    assert f"requires tracer>=99, this platform is tracer {__version__}" in too_new.error
    assert "new/one" not in host.domains
    bad = host.records["bad-domains"]
    assert bad.status == "failed" and "RuntimeError in tracer_domains" in bad.error
    assert sorted(host.domains) == ["good/one"]


def test_allow_list_limits_which_plugins_load(site, settings, monkeypatch):
    make_distribution(site, "good-plugin", "good_plugin", GOOD)
    monkeypatch.setattr(settings.plugins, "allow", ["something-else"])
    host = PluginHost(settings)
    assert host.records["good-plugin"].status == "skipped"
    assert "good/one" not in host.domains


def test_block_list_keeps_a_plugin_out(site, settings, monkeypatch):
    make_distribution(site, "good-plugin", "good_plugin", GOOD)
    monkeypatch.setattr(settings.plugins, "allow", ["good-plugin"])
    monkeypatch.setattr(settings.plugins, "block", ["good-plugin"])
    host = PluginHost(settings)
    assert host.records["good-plugin"].status == "skipped"
    assert host.domains == {}


def test_builtin_trainer_and_explainer_are_plugins(bare_host):
    assert {"tracer.builtin.trainer", "tracer.builtin.explainer"} <= set(bare_host.records)
    assert all(r.builtin for r in bare_host.records.values())


def test_hooks_are_called_per_domain_only_on_the_owner(bare_host):
    calls = []

    class Spy(ToyPlugin):
        @hookimpl
        def tracer_features(self, domain, records, state):
            calls.append((self.domain.name, domain.name))
            return super().tracer_features(domain, records, state)

    bare_host.register(ToyPlugin(toy_domain("toy/a")), name="a")
    for n in ("b", "c"):
        bare_host.register(Spy(toy_domain(f"toy/{n}")), name=n)
    from tracer.domain import FeatureState
    from tracer.features import compute_features

    records = toy_domain().load_reference().head(5)
    compute_features(bare_host, bare_host.domain("toy/b"), records, FeatureState(True))
    assert calls == [("toy/b", "toy/b")]


def test_add_on_plugin_without_domain_contributes_columns(bare_host):
    import pandas as pd
    from tracer.domain import FeatureState
    from tracer.features import compute_features

    class AddOn:
        @hookimpl
        def tracer_features(self, domain, records, state):
            return pd.DataFrame({"signal_squared": records["signal"] ** 2})

    bare_host.register(ToyPlugin(), name="toy")
    bare_host.register(AddOn(), name="addon")
    records = toy_domain().load_reference().head(4)
    frame = compute_features(bare_host, bare_host.domain("toy/signal"), records,
                             FeatureState(True))
    assert list(frame.columns) == ["signal_squared", "signal", "count", "noise"]


def test_a_hook_that_raises_is_pinned_on_its_plugin(bare_host):
    class Raising(ToyPlugin):
        @hookimpl
        def tracer_features(self, domain, records, state):
            raise KeyError("signal")

    bare_host.register(Raising(), name="raising")
    bare_host.register(ToyPlugin(toy_domain("toy/other")), name="other")
    from tracer.domain import FeatureState
    from tracer.features import compute_features

    records = toy_domain().load_reference().head(3)
    with pytest.raises(PluginError, match="plugin 'raising' raised KeyError in tracer_features"):
        compute_features(bare_host, bare_host.domain("toy/signal"), records, FeatureState(True))
    assert "KeyError in tracer_features" in bare_host.records["raising"].error
    # the other domain keeps working
    other = compute_features(bare_host, bare_host.domain("toy/other"), records, FeatureState(True))
    assert len(other) == 3


def test_two_plugins_claiming_one_domain_the_second_fails(bare_host):
    bare_host.register(ToyPlugin(), name="first")
    bare_host.register(ToyPlugin(), name="second")
    assert bare_host.owner("toy/signal") == "first"
    assert bare_host.records["second"].status == "failed"
    assert "already provided by plugin 'first'" in bare_host.records["second"].error


def test_unknown_domain_names_the_loaded_ones(bare_host):
    bare_host.register(ToyPlugin(), name="toy")
    with pytest.raises(UnknownDomainError, match=r"unknown domain 'nope/x' \(loaded domains: "
                                                 r"toy/signal\)"):
        bare_host.domain("nope/x")


def test_unregister_removes_plugin_and_its_domains(bare_host):
    bare_host.register(ToyPlugin(), name="toy")
    bare_host.unregister("toy")
    assert "toy/signal" not in bare_host.domains
    assert "toy" not in bare_host.records
