"""Quality on the registry's own evaluation set: outcomes stay with the validator, the
sandbox sees records only, and a model that does not hold up on them fails."""

from __future__ import annotations

import pandas as pd
import pytest
from tracer_registry.certify.evaluation import OUTCOME, load_sets, sets_dir, withhold
from tracer_registry.certify.validator import certify_wheel
from tracer_registry.certify.wheel import Wheel

from tests.certification.build import FIXTURES, build_wheel

SIGNAL = FIXTURES / "benign" / "src" / "certsample" / "signal.csv.gz"


def _registry_set(flip: bool) -> pd.DataFrame:
    frame = pd.read_csv(SIGNAL).tail(400).reset_index(drop=True)
    outcome = 1 - frame["y"] if flip else frame["y"]
    return frame.drop(columns=["y"]).assign(**{OUTCOME: outcome})


def test_the_sandbox_gets_the_records_without_their_outcomes(tmp_path, settings):
    sets_dir(settings).mkdir(parents=True)
    _registry_set(False).to_csv(sets_dir(settings) / "certsample__signal.csv", index=False)
    sets = load_sets(settings, ["certsample/signal", "certsample/other"])
    assert list(sets) == ["certsample/signal"]
    records, outcomes = withhold(sets)
    wheel = Wheel(build_wheel(FIXTURES / "benign", tmp_path / "dist"))
    wheel.evaluation_records = records
    site = wheel.extract_to(tmp_path / "sandbox" / "site")
    shown = pd.read_csv(site.parent / "registry-evaluation" / "certsample__signal.csv")
    assert list(shown.columns) == ["t", "x1", "x2", "x3"] and len(shown) == 400
    assert outcomes["certsample/signal"].tolist() == _registry_set(False)[OUTCOME].tolist()
    assert not (site / "registry-evaluation").exists()  # never among the wheel's files


@pytest.mark.parametrize("flip, status", [(False, "passed"), (True, "failed")])
def test_quality_is_measured_on_the_registry_set_too(tmp_path, flip, status):
    wheel = build_wheel(FIXTURES / "benign", tmp_path)
    report = certify_wheel(wheel, evaluation_sets={"certsample/signal": _registry_set(flip)})
    check = report.check("quality.registry-evaluation")
    measured = check.evidence["domains"]["certsample/signal"]
    assert (check.status, measured["metric"], measured["rows"]) == (status, "roc_auc", 400)
    assert report.check("quality.threshold").status == "passed"  # the publisher's part
    if flip:
        assert measured["value"] < 0.25
        assert "on the registry's 400 records misses the declared 0.75" in check.message
    else:
        assert measured["value"] >= 0.75


def test_without_a_registry_set_the_check_informs_and_does_not_block():
    from tracer_registry.certify import REGISTRY_POLICY
    from tracer_registry.certify.evaluation import registry_evaluation_check
    from tracer_registry.certify.report import Report

    check = registry_evaluation_check({"domains": {}}, REGISTRY_POLICY, {})
    assert (check.status, check.severity, check.blocking) == ("skipped", "warning", False)
    assert Report("p", "1", "w", "0" * 64, "v", "t", checks=[check]).passed
