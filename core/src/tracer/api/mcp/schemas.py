"""Arguments and answers of the MCP tools, as pydantic models: their JSON schemas are the
tools' ``inputSchema`` and ``outputSchema``, and arguments are validated with them.

A prediction's answer is the REST answer (:class:`tracer.api.schemas.PredictResponse`):
the same fields, the same descriptions, one source.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from tracer.api.schemas import Factor, ModelRef

_STRICT = ConfigDict(extra="forbid")

IdempotencyKey = Field(default=None, max_length=200, description="Any unique string per "
                       "logical request: a retry with the same key returns the first answer "
                       "and is metered once.")


class ReportOutcomeIn(BaseModel):
    model_config = _STRICT
    prediction_id: str = Field(description="The `prediction_id` of an earlier answer.")
    outcome: Literal[0, 1] = Field(description="1 if the domain's outcome happened, else 0.")
    observed_at: datetime | None = Field(default=None, description="When it was observed "
                                         "(ISO 8601; default now).")


class ReportOutcomeOut(BaseModel):
    recorded: int = Field(description="Outcomes stored (0 when this one was reported before).")
    repeats: int = Field(description="Outcomes that were already stored with the same value.")
    outcome_ids: list[str]
    retraining_jobs: list[str] = Field(
        description="Ids of challenger training jobs the domain's retraining policy started.")


class ExplainIn(BaseModel):
    model_config = _STRICT
    prediction_id: str = Field(description="The `prediction_id` of an earlier answer.")
    top: int = Field(default=5, ge=1, le=20, description="Factors to return.")


class ExplainOut(BaseModel):
    prediction_id: str
    domain: str
    record: dict[str, Any] = Field(description="The record as it was scored.")
    probability: float
    label: int
    threshold: float
    base_rate: float
    factors: list[Factor] = Field(description="Reasons, strongest first, from the model "
                                  "version that answered.")
    summary: str
    model: ModelRef
    created_at: str
    outcome: int | None = Field(description="The reported outcome, if any.")


class WhatIfIn(BaseModel):
    model_config = _STRICT
    prediction_id: str | None = Field(default=None, description="An earlier answer to "
                                      "search from (its record and model version).")
    domain: str | None = Field(default=None, description="With `record`: the domain, "
                               "`namespace/template` (see list_domains).")
    record: dict[str, Any] | None = Field(default=None, description="A new record: it is "
                                          "predicted first (stored and metered like any "
                                          "prediction), then searched from.")
    limit: int = Field(default=3, ge=1, le=10, description="Changes to return.")
    idempotency_key: str | None = IdempotencyKey


class EditOut(BaseModel):
    field: str
    from_: float = Field(alias="from")
    to: float
    description: str | None = None


class ChangeOut(BaseModel):
    edits: list[EditOut] = Field(description="Fields to change, each within its training "
                                 "range; apply them together.")
    probability: float = Field(description="The model's probability with the edits applied.")
    label: int = Field(description="The label with the edits applied (the other one).")
    factors: list[str] = Field(description="Model features the edits move.")
    sentence: str


class WhatIfOut(BaseModel):
    prediction_id: str
    domain: str
    model: ModelRef
    probability: float
    label: int
    threshold: float
    changes: list[ChangeOut] = Field(description="Smallest changes first; empty when no "
                                     "change within the training ranges flips the label.")
    fields_searched: int
    records_scored: int = Field(description="Edited copies the search scored (not metered).")
    summary: str


class Calibration(BaseModel):
    method: str = Field(description="Platt scaling on out-of-fold margins.")
    ece: float | None = Field(description="Expected calibration error on the evaluation part.")
    ece_out_of_fold: float | None = Field(description="Expected calibration error out of fold.")
    brier: float | None = None
    log_loss: float | None = None


class DomainOut(BaseModel):
    domain: str
    tool: str = Field(description="The tool that predicts it.")
    title: str
    outcome: str = Field(description="What `probability` is the probability of.")
    description: str
    primary_metric: str
    model: ModelRef | None = Field(description="The champion answering (none before training).")
    metric: float | None = Field(description="The champion's primary metric on held-out data.")
    calibration: Calibration | None = None


class DomainsOut(BaseModel):
    domains: list[DomainOut]
