"""``POST /v1/domains/{domain}/predict``: probabilities with their reasons, metered once."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from tracer.api.app import platform_of
from tracer.api.auth import require_tenant
from tracer.api.idempotency import check_key, remember, replay, request_hash
from tracer.api.metering import announce, tenant_tier, usage_dict
from tracer.api.schemas import PredictRequest, PredictResponse
from tracer.db import session, utcnow
from tracer.errors import LimitError, ValidationError
from tracer.feedback import StoredPrediction, get_prediction
from tracer.installs import require_enabled
from tracer.quota import charge_predictions
from tracer.records import as_dicts, frame_from_rows, validate_records
from tracer.tenancy import Principal
from tracer.usage import record_usage

router = APIRouter(tags=["predictions"])
Tenant = Annotated[Principal, Depends(require_tenant)]
IdempotencyKey = Annotated[str | None, Header(
    description="Any unique string per logical request; retries with the same key return "
    "the first answer and are metered once.")]


def records_of(body: PredictRequest, max_rows: int) -> list[dict[str, Any]]:
    if (body.record is None) == (body.records is None):
        raise ValidationError("send exactly one of 'record' (one record) or 'records' (a "
                              "batch)", field="record")
    items = [body.record] if body.record is not None else body.records or []
    if not items:
        raise ValidationError("records: the batch is empty", field="records")
    if len(items) > max_rows:
        raise LimitError(f"records: {len(items):,} records in one request; the batch limit "
                         f"is {max_rows:,} (setting max_batch_rows)", limit=max_rows,
                         setting="max_batch_rows")
    return items


#: Up to this many records are checked one by one with the domain's pydantic model (tens of
#: microseconds each); larger batches use the vectorised frame validation.
PER_RECORD_LIMIT = 64


def _per_record(domain, items: list[dict[str, Any]], single: bool) -> pd.DataFrame:
    from pydantic import ValidationError as PydanticError

    rows, errors = [], []
    for index, item in enumerate(items):
        try:
            rows.append(domain.record.model_validate(item).model_dump())
        except PydanticError as exc:
            for e in exc.errors():
                field = ".".join(str(p) for p in e["loc"]) or None
                where = "record" if single else f"records[{index}]"
                errors.append({"where": f"{where}.{field}" if field else where,
                               "index": None if single else index, "field": field,
                               "message": e["msg"]})
    if errors:
        shown = "; ".join(f"{e['where']}: {e['message']}" for e in errors[:3])
        more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
        raise ValidationError(f"{shown}{more}", errors=errors[:50], domain=domain.name)
    return frame_from_rows(domain, rows)


def validated(domain, items: list[dict[str, Any]], single: bool) -> pd.DataFrame:
    """Records checked against the domain schema; errors name the record index and field."""
    if len(items) <= PER_RECORD_LIMIT and all(isinstance(i, dict) for i in items):
        return _per_record(domain, items, single)
    try:
        records, _ = validate_records(domain, pd.DataFrame.from_records(items),
                                      source="records")
    except ValidationError as exc:
        errors = []
        for e in exc.details.get("errors", []):
            index = None if e.get("row") is None else e["row"] - 1
            where = "record" if single else ("records" if index is None
                                             else f"records[{index}]")
            if e.get("column"):
                where += f".{e['column']}"
            errors.append({"where": where, "index": index, "field": e.get("column"),
                           "message": e["message"]})
        shown = "; ".join(f"{e['where']}: {e['message']}" for e in errors[:3])
        more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
        raise ValidationError(f"{shown}{more}" if errors else exc.message,
                              errors=errors, domain=domain.name) from None
    return records


@router.post("/v1/domains/{domain:path}/predict", response_model=PredictResponse,
             summary="Predict with reasons (one record or a batch)",
             responses={413: {"description": "Body or batch over its limit"},
                        422: {"description": "A record does not fit the domain schema"},
                        429: {"description": "Over the monthly prediction allowance"}})
def predict(domain: str, body: PredictRequest, request: Request, principal: Tenant,
            idempotency_key: IdempotencyKey = None,
            explain: Annotated[bool, Query(description="Include factors and summary.")] = True,
            top: Annotated[int, Query(ge=1, le=20, description="Factors per answer.")] = 5,
            ) -> Any:
    """Answer each record with its probability, label at the model's decision threshold,
    base rate, ranked factors with sentences, a summary, the model version and a
    `prediction_id` to report the outcome against later. Every answered record is metered
    once; a retry with the same `Idempotency-Key` returns the first answer."""
    p = platform_of(request)
    dom = p.host.domain(domain)
    tenant_id = principal.tenant_id
    key = check_key(idempotency_key)
    route = f"predict {dom.name}"
    digest = request_hash(route, [body.model_dump(), explain, top]) if key else ""
    with session(p.settings) as s:
        require_enabled(s, tenant_id, dom.name)
        stored = replay(s, tenant_id, key, route, digest)
        if stored is not None:
            return JSONResponse(stored.response, status_code=stored.status_code)
    items = records_of(body, p.settings.max_batch_rows)
    records = validated(dom, items, single=body.record is not None)
    scorer = p.champions.scorer(dom, tenant_id)
    answers = scorer.score(records, explain=explain, top=top)
    request_id = str(uuid.uuid4())
    now = utcnow()
    stored_rows, raw = [], as_dicts(records)
    for answer, record in zip(answers, raw, strict=True):
        answer["prediction_id"] = pid = str(uuid.uuid4())
        stored_rows.append({"id": pid, "tenant_id": tenant_id, "domain": dom.name,
                            "model_name": scorer.name, "model_version": scorer.version,
                            "probability": answer["probability"], "label": answer["label"],
                            "threshold": answer["threshold"], "record": record,
                            "created_at": now})
    try:
        with session(p.settings, write=True) as s:
            tenant, tier = tenant_tier(s, p.settings, tenant_id)
            overage = charge_predictions(s, tenant_id, tenant.tier, tier, len(answers), now)
            s.execute(insert(StoredPrediction), stored_rows)
            event, _ = record_usage(
                s, f"prediction:{tenant_id}:{key or request_id}", tenant_id=tenant_id,
                kind="prediction", domain=dom.name, quantity=len(answers), occurred_at=now,
                attrs={"model": scorer.name, "version": scorer.version, "overage": overage})
            response = {"predictions": answers, "count": len(answers), "overage": overage}
            remember(s, tenant_id, key, route, digest, 200, response)
            published = usage_dict(event)
    except IntegrityError:
        # a concurrent retry with the same key committed first: answer as it did
        with session(p.settings) as s:
            stored = replay(s, tenant_id, key, route, digest)
        if stored is None:
            raise
        return JSONResponse(stored.response, status_code=stored.status_code)
    announce(p.host, [published])
    return JSONResponse(response)


@router.get("/v1/predictions/{prediction_id}", summary="A stored prediction and its outcome")
def get_stored_prediction(prediction_id: str, request: Request, principal: Tenant) -> Any:
    """The stored answer for a `prediction_id` (only your own): the record as scored, the
    probability, label, threshold, model version and, once reported, the outcome."""
    from sqlalchemy import select

    from tracer.feedback import Outcome

    p = platform_of(request)
    with session(p.settings) as s:
        row = get_prediction(s, principal.tenant_id, prediction_id)
        outcome = s.scalars(select(Outcome).where(Outcome.prediction_id == row.id)).first()
        return {"prediction_id": row.id, "domain": row.domain, "record": row.record,
                "probability": row.probability, "label": row.label,
                "threshold": row.threshold, "created_at": row.created_at,
                "model": {"name": row.model_name, "version": row.model_version,
                          "domain": row.domain},
                "outcome": None if outcome is None else outcome.outcome}
