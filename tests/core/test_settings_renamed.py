"""Settings in sections: nested variables, whole sections as JSON, a misspelt field refused,
and an old flat name (an operator's env file from before the sections) logged with its new
name instead of being dropped in silence."""

from __future__ import annotations

import logging

import pydantic
import pytest
from tracer import settings_renamed
from tracer.settings import Settings
from tracer_registry.config import registry_config


@pytest.fixture(autouse=True)
def fresh_warnings(monkeypatch):
    monkeypatch.setattr(settings_renamed, "_warned", set())


def test_a_nested_variable_sets_its_section_field(monkeypatch):
    monkeypatch.setenv("TRACER_RUNNER__MEMORY_BYTES", str(512 << 20))
    monkeypatch.setenv("TRACER_API__MAX_BATCH_ROWS", "7")
    monkeypatch.setenv("TRACER_TRAINING__BACKEND", "dask")
    monkeypatch.setenv("TRACER_BILLING__OVERAGE_PRICE_MICROS", "1")
    s = Settings()
    assert (s.runner.memory_bytes, s.api.max_batch_rows) == (512 << 20, 7)
    assert (s.training.backend, s.billing.overage_price_micros) == ("dask", 1)
    assert s.runner.max == 8  # the rest of the section keeps its defaults


def test_lists_take_commas_or_json(monkeypatch):
    monkeypatch.setenv("TRACER_PLUGINS__ALLOW", "esports-lol, fraud-card")
    monkeypatch.setenv("TRACER_PLUGINS__BLOCK", '["bad-plugin"]')
    s = Settings()
    assert s.plugins.allow == ["esports-lol", "fraud-card"]
    assert s.plugins.block == ["bad-plugin"]


def test_a_section_as_json_and_a_field_variable_wins_over_it(monkeypatch):
    monkeypatch.setenv("TRACER_RUNNER", '{"max": 4, "threads": 3}')
    monkeypatch.setenv("TRACER_RUNNER__MAX", "6")
    s = Settings()
    assert (s.runner.max, s.runner.threads) == (6, 3)


def test_a_misspelt_field_in_a_section_stops_the_start(monkeypatch):
    monkeypatch.setenv("TRACER_RUNNER__MEMROY_BYTES", "1")
    with pytest.raises(pydantic.ValidationError, match="runner.memroy_bytes"):
        Settings()


def test_an_out_of_range_value_names_its_dotted_field(monkeypatch):
    monkeypatch.setenv("TRACER_TRAINING__EVAL_FRACTION", "0.7")
    with pytest.raises(pydantic.ValidationError, match="training.eval_fraction"):
        Settings()


def test_other_distributions_sections_are_left_alone(monkeypatch):
    monkeypatch.setenv("TRACER_REGISTRY__NAME_POLICY", "hold")
    monkeypatch.setenv("TRACER_LEDGER__ANYTHING", "1")
    Settings()
    assert registry_config().name_policy == "hold"


def test_an_old_flat_name_is_logged_with_its_new_name_and_not_read(monkeypatch, caplog):
    monkeypatch.setenv("TRACER_RUNNER_MEMORY_BYTES", str(512 << 20))
    monkeypatch.setenv("TRACER_MAX_BATCH_ROWS", "7")
    with caplog.at_level(logging.WARNING, logger="tracer.settings"):
        s = Settings()
        Settings()  # once a process, not at every read
    assert s.runner.memory_bytes == 2 << 30 and s.api.max_batch_rows == 1_000
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [
        "TRACER_MAX_BATCH_ROWS is no longer read: set TRACER_API__MAX_BATCH_ROWS instead",
        "TRACER_RUNNER_MEMORY_BYTES is no longer read: set TRACER_RUNNER__MEMORY_BYTES "
        "instead"]


def test_an_old_registry_name_is_logged_too(monkeypatch, caplog):
    monkeypatch.setenv("TRACER_REGISTRY_NAME_POLICY", "hold")
    with caplog.at_level(logging.WARNING, logger="tracer.settings"):
        assert registry_config().name_policy == "refuse"
    assert [r.getMessage() for r in caplog.records] == [
        "TRACER_REGISTRY_NAME_POLICY is no longer read: set TRACER_REGISTRY__NAME_POLICY "
        "instead"]


def test_every_old_name_maps_to_a_field_that_exists():
    s = Settings()
    for new in settings_renamed.CORE_RENAMED.values():
        section, field = new.split(".")
        assert field in type(getattr(s, section)).model_fields, new
    assert not set(settings_renamed.CORE_RENAMED) & set(Settings.model_fields)
