"""Every table of core, in one place: the platform database's schema as SQLAlchemy models.

The modules keep the logic (``tenancy`` issues keys, ``feedback`` records outcomes,
``jobs`` runs training...) and import their tables from here, so a newcomer reads the whole
schema in one file and no module has to import another only to register a table a foreign
key names.

``Base`` lives here, not in ``tracer.db``: its metadata *is* this schema (the tables here and
the registry's, which subclass it), and ``tracer.db`` is about engines, sessions and
migrations, which need no table. Importing this module maps every core table, which is what
a plugin's tables that reference ``tenants`` need; the Alembic migrations
(``tracer/migrations``) create exactly these tables and columns.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from tracer.db import utcnow

#: the longest ``Idempotency-Key`` a client may send (the column's width)
MAX_KEY_LENGTH = 200


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, datetime: DateTime(timezone=True)}


# -- tenants and their API keys (tracer.tenancy) -------------------------------------------


class Tenant(Base):
    __tablename__ = "tenants"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # slug, e.g. "acme"
    name: Mapped[str] = mapped_column(String(200))
    tier: Mapped[str] = mapped_column(String(32))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    tenant_id: Mapped[str | None] = mapped_column(ForeignKey("tenants.id"), index=True)
    subject: Mapped[str] = mapped_column(String(200))  # tenant id, publisher id, person
    name: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]


# -- metering and limits: usage events, month allowances, call windows, idempotency keys ------
# (tracer.usage, tracer.quota, tracer.ratelimit, tracer.api.idempotency)


class UsageEvent(Base):
    __tablename__ = "usage_events"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)  # producer-made
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    domain: Mapped[str | None] = mapped_column(String(128))
    quantity: Mapped[int] = mapped_column(BigInteger, default=1)  # 64-bit everywhere
    occurred_at: Mapped[datetime] = mapped_column(index=True)  # effective time
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    payload_hash: Mapped[str] = mapped_column(String(64))
    attrs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class PredictionCounter(Base):
    __tablename__ = "prediction_counters"

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    period: Mapped[str] = mapped_column(String(7), primary_key=True)  # "2026-11"
    rows: Mapped[int] = mapped_column(Integer, default=0)


class CallWindow(Base):
    __tablename__ = "call_windows"

    key_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    window: Mapped[int] = mapped_column(BigInteger, primary_key=True)  # epoch // 60
    calls: Mapped[int] = mapped_column(Integer, default=0)


class IdempotentRequest(Base):
    __tablename__ = "idempotency_keys"

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH), primary_key=True)
    route: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# -- answered predictions and the outcomes reported for them (tracer.feedback) -------------


class StoredPrediction(Base):
    __tablename__ = "predictions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    domain: Mapped[str] = mapped_column(String(128))
    model_name: Mapped[str] = mapped_column(String(256))
    model_version: Mapped[int] = mapped_column(Integer)
    probability: Mapped[float] = mapped_column(Float)
    label: Mapped[int] = mapped_column(Integer)
    threshold: Mapped[float] = mapped_column(Float)
    record: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class Outcome(Base):
    __tablename__ = "outcomes"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    prediction_id: Mapped[str] = mapped_column(ForeignKey("predictions.id"), unique=True)
    domain: Mapped[str] = mapped_column(String(128))
    outcome: Mapped[int] = mapped_column(Integer)
    observed_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    corrected_at: Mapped[datetime | None]

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "prediction_id": self.prediction_id, "domain": self.domain,
                "outcome": self.outcome, "observed_at": self.observed_at,
                "created_at": self.created_at, "corrected_at": self.corrected_at}


class OutcomeCorrection(Base):
    """One change of a reported outcome: nothing reported is ever lost."""

    __tablename__ = "outcome_corrections"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    outcome_id: Mapped[str] = mapped_column(ForeignKey("outcomes.id"), index=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    old_outcome: Mapped[int] = mapped_column(Integer)
    new_outcome: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(500))
    key_id: Mapped[str | None] = mapped_column(String(36))
    subject: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "old_outcome": self.old_outcome,
                "new_outcome": self.new_outcome, "reason": self.reason,
                "by": {"subject": self.subject, "key_id": self.key_id},
                "created_at": self.created_at}


# -- what a tenant brings and installs (tracer.datasets, tracer.installs) ------------------


class Dataset(Base):
    __tablename__ = "datasets"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    domain: Mapped[str] = mapped_column(String(128), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    rows: Mapped[int] = mapped_column(Integer)
    positives: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "domain": self.domain, "filename": self.filename,
                "rows": self.rows, "positives": self.positives, "sha256": self.sha256,
                "created_at": self.created_at}


class DomainInstall(Base):
    __tablename__ = "domain_installs"
    __table_args__ = (UniqueConstraint("tenant_id", "domain"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    domain: Mapped[str] = mapped_column(String(128))
    domain_version: Mapped[str] = mapped_column(String(64))
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    installed_at: Mapped[datetime] = mapped_column(default=utcnow)
    uninstalled_at: Mapped[datetime | None]  # billed up to this day, not after
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "domain": self.domain, "domain_version": self.domain_version,
                "enabled": self.enabled, "installed_at": self.installed_at,
                "updated_at": self.updated_at}


# -- training: runs, jobs, feature profiles, retraining ------------------------------------
# (tracer.lifecycle, tracer.jobs, tracer.drift, tracer.retraining)


class TrainingRun(Base):
    """One run of the model lifecycle, whatever its outcome."""

    __tablename__ = "training_runs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant: Mapped[str | None] = mapped_column(String(64), index=True)
    domain: Mapped[str] = mapped_column(String(128), index=True)
    model_name: Mapped[str] = mapped_column(String(256))
    status: Mapped[str] = mapped_column(String(16))  # running | succeeded | failed
    source: Mapped[str] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    mlflow_run_id: Mapped[str | None] = mapped_column(String(64))
    model_version: Mapped[int | None] = mapped_column(Integer)
    decision: Mapped[str | None] = mapped_column(Text)
    metrics: Mapped[dict[str, Any] | None]
    rows: Mapped[dict[str, Any] | None]  # counts by part and, for tenants, by source
    error: Mapped[str | None] = mapped_column(Text)


class TrainingJob(Base):
    __tablename__ = "training_jobs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    domain: Mapped[str] = mapped_column(String(128))
    # queued | running | succeeded | failed | cancelled
    status: Mapped[str] = mapped_column(String(16), index=True)
    stage: Mapped[str] = mapped_column(String(32), default="queued")
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    trigger: Mapped[str] = mapped_column(String(16), default="manual")
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    pid: Mapped[int | None] = mapped_column(Integer)
    run_id: Mapped[str | None] = mapped_column(String(36))
    model_version: Mapped[int | None] = mapped_column(Integer)
    promoted: Mapped[bool | None] = mapped_column(Boolean)
    decision: Mapped[str | None] = mapped_column(Text)
    metrics: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    rows: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    worker: Mapped[str | None] = mapped_column(String(200))  # where it runs
    heartbeat_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "domain": self.domain, "status": self.status,
                "stage": self.stage, "progress": self.progress, "trigger": self.trigger,
                "options": self.options, "model_version": self.model_version,
                "promoted": self.promoted, "decision": self.decision,
                "metrics": self.metrics, "rows": self.rows, "error": self.error,
                "attempts": self.attempts,
                "created_at": self.created_at, "started_at": self.started_at,
                "finished_at": self.finished_at}


class FeatureProfile(Base):
    __tablename__ = "feature_profiles"

    model_name: Mapped[str] = mapped_column(String(256), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    rows: Mapped[int] = mapped_column(Integer)
    features: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RetrainingPolicy(Base):
    __tablename__ = "retraining_policies"

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    domain: Mapped[str] = mapped_column(String(128), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    min_new_outcomes: Mapped[int | None] = mapped_column(Integer)
    drift_threshold: Mapped[float | None] = mapped_column(Float)
    drift_window: Mapped[int] = mapped_column(Integer, default=500)
    use_reference: Mapped[bool] = mapped_column(Boolean, default=True)
    cooldown_hours: Mapped[float | None] = mapped_column(Float)
    tenant_weight: Mapped[float | None] = mapped_column(Float)
    #: the drift episode an automatic challenger was already started for (see restraint)
    drift_episode: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    def as_dict(self) -> dict[str, Any]:
        return {"domain": self.domain, "enabled": self.enabled,
                "min_new_outcomes": self.min_new_outcomes,
                "drift_threshold": self.drift_threshold, "drift_window": self.drift_window,
                "use_reference": self.use_reference, "cooldown_hours": self.cooldown_hours,
                "tenant_weight": self.tenant_weight, "drift_episode": self.drift_episode,
                "updated_at": self.updated_at}


class RetrainingDecision(Base):
    __tablename__ = "retraining_decisions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    domain: Mapped[str] = mapped_column(String(128))
    trigger: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(16))  # started | promoted | kept | failed
    job_id: Mapped[str | None] = mapped_column(String(36))
    numbers: Mapped[dict[str, Any]] = mapped_column(JSON)
    message: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "domain": self.domain, "trigger": self.trigger,
                "action": self.action, "job_id": self.job_id, "numbers": self.numbers,
                "message": self.message, "created_at": self.created_at}
