"""Drift of a tenant's served records against a model version's training data (the
champion's by default); ``tracer.api.restraint`` turns it into challengers, with restraint."""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import select

from tracer.db import session
from tracer.domain import Domain, FeatureState
from tracer.drift import get_profile, psi, save_profile
from tracer.features import compute_features
from tracer.lifecycle import model_name_for
from tracer.models import StoredPrediction
from tracer.records import validate_records
from tracer.runner import tenant_scope

#: Fewer served records than this say nothing about drift (one record fills one bin).
MIN_DRIFT_RECORDS = 50


def drift_report(platform: Any, domain: Domain, tenant_id: str, window: int,
                 version: int | None = None) -> dict[str, Any]:
    """PSI per feature of the latest ``window`` served records: by default every version's
    records against the current champion's training profile (what the retraining trigger
    reads); with ``version``, the records that version served against its own profile."""
    if version is None:
        scorer = platform.champions.scorer(domain, tenant_id)
        name, version, model, served_by = scorer.name, scorer.version, scorer.model, None
    else:
        name = model_name_for(domain, tenant_id)
        platform.store.version(name, version)  # a version never registered: 404, not 500
        model, served_by = platform.store.load(name, version), version
    settings = platform.settings
    with session(settings) as s:
        stored = get_profile(s, name, version)
        features_profile = stored.features if stored else None
        query = select(StoredPrediction.record).where(
            StoredPrediction.tenant_id == tenant_id, StoredPrediction.domain == domain.name,
            StoredPrediction.model_name == name)
        if served_by is not None:
            query = query.where(StoredPrediction.model_version == served_by)
        recent = [r for (r,) in s.execute(
            query.order_by(StoredPrediction.created_at.desc()).limit(window))]
    state = FeatureState(False, model.state.values)
    if features_profile is None:
        # a champion trained outside a job (CLI, demo): profile its reference data
        reference = domain.load_reference().sort_values(domain.order_by, kind="stable")
        # the champion was refit on every reference record
        records, _ = validate_records(domain, reference)
        training = compute_features(platform.host, domain, records, state)  # reference rows
        with session(settings) as s:
            save_profile(s, name, version, training)
            profile = get_profile(s, name, version)
            assert profile is not None  # saved in this session, just above
            features_profile = profile.features
    out: dict[str, Any] = {"model": {"name": name, "version": version},
                           "served_by": "every version" if served_by is None
                           else f"version {served_by}",
                           "window": window, "records": len(recent), "features": {}}
    if not recent:
        return {**out, "max_psi": None, "status": "no predictions yet"}
    records, _ = validate_records(domain, pd.DataFrame.from_records(recent))
    with tenant_scope(tenant_id):  # the tenant's own records: the tenant's runner
        values = psi(features_profile, compute_features(platform.host, domain, records, state))
    worst = max(values.values()) if values else 0.0
    status = "stable" if worst < 0.1 else "moderate shift" if worst < 0.25 else "shift"
    if len(recent) < MIN_DRIFT_RECORDS:
        status = f"too few records to judge (fewer than {MIN_DRIFT_RECORDS})"
    ranked = dict(sorted(values.items(), key=lambda kv: -kv[1]))
    return {**out, "features": ranked, "max_psi": worst, "status": status}
