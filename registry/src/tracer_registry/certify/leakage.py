"""Single-feature leakage: a feature that on its own tells the outcome is a label leak.

Inside the sandbox child (from ``conformance``): the whole reference data is split in
time order as training splits it, the features are fitted on the earlier part and
computed for the held-out latest part with the fitted state, and every feature column is
scored alone on the held-out part. A column whose own ROC-AUC (either direction) reaches
``LEAK_AUC`` or that separates the two outcomes perfectly is flagged: an honest model
built from such data would be a copy of the label, not a prediction. The held-out part
must hold at least ``MIN_PER_CLASS`` of each outcome to judge: on a small sample a strong
honest feature reaches 0.99 by chance (the first-party fraud plugin's ``V10`` does on
400 rows, and stays at 0.94 on its 17,270 held-out records).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tracer_registry.certify.policy import REGISTRY_POLICY

LEAK_AUC = REGISTRY_POLICY.leak_auc_bound
MIN_PER_CLASS = 10


def _auc(y: np.ndarray, score: np.ndarray) -> float:
    """ROC-AUC from ranks (ties share their mean rank)."""
    import pandas as pd

    ranks = pd.Series(score).rank(method="average").to_numpy()
    positives = y == 1
    n1, n0 = int(positives.sum()), int((~positives).sum())
    return float((ranks[positives].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def flagged_features(features: Any, labels: Any, bound: float = LEAK_AUC) -> list[dict]:
    """``[{feature, auc, separates}]`` for each column that leaks the label on its own."""
    y = np.asarray(labels, dtype=np.float64)
    if min(int((y == 1).sum()), int((y == 0).sum())) < MIN_PER_CLASS:
        return []  # too few outcomes of one kind to tell a leak from luck
    found = []
    for column in features.columns:
        values = features[column].to_numpy(dtype=np.float64)
        keep = ~np.isnan(values)
        v, t = values[keep], y[keep]
        if len(np.unique(t)) < 2 or len(np.unique(v)) < 2:
            continue
        auc = _auc(t, v)
        own = max(auc, 1.0 - auc)
        ones, zeros = v[t == 1], v[t == 0]
        separates = bool(ones.min() > zeros.max() or ones.max() < zeros.min())
        if own >= bound or separates:
            found.append({"feature": str(column), "auc": round(own, 4),
                          "separates": separates, "rows": int(keep.sum())})
    return found


def check_leakage(host: Any, domain: Any, records: Any = None, labels: Any = None,
                  eval_fraction: float | None = None) -> dict[str, Any]:
    """Raise ``ConformanceError`` naming each leaking feature; returns what was measured.

    ``records`` (default: the whole reference data) are in time order; the held-out part
    is the latest ``training.eval_fraction`` (the platform's setting, as training uses it)."""
    from tracer.domain import FeatureState
    from tracer.features import compute_features
    from tracer.records import validate_records
    from tracer.settings import get_settings
    from tracer.testing.checks import ConformanceError

    eval_fraction = eval_fraction or get_settings().training.eval_fraction
    if records is None:
        frame = domain.load_reference().sort_values(domain.order_by, kind="stable")
        records, labels = validate_records(domain, frame.reset_index(drop=True),
                                           require_label=True, require_order=True)

    n_eval = max(2, int(round(len(records) * eval_fraction)))
    train, held = records.iloc[:-n_eval], records.iloc[-n_eval:]
    y_held = np.asarray(labels)[-n_eval:]
    state = FeatureState(fitting=True)
    compute_features(host, domain, train.reset_index(drop=True), state)
    serving = FeatureState(fitting=False, values=state.values)
    features = compute_features(host, domain, held.reset_index(drop=True), serving)
    found = flagged_features(features, y_held)
    if found:
        worst = max(found, key=lambda f: f["auc"])
        raise ConformanceError(
            f"domain {domain.name}: {len(found)} feature(s) tell the outcome on their own on "
            f"the held-out {n_eval} records, first {worst['feature']!r} (ROC-AUC "
            f"{worst['auc']:.3f}{', separates the classes perfectly' if worst['separates'] else ''}"
            f", bound {LEAK_AUC}): the label leaks into the features; compute them only "
            "from what is known before the outcome")
    return {"held_out": n_eval, "columns": len(features.columns), "flagged": found}
