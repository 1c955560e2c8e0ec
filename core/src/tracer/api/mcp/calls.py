"""What each tool does, for one verified tenant key.

Every prediction (``predict_<domain>``, and ``what_would_change`` given a new record) is
``PredictionService.answer``: validated, scored, stored, charged and metered exactly as a
REST prediction, by the same code. Explaining a stored prediction and searching what would
change it re-score its record with the model version that answered; they store and meter
nothing (the prediction was metered when it was made).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticError
from starlette.concurrency import run_in_threadpool

from tracer.api.answering import Ask
from tracer.api.mcp.schemas import ExplainIn, ReportOutcomeIn, WhatIfIn
from tracer.api.mcp.tools import enabled_domains, predict_tool_name
from tracer.api.restraint import accept_outcomes, retrain_after_outcomes
from tracer.db import session
from tracer.errors import TracerError, ValidationError
from tracer.feedback import ReportedOutcome, get_prediction, outcome_of
from tracer.records import frame_from_rows
from tracer.scoring import Scorer
from tracer.whatif import training_ranges, what_would_change

if TYPE_CHECKING:
    from datetime import datetime

    from tracer.api.deps import Platform
    from tracer.models import StoredPrediction
    from tracer.tenancy import Principal


class PredictIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    record: dict[str, Any] | None = None
    records: list[dict[str, Any]] | None = None
    top: int = Field(default=5, ge=1, le=20)
    idempotency_key: str | None = Field(default=None, max_length=200)


M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], arguments: dict[str, Any]) -> M:
    """Tool arguments checked against the tool's model; errors name each argument."""
    try:
        return model.model_validate(arguments)
    except PydanticError as exc:
        errors = [{"where": ".".join(str(p) for p in e["loc"]) or "arguments",
                   "message": e["msg"]} for e in exc.errors()]
        shown = "; ".join(f"{e['where']}: {e['message']}" for e in errors[:3])
        raise ValidationError(f"invalid arguments: {shown}", errors=errors[:50]) from None


async def predict(p: Platform, who: Principal, domain: str, arguments: dict[str, Any]
                  ) -> dict[str, Any]:
    args = parse(PredictIn, arguments)
    if (args.record is None) == (args.records is None):
        raise ValidationError("send exactly one of 'record' (one record) or 'records' (a "
                              "batch)", field="record")
    single = args.record is not None
    committed = await p.predictions.answer(Ask(
        tenant_id=who.tenant, domain=domain, items=[args.record] if single else
        list(args.records or []), single=single, explain=True, top=args.top,
        key=args.idempotency_key))
    return committed.response


async def report_outcome(p: Platform, who: Principal, arguments: dict[str, Any]
                         ) -> dict[str, Any]:
    args = parse(ReportOutcomeIn, arguments)

    def work() -> dict[str, Any]:
        with session(p.settings) as s:
            response, domains = accept_outcomes(s, who.tenant, [ReportedOutcome(
                args.prediction_id, args.outcome, args.observed_at)])
        return {**response, **retrain_after_outcomes(p, who.tenant, domains)}

    return await run_in_threadpool(work)


def _stored(p: Platform, tenant_id: str, prediction_id: str
            ) -> tuple[StoredPrediction, int | None]:
    with session(p.settings) as s:
        row = get_prediction(s, tenant_id, prediction_id)
        outcome = outcome_of(s, row)
        s.expunge(row)
    return row, outcome


def _scorer(p: Platform, row: StoredPrediction) -> Scorer:
    """The model version that answered ``row`` (the champion's scorer when it still is)."""
    domain = p.host.domain(row.domain)
    try:
        champion = p.champions.scorer(domain, row.tenant_id)
        if (champion.name, champion.version) == (row.model_name, row.model_version):
            return champion
    except TracerError:
        pass
    model = p.store.load(row.model_name, row.model_version)
    return Scorer(p.host, domain, model, row.model_name, row.model_version, row.tenant_id)


def _answer(scorer: Scorer, row: StoredPrediction, top: int) -> dict[str, Any]:
    return scorer.score(frame_from_rows(scorer.domain, [row.record]), explain=True,
                        top=top)[0]


async def explain_prediction(p: Platform, who: Principal, arguments: dict[str, Any]
                             ) -> dict[str, Any]:
    args = parse(ExplainIn, arguments)

    def work() -> dict[str, Any]:
        row, outcome = _stored(p, who.tenant, args.prediction_id)
        answer = _answer(_scorer(p, row), row, args.top)
        return {"prediction_id": row.id, "domain": row.domain, "record": row.record,
                "probability": row.probability, "label": row.label,
                "threshold": row.threshold, "base_rate": answer["base_rate"],
                "factors": answer["factors"], "summary": answer["summary"],
                "model": answer["model"], "created_at": _iso(row.created_at),
                "outcome": outcome}

    return await run_in_threadpool(work)


async def what_if(p: Platform, who: Principal, arguments: dict[str, Any]
                             ) -> dict[str, Any]:
    args = parse(WhatIfIn, arguments)
    if args.prediction_id is not None and (args.record is not None or args.domain):
        raise ValidationError("give either 'prediction_id', or 'domain' and 'record', not "
                              "both", field="prediction_id")
    prediction_id = args.prediction_id
    if prediction_id is None:
        if args.record is None or not args.domain:
            raise ValidationError("give 'prediction_id' (an earlier answer), or 'domain' "
                                  "and 'record' (a new one)", field="prediction_id")
        committed = await p.predictions.answer(Ask(
            tenant_id=who.tenant, domain=args.domain, items=[args.record], single=True,
            key=args.idempotency_key))
        prediction_id = committed.response["predictions"][0]["prediction_id"]

    def work() -> dict[str, Any]:
        row, _ = _stored(p, who.tenant, prediction_id)
        scorer = _scorer(p, row)
        top = [f["feature"] for f in _answer(scorer, row, 5)["factors"]]
        found = what_would_change(scorer, row.record, training_ranges(scorer), top,
                                  limit=args.limit)
        return {"prediction_id": row.id, "domain": row.domain,
                "model": {"name": scorer.name, "version": scorer.version,
                          "domain": row.domain}, **found, "summary": _summary(found)}

    return await run_in_threadpool(work)


def _summary(found: dict[str, Any]) -> str:
    changes = found["changes"]
    if not changes:
        return (f"No change of up to four fields within their training ranges flips the "
                f"label {found['label']} (probability {found['probability']:.2f}, threshold "
                f"{found['threshold']:.2f}).")
    noun = "change flips" if len(changes) == 1 else "changes flip"
    return f"{len(changes)} {noun} the label; the smallest: {changes[0]['sentence']}"


async def list_domains(p: Platform, who: Principal, arguments: dict[str, Any]
                       ) -> dict[str, Any]:
    if arguments:
        raise ValidationError(f"list_domains takes no arguments, got {sorted(arguments)}")

    def work() -> dict[str, Any]:
        out = []
        for domain in enabled_domains(p, who.tenant):
            item: dict[str, Any] = {
                "domain": domain.name, "tool": predict_tool_name(domain.name),
                "title": domain.title, "outcome": domain.outcome,
                "description": domain.description, "primary_metric": domain.primary_metric,
                "model": None, "metric": None, "calibration": None}
            try:
                scorer = p.champions.scorer(domain, who.tenant)
            except TracerError:  # enabled, not trained yet
                out.append(item)
                continue
            metrics = _metrics(p, scorer.name, scorer.version)
            item.update(
                model={"name": scorer.name, "version": scorer.version, "domain": domain.name},
                metric=metrics.get(domain.primary_metric),
                calibration={"method": "Platt scaling on out-of-fold margins",
                             **{k: metrics.get(k) for k in ("ece", "ece_out_of_fold",
                                                            "brier", "log_loss")}})
            out.append(item)
        return {"domains": out}

    return await run_in_threadpool(work)


_METRICS: dict[tuple[str, int], dict[str, float]] = {}


def _metrics(p: Platform, name: str, version: int) -> dict[str, float]:
    """A model version's logged metrics (fixed once logged: read from MLflow once)."""
    if (name, version) not in _METRICS:
        if len(_METRICS) >= 1_000:
            _METRICS.clear()
        _METRICS[(name, version)] = p.store.version(name, version).metrics
    return _METRICS[(name, version)]


def _iso(value: datetime) -> str:
    return value.isoformat()
