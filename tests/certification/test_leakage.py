"""A feature that tells the outcome on its own is flagged, on the held-out part only.

Runs the conformance kit's leakage check with a real plugin host and real features (the
plugins below are test code, trusted, so they load in this process); the sandbox runs the
same function for third-party code.
"""

from __future__ import annotations

import types

import numpy as np
import pandas as pd
import pytest
from pydantic import create_model
from tracer import Domain, hookimpl
from tracer.host import PluginHost
from tracer.records import validate_records
from tracer.testing.checks import ConformanceError
from tracer_registry.certify.leakage import check_leakage, flagged_features

Row = create_model("Row", x=(float, ...), after=(float, ...))


def _reference(n=600):
    rng = np.random.default_rng(7)
    x = rng.normal(size=n)
    y = (x + rng.normal(scale=0.8, size=n) > 0).astype(int)  # honest AUC near 0.89
    after = y * 3.0 + rng.normal(scale=0.1, size=n)  # known only once the outcome is
    return pd.DataFrame({"t": np.arange(n), "x": x, "after": after, "y": y})


def _plugin(name, columns):
    domain = Domain(name=f"leak/{name}", version="1.0.0", title=name, record=Row, label="y",
                    order_by="t", load_reference=_reference, primary_metric="roc_auc",
                    certification_threshold=0.6)

    @hookimpl
    def tracer_domains():
        return [domain]

    @hookimpl
    def tracer_features(domain, records, state):
        return pd.DataFrame({c: records[c] for c in columns})

    return domain, types.SimpleNamespace(tracer_domains=tracer_domains,
                                         tracer_features=tracer_features)


def _run(settings, name, columns):
    domain, module = _plugin(name, columns)
    host = PluginHost(settings, load_entrypoints=False, plugins=[(name, module)])
    records, labels = validate_records(domain, _reference(), require_label=True,
                                       require_order=True)
    return check_leakage(host, domain, records, labels, eval_fraction=0.2)


def test_a_feature_known_only_after_the_outcome_is_flagged(settings):
    with pytest.raises(ConformanceError) as flagged:
        _run(settings, "leaky", ["x", "after"])
    message = str(flagged.value)
    assert "feature(s) tell the outcome on their own on the held-out 120 records" in message
    assert "first 'after' (ROC-AUC 1.000, separates the classes perfectly" in message


def test_an_honest_feature_is_not_flagged(settings):
    measured = _run(settings, "honest", ["x"])
    assert measured == {"held_out": 120, "columns": 1, "flagged": []}


def test_too_few_outcomes_of_one_kind_are_not_judged():
    rng = np.random.default_rng(5)
    y = np.r_[np.zeros(200), np.ones(6)]
    lucky = pd.DataFrame({"strong": y * 2 + rng.normal(scale=0.3, size=206)})
    assert flagged_features(lucky, y) == []  # 6 positives: luck, not evidence
    y[:20] = 1
    lucky["strong"] = y * 2 + rng.normal(scale=0.3, size=206)
    assert [f["feature"] for f in flagged_features(lucky, y)] == ["strong"]


def test_the_first_party_fraud_plugin_is_not_flagged_on_its_whole_held_out_part(host):
    measured = check_leakage(host, host.domain("fraud/card"))
    assert measured["flagged"] == [] and measured["held_out"] == 17_270


def test_near_perfect_auc_without_separation_is_flagged_and_both_directions_count():
    rng = np.random.default_rng(3)
    y = np.repeat([0, 1], 200)
    close = pd.DataFrame({"down": -(y + rng.normal(scale=0.18, size=400)),
                          "noise": rng.normal(size=400)})
    found = flagged_features(close, y)
    assert [f["feature"] for f in found] == ["down"]
    assert found[0]["auc"] >= 0.99 and found[0]["separates"] is False
