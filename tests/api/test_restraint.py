"""Restraint on automatic retraining, rule by rule, without training anything: a pending
challenger, the tier's cooldown (a policy may only lengthen it), the tier's monthly cap."""

from __future__ import annotations

from datetime import timedelta

from tests.api.conftest import LOL


def _policy(s, tenant: str, **fields):
    from tracer.models import RetrainingPolicy

    row = RetrainingPolicy(tenant_id=tenant, domain=LOL, enabled=True, drift_window=500,
                           use_reference=True, **fields)
    s.add(row)
    s.flush()
    return row


def _started(s, tenant: str, hours_ago: float) -> None:
    from tracer.db import utcnow
    from tracer.retraining import record_decision

    row = record_decision(s, tenant, LOL, "drift", "started", "started", {})
    row.created_at = utcnow() - timedelta(hours=hours_ago)


def test_cooldown_cap_and_pending_job_hold_automatic_retraining_back(store, make_caller):
    from tracer.api.restraint import _held_back
    from tracer.db import session
    from tracer.jobs import create_job

    settings = store.settings
    make_caller("acme", tier="starter")  # cooldown 72 h, at most 2 automatic a month
    with session(settings) as s:
        policy = _policy(s, "acme")
        assert _held_back(s, settings, policy, "acme") is None
        _started(s, "acme", hours_ago=1)
        assert _held_back(s, settings, policy, "acme").startswith("cooldown")
        settings.tiers["starter"].retraining_cooldown_hours = 0.5
        assert _held_back(s, settings, policy, "acme") is None
        policy.cooldown_hours = 2  # longer than the tier's: it applies
        assert _held_back(s, settings, policy, "acme").startswith("cooldown")
        policy.cooldown_hours = 0.1  # shorter than the tier's: the tier's applies
        assert _held_back(s, settings, policy, "acme") is None
        _started(s, "acme", hours_ago=2)
        assert "at most 2 automatic challengers a month" in _held_back(
            s, settings, policy, "acme")
        settings.tiers["starter"].automatic_retraining_per_month = 3
        assert _held_back(s, settings, policy, "acme") is None
        job = create_job(s, "acme", LOL, {}, "drift")
        assert _held_back(s, settings, policy, "acme") == (
            f"a challenger is pending (job {job.id} is queued)")
