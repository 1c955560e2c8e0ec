"""The plugin contract is pinned: changing a hook's arguments, or adding or removing a
hook, fails here first (and in tests/docs, which holds docs/hooks.md to the same specs).

A change here is a breaking change for every published plugin: bump the compatible
``tracer`` range in the template and say so in the changelog.
"""

from __future__ import annotations

import inspect

import pandas as pd
import pytest
from tracer import Explanation, hookimpl, hookspecs
from tracer.domain import FeatureState, Prediction
from tracer.host import PluginHost

from tests.core.toy import ToyPlugin, make_frame, toy_domain

PINNED = {
    "tracer_domains": (),
    "tracer_features": ("domain", "records", "state"),
    "tracer_train": ("domain", "features", "labels", "weights", "params"),
    "tracer_explain": ("domain", "prediction"),
    "tracer_cli": ("cli",),
    "tracer_routes": ("app",),
    "tracer_migrations": (),
    "tracer_demo": ("settings", "console"),
    # added with the candidate leaderboard (an addition: existing plugins are unaffected)
    "tracer_candidates": ("domain",),
    # added with the serving fast path (optional: plugins without it use tracer_features)
    "tracer_features_array": ("domain", "columns", "values", "state"),
}
FIRST_RESULT = {"tracer_train", "tracer_explain"}


def specs() -> dict[str, object]:
    return {name: fn for name, fn in vars(hookspecs).items()
            if name.startswith("tracer_") and callable(fn)}


def test_every_hookspec_is_pinned():
    assert sorted(specs()) == sorted(PINNED)


@pytest.mark.parametrize("hook", sorted(PINNED))
def test_hook_argument_names_are_pinned(hook):
    spec = specs()[hook]
    assert tuple(inspect.signature(spec).parameters) == PINNED[hook]


@pytest.mark.parametrize("hook", sorted(PINNED))
def test_hook_firstresult_is_pinned(hook):
    marker = getattr(specs()[hook], f"{hookspecs.PROJECT}_spec")
    assert marker["firstresult"] is (hook in FIRST_RESULT)


@pytest.mark.parametrize("hook", sorted(PINNED))
def test_hook_has_a_docstring_and_typed_arguments(hook):
    spec = specs()[hook]
    assert len(inspect.getdoc(spec) or "") > 20
    unannotated = [p.name for p in inspect.signature(spec).parameters.values()
                   if p.annotation is inspect.Parameter.empty]
    assert unannotated == []


# -- how the host honours the contract --------------------------------------------------

class FewerArguments:
    """A plugin written against an older, smaller spec: each implementation names only
    some of the spec's arguments, as pluggy allows."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, int]] = []

    @hookimpl
    def tracer_domains(self):
        return [toy_domain("few/args")]

    @hookimpl
    def tracer_features(self, records):  # no domain, no state
        self.seen.append(("features", len(records)))
        return pd.DataFrame({"signal": records["signal"]})

    @hookimpl
    def tracer_explain(self, prediction):  # no domain
        self.seen.append(("explain", 1))
        return Explanation(factors=[], summary=f"{prediction.probability:.0%}")


def test_an_implementation_with_fewer_arguments_than_the_spec_is_called(settings):
    plugin = FewerArguments()
    host = PluginHost(settings, load_entrypoints=False, plugins=[("few", plugin)])
    assert host.records["few"].status == "loaded"
    domain = host.domain("few/args")
    frame = make_frame(12)
    [(name, features)] = host.call("tracer_features", domain, records=frame,
                                   state=FeatureState(fitting=True))
    assert name == "few" and list(features.columns) == ["signal"] and len(features) == 12
    prediction = Prediction(record={}, features={}, contributions={}, bias=0.0,
                            probability=0.25, label=0, threshold=0.5, base_rate=0.5,
                            state=FeatureState())
    assert host.call_first("tracer_explain", domain, prediction=prediction).summary == "25%"
    assert plugin.seen == [("features", 12), ("explain", 1)]


class Misspelt:
    @hookimpl
    def tracer_domains(self):
        return [toy_domain("misspelt/one")]

    @hookimpl
    def tracer_featurs(self, domain, records, state):  # the typo pluggy's check_pending finds
        return pd.DataFrame({"signal": records["signal"]})


def test_a_misspelt_hook_fails_the_plugin_with_a_hint_naming_plugin_and_hook(settings):
    host = PluginHost(settings, load_entrypoints=False,
                      plugins=[("misspelt", Misspelt()), ("toy", ToyPlugin())])
    record = host.records["misspelt"]
    assert record.status == "failed"
    assert ("plugin 'misspelt' implements tracer_featurs, which is not a Tracer hook; did "
            "you mean tracer_features?") in record.error
    # failed means unregistered: none of its hooks runs, its domain is not served
    assert host.pm.get_plugin("misspelt") is None
    assert "misspelt/one" not in host.domains and record.domains == []
    host.pm.check_pending()  # nothing left that no spec knows
    assert host.records["toy"].status == "loaded" and "toy/signal" in host.domains


def test_a_plugin_failing_in_a_platform_hook_is_unregistered(settings):
    class BrokenRoutes(ToyPlugin):
        @hookimpl
        def tracer_routes(self, app):
            raise RuntimeError("route table full")

    host = PluginHost(settings, load_entrypoints=False, plugins=[("broken", BrokenRoutes())])
    assert "toy/signal" in host.domains
    host.broadcast("tracer_routes", app=None)
    assert host.records["broken"].status == "failed"
    assert "RuntimeError in tracer_routes: route table full" in host.records["broken"].error
    assert host.pm.get_plugin("broken") is None and "toy/signal" not in host.domains
