"""docs/hooks.md has one section per hook, titled with exactly the hook's signature."""

from __future__ import annotations

import inspect
import re

import pytest
from tracer import hookspecs

from tests.docs.markdown import headings

SIGNATURE = re.compile(r"^(tracer_\w+)\((.*)\)$")


def spec_signatures() -> dict[str, str]:
    return {name: f"{name}({', '.join(inspect.signature(fn).parameters)})"
            for name, fn in vars(hookspecs).items()
            if name.startswith("tracer_") and callable(fn)}


def documented() -> dict[str, str]:
    found = {}
    for title in headings("hooks.md"):
        match = SIGNATURE.match(title)
        if match:
            assert match.group(1) not in found, f"{match.group(1)} is documented twice"
            found[match.group(1)] = title
    return found


def test_every_section_title_is_a_hook_signature():
    titles = headings("hooks.md")
    assert [t for t in titles if not SIGNATURE.match(t)] == []


def test_every_documented_hook_exists():
    assert sorted(set(documented()) - set(spec_signatures())) == []


@pytest.mark.parametrize("hook", sorted(spec_signatures()))
def test_hook_is_documented_with_its_exact_signature(hook):
    assert documented().get(hook) == spec_signatures()[hook]


def test_sections_follow_the_order_of_the_specs():
    assert list(documented()) == list(spec_signatures())
