"""``POST /v1/domains/{domain}/predict``: probabilities with their reasons, metered once.

The route only translates HTTP: the work is :class:`tracer.api.answering.PredictionService`,
which the MCP tools call too.

The route is declared as any other (its parameters, its body model and its answers are
what the OpenAPI document shows), but it is served by :class:`PredictRoute`: the common
request (a bearer key, a JSON body, canonical query values) is read directly, without
FastAPI's dependency solving, which cost more CPU than scoring the record. Anything else,
every error included, goes through the declared route, so its answers (RFC 9457 problems
among them) are exactly the declared route's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.routing import APIRoute
from pydantic import ValidationError as PydanticError

from tracer.api.answering import Ask
from tracer.api.auth import TenantPrincipal, require_tenant
from tracer.api.deps import platform_of
from tracer.api.responses import StoredPredictionOut
from tracer.api.schemas import PredictRequest, PredictResponse
from tracer.db import session
from tracer.errors import ValidationError
from tracer.feedback import get_prediction, outcome_of
from tracer.tenancy import Principal, recall_verified

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine

router = APIRouter(tags=["predictions"])
Tenant = Annotated[TenantPrincipal, Depends(require_tenant)]
IdempotencyKey = Annotated[str | None, Header(
    description="Any unique string per logical request; retries with the same key return "
    "the first answer and are metered once.")]


def json_response(body: dict[str, Any], status_code: int = 200) -> Response:
    """orjson: several times faster than the standard encoder on an answer's floats."""
    return Response(orjson.dumps(body), status_code=status_code, media_type="application/json")


async def _answer(request: Request, domain: str, principal: Principal, body: PredictRequest,
                  explain: bool, top: int, key: str | None) -> Response:
    if (body.record is None) == (body.records is None):
        raise ValidationError("send exactly one of 'record' (one record) or 'records' (a "
                              "batch)", field="record")
    single = body.record is not None
    items = [body.record] if single else list(body.records or [])
    committed = await platform_of(request).predictions.answer(Ask(
        tenant_id=principal.tenant_id or "", domain=domain, items=items, single=single,
        explain=explain, top=top, key=key))
    return json_response(committed.response, committed.status_code)


_EXPLAIN = {"true": True, "false": False}


def _direct(request: Request, raw: bytes) -> tuple[Principal, PredictRequest, bool, int,
                                                    str | None] | None:
    """What the declared route would make of a common request, or None when it is not one
    (then the declared route serves it). Keys are only taken from the verified-key cache:
    a key not verified recently goes the declared way, which looks it up."""
    headers = request.headers
    if headers.get("content-type") != "application/json" or not raw:
        return None
    scheme, _, token = (headers.get("authorization") or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    principal = recall_verified(token)
    if principal is None or principal.role != "tenant" or principal.tenant_id is None:
        return None
    explain, top = True, 5
    query = request.scope.get("query_string", b"")
    if query:
        params = request.query_params
        if set(params) - {"explain", "top"} or len(params.multi_items()) != len(params):
            return None
        if "explain" in params:
            if params["explain"] not in _EXPLAIN:
                return None
            explain = _EXPLAIN[params["explain"]]
        if "top" in params:
            text = params["top"]
            if not (text.isdigit() and text.isascii() and 1 <= int(text) <= 20):
                return None
            top = int(text)
    keys = headers.getlist("idempotency-key")
    if len(keys) > 1:
        return None
    try:
        body = PredictRequest.model_validate(orjson.loads(raw))
    except (orjson.JSONDecodeError, PydanticError):
        return None  # the declared route says what is wrong, in its words
    return principal, body, explain, top, keys[0] if keys else None


class PredictRoute(APIRoute):
    """The declared predict route, answering common requests without dependency solving
    (see the module's docstring); the others are handed to the declared handler."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        declared = super().get_route_handler()

        async def handler(request: Request) -> Response:
            direct = _direct(request, await request.body())  # the body is kept for both
            if direct is None:
                return await declared(request)
            principal, body, explain, top, key = direct
            request.state.principal = principal  # as current_principal does (telemetry)
            return await _answer(request, request.path_params["domain"], principal, body,
                                 explain, top, key)

        return handler


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
    return await _answer(request, domain, principal, body, explain, top, idempotency_key)


router.add_api_route(
    "/v1/domains/{domain:path}/predict", predict, methods=["POST"],
    summary="Predict with reasons (one record or a batch)",
    # the answer is orjson bytes, not re-validated by FastAPI (speed): its schema is
    # declared here, and the schema fuzzing in CI checks answers against it
    responses={200: {"model": PredictResponse, "description": "The answers"},
               413: {"description": "Body or batch over its limit"},
               422: {"description": "A record does not fit the domain schema"},
               429: {"description": "Over the monthly prediction allowance"}},
    route_class_override=PredictRoute)


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
