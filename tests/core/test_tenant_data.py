"""The stated rule of a tenant's training data: order, evaluation window, weights, and which
evaluation rows a champion never trained on."""

from __future__ import annotations

import numpy as np
from tracer.settings import Settings
from tracer.tenant_data import MIN_OUTCOMES_WINDOW, _plan


def plan(reference: int, datasets: int, feedback: int, weight: float = 4.0):
    source = np.array(["reference"] * reference + ["datasets"] * datasets
                      + ["feedback"] * feedback, dtype=object)
    dataset_id = np.array([""] * reference + ["d1"] * datasets + [""] * feedback, dtype=object)
    reported = np.concatenate([np.full(reference + datasets, np.nan),
                               1000.0 + np.arange(feedback)])
    return _plan(Settings(training={"eval_fraction": 0.2}), source, dataset_id, reported, weight)


def test_the_window_is_the_newest_outcomes_and_never_reference_rows():
    p = plan(7903, 0, 600)
    assert p.evaluation_rows == 120
    assert p.by_part() == {"training": {"reference": 7903, "datasets": 0, "feedback": 480},
                           "evaluation": {"reference": 0, "datasets": 0, "feedback": 120}}
    assert p.weight is not None and set(p.weight[:7903]) == {1.0} and set(p.weight[7903:]) == {4.0}
    few = plan(7903, 300, MIN_OUTCOMES_WINDOW - 1)
    assert few.evaluation_rows == round(0.2 * (300 + MIN_OUTCOMES_WINDOW - 1))
    assert few.by_part()["evaluation"]["reference"] == 0
    only_reference = plan(1000, 0, 0)
    assert only_reference.evaluation_rows == 200 and only_reference.weight is None
    own_only = plan(0, 300, 100)  # no reference: every row is the tenant's, no weights
    assert own_only.weight is None and own_only.evaluation_rows == 20


def test_unseen_rows_follow_what_the_champion_trained_on():
    old = plan(100, 50, 60)
    info = {"trained_on": old.trained_on()}
    assert info["trained_on"] == {"datasets": ["d1"], "feedback_through": 1059.0}
    new = plan(100, 50, 100).tail(40)  # outcomes 1060.. are new to that champion
    fallback = np.zeros(40, dtype=bool)
    assert new.unseen_by(info, fallback).tolist() == [True] * 40
    mixed = plan(100, 50, 80).tail(40)  # outcomes 1040..1079: the first 20 were seen
    assert mixed.unseen_by(info, fallback).tolist() == [False] * 20 + [True] * 20
    # a champion trained outside the loop (no "trained_on") never saw an outcome
    assert mixed.unseen_by({}, fallback).all()
