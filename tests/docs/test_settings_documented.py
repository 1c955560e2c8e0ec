"""docs/settings.md names every setting of every distribution, and nothing else, and lists
the old flat names the code warns about; a tier is a plain model, so unprefixed environment
variables never reach it."""

from __future__ import annotations

import re

from tracer.settings import Settings
from tracer.settings_renamed import CORE_RENAMED, env_name, variables_of
from tracer_registry.config import REGISTRY_RENAMED, RegistryConfig

from tests.docs.markdown import DOCS

ROW = re.compile(r"^\| `(TRACER_[A-Z0-9_]+)` \|", re.MULTILINE)


def documented() -> list[str]:
    return ROW.findall((DOCS / "settings.md").read_text())


def test_every_setting_is_documented_once():
    rows = documented()
    assert sorted(r for r in set(rows) if rows.count(r) > 1) == []
    fields = variables_of(Settings, "TRACER_") | variables_of(RegistryConfig, "TRACER_REGISTRY__")
    assert sorted(fields - set(rows)) == [], "undocumented settings"
    assert sorted(set(rows) - fields) == [], "documented settings that no field reads"


def test_sections_are_nested_names():
    assert "TRACER_RUNNER__MEMORY_BYTES" in variables_of(Settings, "TRACER_")
    assert "TRACER_TIERS" in variables_of(Settings, "TRACER_")  # a table, not a section


def test_the_upgrade_list_is_every_renamed_variable():
    text = (DOCS / "settings.md").read_text()
    listed = re.findall(r"^- `(TRACER_[A-Z0-9_]+)` → `(TRACER_[A-Z0-9_]+)`$",
                        text.split("## Upgrading from the flat names")[1], re.MULTILINE)
    renamed = {**CORE_RENAMED, **REGISTRY_RENAMED}
    assert sorted(listed) == sorted(("TRACER_" + old.upper(), env_name(new))
                                    for old, new in renamed.items())
    assert {new for _, new in listed} <= set(documented())


def test_the_default_tiers_on_the_page_are_the_defaults():
    text = (DOCS / "settings.md").read_text()
    for name, tier in Settings().tiers.items():
        assert f"{name} (${tier.monthly_price_cents // 100:,}, " \
               f"{tier.predictions_per_month:,}" in text


def test_an_unprefixed_tier_field_in_the_environment_changes_nothing(monkeypatch):
    before = {name: tier.model_dump() for name, tier in Settings().tiers.items()}
    for name, value in {"OVERAGE_ALLOWED": "false", "PREDICTIONS_PER_MONTH": "1",
                        "MONTHLY_PRICE_CENTS": "0", "CUSTOM_DOMAINS": "0",
                        "TRAINING_RUNS_PER_MONTH": "0"}.items():
        monkeypatch.setenv(name, value)
    after = Settings().tiers
    assert {name: tier.model_dump() for name, tier in after.items()} == before
    assert after["professional"].overage_allowed is True


def test_tiers_come_from_tracer_tiers(monkeypatch):
    monkeypatch.setenv("TRACER_TIERS", '{"solo": {"monthly_price_cents": 0, '
                       '"predictions_per_month": 5, "training_runs_per_month": 1, '
                       '"custom_domains": 0, "overage_allowed": false}}')
    tiers = Settings().tiers
    assert list(tiers) == ["solo"] and tiers["solo"].overage_allowed is False
