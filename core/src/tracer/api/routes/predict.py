"""``POST /v1/domains/{domain}/predict``: probabilities with their reasons, metered once.

The route only translates HTTP: the work is :class:`tracer.api.answering.PredictionService`,
which the MCP tools call too.
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Header, Query, Request, Response

from tracer.api.answering import Ask
from tracer.api.auth import TenantPrincipal, require_tenant
from tracer.api.deps import platform_of
from tracer.api.responses import StoredPredictionOut
from tracer.api.schemas import PredictRequest, PredictResponse
from tracer.db import session
from tracer.errors import ValidationError
from tracer.feedback import get_prediction, outcome_of

router = APIRouter(tags=["predictions"])
Tenant = Annotated[TenantPrincipal, Depends(require_tenant)]
IdempotencyKey = Annotated[str | None, Header(
    description="Any unique string per logical request; retries with the same key return "
    "the first answer and are metered once.")]


def json_response(body: dict[str, Any], status_code: int = 200) -> Response:
    """orjson: several times faster than the standard encoder on an answer's floats."""
    return Response(orjson.dumps(body), status_code=status_code, media_type="application/json")


@router.post("/v1/domains/{domain:path}/predict",
             summary="Predict with reasons (one record or a batch)",
             # the answer is orjson bytes, not re-validated by FastAPI (speed): its schema is
             # declared here, and the schema fuzzing in CI checks answers against it
             responses={200: {"model": PredictResponse, "description": "The answers"},
                        413: {"description": "Body or batch over its limit"},
                        422: {"description": "A record does not fit the domain schema"},
                        429: {"description": "Over the monthly prediction allowance"}})
async def predict(domain: str, body: PredictRequest, request: Request, principal: Tenant,
                  idempotency_key: IdempotencyKey = None,
                  explain: Annotated[bool, Query(description="Include factors and summary.")
                                     ] = True,
                  top: Annotated[int, Query(ge=1, le=20, description="Factors per answer.")
                                 ] = 5,
                  ) -> Any:
    """Answer each record with its probability, label at the model's decision threshold,
    base rate, ranked factors with sentences, a summary, the model version and a
    `prediction_id` to report the outcome against later. Every answered record is stored
    and metered once before the answer is sent; a retry with the same `Idempotency-Key`
    returns the first answer."""
    if (body.record is None) == (body.records is None):
        raise ValidationError("send exactly one of 'record' (one record) or 'records' (a "
                              "batch)", field="record")
    single = body.record is not None
    items = [body.record] if single else list(body.records or [])
    committed = await platform_of(request).predictions.answer(Ask(
        tenant_id=principal.tenant_id, domain=domain, items=items, single=single,
        explain=explain, top=top, key=idempotency_key))
    return json_response(committed.response, committed.status_code)


@router.get("/v1/predictions/{prediction_id}", response_model=StoredPredictionOut,
            summary="A stored prediction and its outcome")
def get_stored_prediction(prediction_id: str, request: Request, principal: Tenant) -> Any:
    """The stored answer for a `prediction_id` (only your own): the record as scored, the
    probability, label, threshold, model version and, once reported, the outcome."""
    p = platform_of(request)
    with session(p.settings) as s:
        row = get_prediction(s, principal.tenant_id, prediction_id)
        outcome = outcome_of(s, row)
        return {"prediction_id": row.id, "domain": row.domain, "record": row.record,
                "probability": row.probability, "label": row.label,
                "threshold": row.threshold, "created_at": row.created_at,
                "model": {"name": row.model_name, "version": row.model_version,
                          "domain": row.domain},
                "outcome": outcome}
