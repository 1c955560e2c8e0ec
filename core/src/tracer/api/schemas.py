"""Request and response bodies, documented field by field for people and AI agents.

Request bodies forbid unknown fields: a client cannot slip in ``tenant_id``, ``role``,
``tier`` or any other field the server decides (mass assignment), it gets a 422 naming it.
Every number a request carries is finite (``NaN`` and ``Infinity`` are refused) and every
count, string and list has an upper bound, so nothing a client sends can overflow a column.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from tracer.tenancy import NAME_CEILING

_STRICT = ConfigDict(extra="forbid", allow_inf_nan=False)
Name = Annotated[str, Field(max_length=200)]


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


#: an instant in answers: stored without an offset (SQLite keeps none; every stored time
#: is UTC), answered with one (``…Z``), as RFC 3339 and OpenAPI's ``date-time`` ask
Instant = Annotated[datetime, AfterValidator(_utc)]
#: a trainer override: a bounded integer or a finite, bounded float
Param = (Annotated[int, Field(ge=-1_000_000_000, le=1_000_000_000)]
         | Annotated[float, Field(ge=-1e9, le=1e9, allow_inf_nan=False)])


class PredictRequest(BaseModel):
    # per-domain examples (a real reference record of each loaded domain) are added to the
    # OpenAPI document at start-up: see tracer.api.app._openapi
    model_config = _STRICT

    record: dict[str, Any] | None = Field(
        default=None, description="One record with the domain's fields (see "
        "`GET /v1/domains/{domain}` for its record schema). Send `record` or `records`.")
    records: list[dict[str, Any]] | None = Field(
        default=None, description="A batch of records (at most the server's "
        "`api.max_batch_rows`, 1,000 by default); answers come back in the same order.")


class Factor(BaseModel):
    feature: str = Field(description="The model feature.", examples=["amount_over_typical"])
    value: Any = Field(description="The feature's value for this record.", examples=[643])
    contribution: float = Field(description="Its push on the log-odds of the outcome "
                                "(TreeSHAP, calibrated); factors plus `bias` add up to "
                                "logit(probability).", examples=[0.21])
    direction: Literal["up", "down"] = Field(description="`up` raises the probability.")
    sentence: str = Field(description="The factor in the domain's words.",
                          examples=["The amount is 643 above the customer's typical one"])


class ModelRef(BaseModel):
    name: str = Field(description="Registered model `<tenant>.<namespace>.<template>`.")
    version: int = Field(description="The model version that answered.")
    domain: str = Field(description="The domain template, `namespace/template`.",
                        examples=["acme/churn"])


class PredictionOut(BaseModel):
    prediction_id: str = Field(description="Keep it: report the observed outcome later "
                               "with `POST /v1/feedback`.")
    probability: float = Field(description="Calibrated probability that the domain's "
                               "outcome happens (the domain's `outcome`).", examples=[0.61])
    label: int = Field(description="1 if `probability >= threshold`, else 0.")
    threshold: float = Field(description="The model's decision threshold (minimises "
                             "expected cost when the domain has costs).")
    base_rate: float = Field(description="How often the outcome happened in training data: "
                             "compare the probability with it.")
    factors: list[Factor] | None = Field(default=None, description="Reasons, strongest "
                                         "first (omitted with `explain=false`).")
    summary: str | None = Field(default=None, description="One sentence for a person or an "
                                "agent to act on.")
    bias: float | None = Field(default=None, description="Log-odds before any factor.")
    expected_cost: dict[str, float] | None = Field(
        default=None, description="For domains with a cost model: expected cost of acting "
        "and of not acting on this record.")
    model: ModelRef


class PredictResponse(BaseModel):
    predictions: list[PredictionOut]
    count: int = Field(description="Records answered (= usage metered).")
    overage: int = Field(description="Of those, predictions above the monthly allowance "
                         "(billed per prediction on tiers that allow overage).")


class TenantIn(BaseModel):
    model_config = _STRICT
    id: str = Field(max_length=63, description="Slug: 2–63 lower-case letters, digits, '-'.",
                    examples=["acme"])
    name: str = Field(min_length=1, max_length=NAME_CEILING, description="Display name "
                      "(at most `api.max_name_chars`, no control characters).",
                      examples=["Acme Analytics"])
    tier: str = Field(max_length=63, description="starter, professional or enterprise.",
                      examples=["professional"])


class KeyIn(BaseModel):
    model_config = _STRICT
    role: Literal["tenant", "publisher", "reviewer", "admin"] = Field(
        description="What the key may do.")
    tenant_id: str | None = Field(default=None, max_length=63,
                                  description="For tenant keys: the tenant.")
    subject: str | None = Field(default=None, max_length=NAME_CEILING,
                                description="Who holds a non-tenant key.")
    name: str = Field(default="", max_length=NAME_CEILING, description="A label for the key.")


class OwnKeyIn(BaseModel):
    """A tenant issuing another key for itself: role and tenant are not the client's to say."""

    model_config = _STRICT
    name: str = Field(default="", max_length=NAME_CEILING, description="A label for the key "
                      "(no control characters).", examples=["ci"])


class KeyOut(BaseModel):
    id: str
    prefix: str = Field(description="Public part of the key, for telling keys apart.")
    role: str
    tenant_id: str | None
    subject: str
    name: str
    created_at: Instant
    revoked_at: Instant | None = None
    key: str | None = Field(default=None, description="The key itself: shown once, at "
                            "issue; only its hash is stored.")


class JobIn(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, json_schema_extra={
        "examples": [{}, {"dataset_ids": ["…"], "use_reference": False}]})
    dataset_ids: list[Name] | None = Field(default=None, max_length=1000, description="Your "
                                           "datasets to train on (default: all of yours for "
                                           "this domain).")
    use_reference: bool = Field(default=True, description="Include the domain's reference "
                                "data.")
    include_feedback: bool = Field(default=True, description="Include records you reported "
                                   "outcomes for.")
    params: dict[Annotated[str, Field(max_length=100)], Param] | None = Field(
        default=None, max_length=50, description="Trainer overrides (e.g. `num_boost_round`, "
        "`max_depth`): finite numbers within ±1e9.")
    candidates: list[Name] | None = Field(
        max_length=100,
        default=None, description="Compare only these leaderboard candidates (default: all: "
        "`logistic regression C=0.01`, `… C=0.1`, `… C=1`, `small XGBoost`, `domain trainer` "
        "and what the domain adds).")


#: 0 or 1 as a JSON integer: ``true``, ``1.0`` and ``"1"`` are refused (422), not coerced
Outcome01 = Annotated[int, Field(strict=True, ge=0, le=1, description="The integer 1 if the "
                                 "outcome happened, else 0 (booleans are refused).",
                                 examples=[1])]


class OutcomeIn(BaseModel):
    model_config = _STRICT
    prediction_id: str = Field(max_length=100, description="From a prediction answer.")
    outcome: Outcome01
    observed_at: datetime | None = Field(default=None, description="When it was observed.")


class FeedbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, json_schema_extra={
        "examples": [{"outcomes": [{"prediction_id": "3f2b…", "outcome": 1}]}]})
    outcomes: list[OutcomeIn] = Field(min_length=1, max_length=10_000,
                                      description="Observed outcomes (at most 10,000).")


class CorrectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"outcome": 0, "reason": "the match result was overturned"}]})
    outcome: Outcome01
    reason: str = Field(default="", max_length=500, description="Why the outcome changed "
                        "(kept in its history).")


class PolicyIn(BaseModel):
    """`PUT` replaces the whole policy: a field left out takes its default."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, json_schema_extra={
        "examples": [{"min_new_outcomes": 200, "drift_threshold": 0.25}]})
    enabled: bool = Field(default=True)
    min_new_outcomes: int | None = Field(default=None, ge=1, le=10_000_000,
                                         description="Train a challenger after this many "
                                         "new outcomes.")
    drift_threshold: float | None = Field(default=None, gt=0, le=100, description="…or when "
                                          "any feature's PSI reaches this (0.25 is a real "
                                          "shift).")
    drift_window: int = Field(default=500, ge=10, le=100_000, description="Recent predictions "
                              "drift is measured on.")
    use_reference: bool = Field(default=True, description="Challengers include reference data.")
    cooldown_hours: float | None = Field(
        default=None, ge=0, le=24 * 366, description="Hours between two automatic "
        "challengers; the tier's cooldown applies when this is shorter or unset.")
    tenant_weight: float | None = Field(
        default=None, gt=0, le=1_000, description="Sample weight of each of your rows next "
        "to a reference row (default: the platform's `training.tenant_row_weight`, 4).")


class PolicyPatch(BaseModel):
    """`PATCH` changes only the fields sent; `null` clears a nullable field (a trigger)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, json_schema_extra={
        "examples": [{"drift_threshold": 0.3}, {"min_new_outcomes": None}]})
    enabled: bool | None = Field(default=None)  # null refused: see routes/retraining
    min_new_outcomes: int | None = Field(default=None, ge=1, le=10_000_000)
    drift_threshold: float | None = Field(default=None, gt=0, le=100)
    drift_window: int | None = Field(default=None, ge=10, le=100_000)
    use_reference: bool | None = Field(default=None)
    cooldown_hours: float | None = Field(default=None, ge=0, le=24 * 366)
    tenant_weight: float | None = Field(default=None, gt=0, le=1_000)
