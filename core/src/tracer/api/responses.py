"""Response bodies of the core routes: each route returns through one of these (FastAPI
validates and serialises it), so the OpenAPI document says what every answer holds and
the schema fuzzing in CI checks every answer against it.

Fields the platform may add later (a plugin's numbers, a new metric) are allowed
(``extra="allow"``): a client reads the fields named here and ignores others. The predict
route is the one exception to the validation, for speed (see ``routes/predict.py``); its
schema is :class:`tracer.api.schemas.PredictResponse`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tracer.api.schemas import Instant, KeyOut, ModelRef


class Out(BaseModel):
    model_config = ConfigDict(extra="allow")


class DomainSummary(Out):
    name: str = Field(description="`namespace/template`.", examples=["acme/churn-30d"])
    version: str
    title: str
    description: str
    outcome: str = Field(description="What a probability is the probability of.")
    primary_metric: str
    tags: list[str]
    installed: bool = Field(description="Installed for you (tenant keys).")
    enabled: bool = Field(description="Enabled for you: predictions and training allowed.")


class DomainList(Out):
    domains: list[DomainSummary]


class DomainInfo(Out):
    name: str
    version: str
    title: str
    description: str
    task: str
    label: str = Field(description="The outcome column of training data.")
    order_by: str = Field(description="The column that orders records in time.")
    primary_metric: str
    certification_threshold: float | None = None
    outcome: str
    tags: list[str]
    baseline: str | None = None
    cost_model: dict[str, Any] | None = None
    record_schema: dict[str, Any] = Field(description="JSON schema of one record.")


class InstallOut(Out):
    id: str
    domain: str
    domain_version: str
    enabled: bool
    installed_at: Instant
    updated_at: Instant | None = None


class DatasetOut(Out):
    id: str
    domain: str
    filename: str
    rows: int
    positives: int = Field(description="Rows whose label is the positive outcome.")
    sha256: str = Field(description="Of the stored (validated) data.")
    created_at: Instant


class DatasetList(Out):
    datasets: list[DatasetOut]


class JobOut(Out):
    id: str
    domain: str
    status: str = Field(description="queued, running, succeeded or failed.")
    stage: str
    progress: float = Field(ge=0, le=1)
    trigger: str = Field(description="manual, on_demand, outcomes or drift.")
    options: dict[str, Any]
    model_version: int | None = None
    promoted: bool | None = None
    decision: str | None = Field(default=None, description="Why the new version was or "
                                 "was not promoted.")
    metrics: dict[str, Any] | None = None
    rows: dict[str, Any] | None = None
    error: str | None = None
    created_at: Instant
    started_at: Instant | None = None
    finished_at: Instant | None = None


class JobList(Out):
    jobs: list[JobOut]


class ModelVersionOut(Out):
    version: int
    aliases: list[str]
    primary_metric: str | None = None
    metrics: dict[str, Any]
    decision: str | None = None


class ModelVersions(Out):
    model: str
    versions: list[ModelVersionOut]


class Champion(Out):
    model: str
    champion: int = Field(description="The version now serving.")


class StoredPredictionOut(Out):
    prediction_id: str
    domain: str
    record: dict[str, Any] = Field(description="The record as scored.")
    probability: float
    label: int
    threshold: float
    created_at: Instant
    model: ModelRef
    outcome: int | None = Field(description="The reported outcome, once reported.")


class RetrainingOutcome(Out):
    domain: str
    job_id: str | None = None
    trigger: str | None = None
    reason: str = Field(description="What started, or why nothing did.")


class FeedbackOut(Out):
    recorded: int = Field(description="New outcomes stored.")
    repeats: int = Field(description="Outcomes already reported with the same value.")
    outcome_ids: list[str]
    retraining_jobs: list[str] = Field(description="Challengers these outcomes started.")
    retraining: list[RetrainingOutcome]


class Holder(Out):
    subject: str
    key_id: str | None = None


class CorrectionOut(Out):
    id: str
    old_outcome: int
    new_outcome: int
    reason: str
    by: Holder
    created_at: Instant


class OutcomeOut(Out):
    id: str
    prediction_id: str
    domain: str
    outcome: int
    observed_at: Instant | None = None
    created_at: Instant
    corrected_at: Instant | None = None
    history: list[CorrectionOut] = Field(description="Every correction, oldest first.")


class CorrectedOutcome(OutcomeOut):
    changed: bool = Field(description="false when the outcome already had this value.")


class VersionRef(Out):
    name: str
    version: int


class LiveMetrics(Out):
    outcomes: int = Field(description="Predictions with outcomes scored.")
    window: int


class VersionMetrics(Out):
    version: int
    aliases: list[str]
    live: LiveMetrics
    evaluation: dict[str, float | None]


class MetricsOut(Out):
    model: VersionRef
    primary_metric: str
    live: LiveMetrics
    evaluation: dict[str, float | None] = Field(description="The champion's held-out "
                                                "evaluation.")
    versions: list[VersionMetrics]
    all_versions: LiveMetrics


class DriftOut(Out):
    model: VersionRef
    served_by: str
    window: int
    records: int = Field(description="Served records measured.")
    features: dict[str, float] = Field(description="PSI per feature, largest first.")
    max_psi: float | None = None
    status: str


class PolicyOut(Out):
    domain: str
    enabled: bool
    min_new_outcomes: int | None = None
    drift_threshold: float | None = None
    drift_window: int
    use_reference: bool
    cooldown_hours: float | None = None
    tenant_weight: float | None = None
    drift_episode: str | None = None
    updated_at: Instant


class DecisionOut(Out):
    id: str
    domain: str
    trigger: str
    action: str = Field(description="started, promoted, kept or failed.")
    job_id: str | None = None
    numbers: dict[str, Any]
    message: str
    created_at: Instant


class DecisionList(Out):
    model: str
    decisions: list[DecisionOut]


class UsageEventOut(Out):
    id: str
    tenant_id: str
    kind: str
    domain: str | None = None
    quantity: int
    occurred_at: Instant
    attrs: dict[str, Any]


class Allowance(Out):
    predictions_per_month: int
    training_runs_per_month: int | None = None
    overage_allowed: bool


class UsageOut(Out):
    tenant: str
    tier: str
    allowance: Allowance
    predictions_this_month: int
    overage_predictions: int
    totals: dict[str, int] = Field(description="Quantity per kind of event.")
    events: list[UsageEventOut]


class PluginList(Out):
    plugins: list[dict[str, Any]] = Field(description="Each loaded or failed plugin: its "
                                          "name, version, state and what it provides.")


class KeyList(Out):
    keys: list[KeyOut]


class TenantOut(Out):
    id: str
    name: str
    tier: str
    active: bool
    created_at: Instant


class TenantList(Out):
    tenants: list[TenantOut]
