"""When an automatic challenger may start: retraining with restraint.

A report of outcomes applies the tenant's retraining policy for each domain it touched.
The first of these that holds says no, and the answer says which:

1. the policy is off, or a challenger of this domain is pending (queued or running);
2. the **cooldown**: fewer hours than the tier's ``retraining_cooldown_hours`` (or the
   policy's ``cooldown_hours`` when longer) since the last automatic challenger started;
3. the tier's ``automatic_retraining_per_month`` were started already this month;
4. the tier's training runs of the month are used up (a tier without overage).

Then a trigger must fire:

- **outcomes**: at least ``min_new_outcomes`` outcomes reported since the last automatic
  start;
- **drift**: the largest PSI of the recent predictions against the **current champion's**
  training profile reaches ``drift_threshold``, and no challenger was started for this
  drift episode yet. An episode begins when drift first reaches the threshold and ends
  when a later report measures it below; one episode starts at most one challenger, even
  when that challenger is promoted and the drift persists against the new champion.

A started challenger's decision says why it ran; its final decision repeats it. Every
run is metered once, when it succeeds (usage event ``training_run:<job id>``); a crashed
run is not metered, and a refused start neither.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from tracer.api.metering import tenant_tier
from tracer.api.monitoring import MIN_DRIFT_RECORDS, drift_report
from tracer.db import session, utcnow
from tracer.errors import QuotaError
from tracer.feedback import ReportedOutcome, record_outcomes
from tracer.jobs import active_job, create_job, launch
from tracer.models import RetrainingPolicy
from tracer.quota import check_training_runs, month_start
from tracer.retraining import automatic_starts, last_start, outcomes_trigger, record_decision

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from tracer.domain import Domain


@dataclass
class Outcome:
    """What applying the policy did: a started job, or why none started."""

    domain: str
    job_id: str | None = None
    trigger: str | None = None
    reason: str = ""
    numbers: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"domain": self.domain, "job_id": self.job_id, "trigger": self.trigger,
                "reason": self.reason}


def _held_back(s: Any, settings: Any, policy: RetrainingPolicy, tenant_id: str) -> str | None:
    """Why no automatic challenger may start now, or None."""
    running = active_job(s, tenant_id, policy.domain)
    if running is not None:
        return f"a challenger is pending (job {running.id} is {running.status})"
    tenant, tier = tenant_tier(s, settings, tenant_id)
    hours = max(tier.retraining_cooldown_hours, policy.cooldown_hours or 0.0)
    last = last_start(s, tenant_id, policy.domain)
    now = utcnow()
    if last is not None:
        last = last if last.tzinfo else last.replace(tzinfo=now.tzinfo)
        if now - last < timedelta(hours=hours):
            return (f"cooldown: the last automatic challenger started at {last.isoformat()}; "
                    f"the next may start {hours:g} h later, at "
                    f"{(last + timedelta(hours=hours)).isoformat()}")
    cap = tier.automatic_retraining_per_month
    if automatic_starts(s, tenant_id, month_start(now)) >= cap:
        return f"the {tenant.tier} tier starts at most {cap} automatic challengers a month"
    try:
        check_training_runs(s, tenant_id, tenant.tier, tier)
    except QuotaError as exc:
        return str(exc)
    return None


def _drift(platform: Any, domain: Domain, tenant_id: str, policy: RetrainingPolicy
           ) -> tuple[dict[str, Any] | None, str]:
    """(numbers if drift starts a challenger, else None; what was found)."""
    report = drift_report(platform, domain, tenant_id, policy.drift_window)
    if report["records"] < MIN_DRIFT_RECORDS or report["max_psi"] is None:
        return None, f"drift not judged: {report['records']} recent records"
    feature = next(iter(report["features"]))
    numbers = {"max_psi": report["max_psi"], "feature": feature,
               "drift_threshold": policy.drift_threshold, "records": report["records"],
               "champion_version": report["model"]["version"]}
    with session(platform.settings) as s:
        row = s.get(RetrainingPolicy, (tenant_id, domain.name))
        if row is None:  # pragma: no cover - the policy was read above; deleted meanwhile
            return None, "no retraining policy"
        if report["max_psi"] < policy.drift_threshold:
            row.drift_episode = None  # the episode (if any) is over
            return None, f"no drift: largest PSI {report['max_psi']:.3f} ({feature})"
        if row.drift_episode is not None:
            return None, (f"drift episode {row.drift_episode} already has its challenger "
                          f"(PSI of {feature} {report['max_psi']:.3f})")
    return numbers, ""


def maybe_retrain(platform: Any, domain: Domain, tenant_id: str) -> Outcome | None:
    """Apply the tenant's policy; starts at most one challenger job. None: no policy."""
    settings = platform.settings
    with session(settings) as s:
        policy = s.get(RetrainingPolicy, (tenant_id, domain.name))
        if policy is None or not policy.enabled:
            return None
        held = _held_back(s, settings, policy, tenant_id)
        if held is not None:
            return Outcome(domain.name, reason=held)
        numbers, trigger = outcomes_trigger(s, policy), "outcomes"
        s.expunge(policy)
    found = ""
    if numbers is None and policy.drift_threshold:
        numbers, found = _drift(platform, domain, tenant_id, policy)
        trigger = "drift"
    if numbers is None:
        return Outcome(domain.name, reason=found or "no trigger fired")
    reason = (f"{numbers['new_outcomes']} new outcomes >= {numbers['min_new_outcomes']}"
              if trigger == "outcomes" else
              f"PSI of {numbers['feature']} {numbers['max_psi']:.3f} >= "
              f"{numbers['drift_threshold']} against champion v{numbers['champion_version']}")
    with session(settings) as s:
        if active_job(s, tenant_id, domain.name):
            return Outcome(domain.name, reason="a challenger is pending")
        weight = policy.tenant_weight or settings.training.tenant_row_weight
        job = create_job(s, tenant_id, domain.name, {
            "use_reference": policy.use_reference, "include_feedback": True,
            "tenant_weight": weight, "why": f"automatic ({trigger}): {reason}"}, trigger)
        if trigger == "drift":
            stored = s.get(RetrainingPolicy, (tenant_id, domain.name))
            if stored is not None:
                episode = f"{utcnow():%Y-%m-%dT%H:%M:%SZ} {numbers['feature']}"[:64]
                stored.drift_episode = numbers["episode"] = episode
        record_decision(s, tenant_id, domain.name, trigger, "started",
                        f"started challenger job {job.id}: {reason}", numbers, job.id)
        job_id = job.id
    launch(settings, job_id)
    return Outcome(domain.name, job_id, trigger, reason, numbers)


def accept_outcomes(s: Session, tenant_id: str, reported: list[ReportedOutcome]
                    ) -> tuple[dict[str, Any], list[str]]:
    """Store reported outcomes (all or nothing): the answer, and the domains they are of
    (for :func:`retrain_after_outcomes`, once committed). REST and MCP both call it."""
    created, repeats = record_outcomes(s, tenant_id, reported)
    return ({"recorded": len(created), "repeats": repeats,
             "outcome_ids": [o.id for o in created]}, sorted({o.domain for o in created}))


def retrain_after_outcomes(platform: Any, tenant_id: str, domains: list[str]
                           ) -> dict[str, list[Any]]:
    """Each domain's retraining policy, applied after new outcomes: the jobs started and,
    per domain, what started or why nothing did."""
    applied = [done for name in domains if name in platform.host.domains
               and (done := maybe_retrain(platform, platform.host.domain(name), tenant_id))]
    return {"retraining_jobs": [a.job_id for a in applied if a.job_id],
            "retraining": [a.as_dict() for a in applied]}
