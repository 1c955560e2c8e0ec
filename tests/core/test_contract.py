"""The plugin contract is pinned: changing a hook's arguments, or adding or removing a
hook, fails here first (and in tests/docs, which holds docs/hooks.md to the same specs).

A change here is a breaking change for every published plugin: bump the compatible
``tracer`` range in the template and say so in the changelog.
"""

from __future__ import annotations

import inspect

import pytest
from tracer import hookspecs

PINNED = {
    "tracer_domains": (),
    "tracer_features": ("domain", "records", "state"),
    "tracer_train": ("domain", "features", "labels", "weights", "params"),
    "tracer_explain": ("domain", "prediction"),
    "tracer_cli": ("cli",),
    "tracer_routes": ("app",),
    "tracer_migrations": (),
    "tracer_demo": ("settings", "console"),
    "tracer_usage": ("event",),
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
