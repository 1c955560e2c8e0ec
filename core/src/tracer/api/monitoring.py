"""Drift of a tenant's served records against its champion's training data, and the
retraining policy that turns outcomes or drift into a challenger job."""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from tracer.db import session
from tracer.domain import Domain, FeatureState
from tracer.drift import get_profile, psi, save_profile
from tracer.features import compute_features
from tracer.feedback import ReportedOutcome, StoredPrediction, record_outcomes
from tracer.jobs import active_job, create_job, launch
from tracer.records import validate_records
from tracer.retraining import RetrainingPolicy, outcomes_trigger, record_decision
from tracer.runner import tenant_scope

#: Fewer served records than this say nothing about drift (one record fills one bin).
MIN_DRIFT_RECORDS = 50


def drift_report(platform: Any, domain: Domain, tenant_id: str, window: int) -> dict[str, Any]:
    scorer = platform.champions.scorer(domain, tenant_id)
    settings = platform.settings
    with session(settings) as s:
        stored = get_profile(s, scorer.name, scorer.version)
        features_profile = stored.features if stored else None
        recent = [r for (r,) in s.execute(
            select(StoredPrediction.record).where(
                StoredPrediction.tenant_id == tenant_id,
                StoredPrediction.domain == domain.name,
                StoredPrediction.model_name == scorer.name).order_by(
                StoredPrediction.created_at.desc()).limit(window))]
    state = FeatureState(False, scorer.model.state.values)
    if features_profile is None:
        # a champion trained outside a job (CLI, demo): profile its reference data
        reference = domain.load_reference().sort_values(domain.order_by, kind="stable")
        # the champion was refit on every reference record
        records, _ = validate_records(domain, reference)
        training = compute_features(platform.host, domain, records, state)  # reference rows
        with session(settings) as s:
            save_profile(s, scorer.name, scorer.version, training)
            features_profile = get_profile(s, scorer.name, scorer.version).features
    out: dict[str, Any] = {"model": {"name": scorer.name, "version": scorer.version},
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


def maybe_retrain(platform: Any, domain: Domain, tenant_id: str) -> str | None:
    """Apply the tenant's policy; starts a challenger job and returns its id, or None."""
    settings = platform.settings
    with session(settings) as s:
        policy = s.get(RetrainingPolicy, (tenant_id, domain.name))
        if policy is None or not policy.enabled or active_job(s, tenant_id, domain.name):
            return None
        numbers, trigger = outcomes_trigger(s, policy), "outcomes"
        threshold, window, use_reference = (policy.drift_threshold, policy.drift_window,
                                            policy.use_reference)
    if numbers is None and threshold:
        report = drift_report(platform, domain, tenant_id, window)
        if (report["records"] >= MIN_DRIFT_RECORDS and report["max_psi"] is not None
                and report["max_psi"] >= threshold):
            feature = next(iter(report["features"]))
            numbers, trigger = {"max_psi": report["max_psi"], "feature": feature,
                                "drift_threshold": threshold,
                                "records": report["records"]}, "drift"
    if numbers is None:
        return None
    with session(settings) as s:
        if active_job(s, tenant_id, domain.name):
            return None
        job = create_job(s, tenant_id, domain.name,
                         {"use_reference": use_reference, "include_feedback": True}, trigger)
        reason = (f"{numbers['new_outcomes']} new outcomes >= {numbers['min_new_outcomes']}"
                  if trigger == "outcomes" else
                  f"PSI of {numbers['feature']} {numbers['max_psi']:.3f} >= "
                  f"{numbers['drift_threshold']}")
        record_decision(s, tenant_id, domain.name, trigger, "started",
                        f"started challenger job {job.id}: {reason}", numbers, job.id)
        job_id = job.id
    launch(settings, job_id)
    return job_id


def accept_outcomes(s: Session, tenant_id: str, reported: list[ReportedOutcome]
                    ) -> tuple[dict[str, Any], list[str]]:
    """Store reported outcomes (all or nothing): the answer, and the domains they are of
    (for :func:`retrain_after_outcomes`, once committed). REST and MCP both call it."""
    created, repeats = record_outcomes(s, tenant_id, reported)
    return ({"recorded": len(created), "repeats": repeats,
             "outcome_ids": [o.id for o in created]}, sorted({o.domain for o in created}))


def retrain_after_outcomes(platform: Any, tenant_id: str, domains: list[str]) -> list[str]:
    """Each domain's retraining policy, applied after new outcomes: the jobs started."""
    return [job for name in domains if name in platform.host.domains
            and (job := maybe_retrain(platform, platform.host.domain(name), tenant_id))]
