"""The tools one tenant sees, generated from what it has enabled.

One ``predict_<domain>`` per enabled domain (its input schema is the domain's record model,
with each field's description, bounds and, once a champion exists, the range seen in
training; its output schema is the REST answer), and four tools every tenant has:
``report_outcome``, ``explain_prediction``, ``what_would_change`` and ``list_domains``.
"""

from __future__ import annotations

import copy
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import mcp_types as types
from sqlalchemy import select

from tracer.api.mcp.schemas import (
    DomainsOut,
    ExplainIn,
    ExplainOut,
    ReportOutcomeIn,
    ReportOutcomeOut,
    WhatIfIn,
    WhatIfOut,
)
from tracer.api.schemas import PredictResponse
from tracer.db import session
from tracer.errors import TracerError
from tracer.explain import format_value
from tracer.models import DomainInstall
from tracer.whatif import training_ranges

if TYPE_CHECKING:
    from pydantic import BaseModel

    from tracer.api.deps import Platform
    from tracer.domain import Domain

PREDICT = "predict_"
REPORT, EXPLAIN, WHAT_IF, LIST = ("report_outcome", "explain_prediction",
                                  "what_would_change", "list_domains")


def predict_tool_name(domain: str) -> str:
    """``acme/churn-30d`` → ``predict_acme_churn-30d`` (tool names allow no '/' or
    '.'; domain names have no '_', so the mapping is one to one)."""
    return PREDICT + domain.replace("/", "_").replace(".", "_")


def domain_for_tool(platform: Platform, tool: str) -> str | None:
    """The loaded domain a ``predict_…`` tool name stands for (None: no such domain)."""
    for name in platform.host.domains:
        if predict_tool_name(name) == tool:
            return name
    return None


def enabled_domains(platform: Platform, tenant_id: str) -> list[Domain]:
    with session(platform.settings) as s:
        names = set(s.scalars(select(DomainInstall.domain).where(
            DomainInstall.tenant_id == tenant_id, DomainInstall.enabled.is_(True))))
    return [d for n, d in sorted(platform.host.domains.items()) if n in names]


def tools_for(platform: Platform, tenant_id: str) -> list[types.Tool]:
    domains = enabled_domains(platform, tenant_id)
    return [*(predict_tool(platform, d, tenant_id) for d in domains), *common_tools()]


@lru_cache(maxsize=64)
def _schema(model: type[BaseModel]) -> dict[str, Any]:
    return model.model_json_schema(by_alias=True)


#: predict tools by (domain, its version, champion, its version, batch limit): schemas cost
#: milliseconds to generate, and an agent's client lists tools often
_PREDICT_TOOLS: dict[tuple[str, str, str, int, int], types.Tool] = {}


def record_schema(domain: Domain, ranges: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The record model's JSON schema, each field's description saying its training range."""
    schema = copy.deepcopy(domain.record.model_json_schema())
    for field, r in ranges.items():
        prop = schema.get("properties", {}).get(field)
        if prop is not None:
            seen = f"seen in training: {format_value(r['min'])} to {format_value(r['max'])}"
            prop["description"] = f"{prop.get('description', field)} ({seen})"
    return schema


def predict_tool(platform: Platform, domain: Domain, tenant_id: str) -> types.Tool:
    try:
        scorer = platform.champions.scorer(domain, tenant_id)
    except TracerError:  # no champion yet: the schema's own bounds only
        return _predict_tool(domain, {}, platform.settings.api.max_batch_rows)
    limit = platform.settings.api.max_batch_rows
    key = (domain.name, domain.version, scorer.name, scorer.version, limit)
    tool = _PREDICT_TOOLS.get(key)
    if tool is None:
        if len(_PREDICT_TOOLS) >= 1_000:
            _PREDICT_TOOLS.clear()
        tool = _PREDICT_TOOLS[key] = _predict_tool(domain, training_ranges(scorer), limit)
    return tool


def _predict_tool(domain: Domain, ranges: dict[str, dict[str, Any]], limit: int
                  ) -> types.Tool:
    record = record_schema(domain, ranges)
    defs = record.pop("$defs", {})
    schema: dict[str, Any] = {
        "type": "object", "additionalProperties": False,
        "description": "Send exactly one of `record` or `records`.",
        "properties": {
            "record": {**record, "description": f"One record of {domain.name}: "
                       f"{record.get('description') or domain.title}"},
            "records": {"type": "array", "items": record, "minItems": 1, "maxItems": limit,
                        "description": f"A batch of at most {limit:,} records (setting "
                        "api.max_batch_rows); answers come back in the same order."},
            "top": {"type": "integer", "minimum": 1, "maximum": 20, "default": 5,
                    "description": "Factors per answer."},
            "idempotency_key": {"type": "string", "maxLength": 200,
                                "description": WhatIfIn.model_fields["idempotency_key"]
                                .description}}}
    if defs:
        schema["$defs"] = defs
    return types.Tool(
        name=predict_tool_name(domain.name), title=f"Predict: {domain.title}",
        description=(
            f"{domain.title}. {domain.description} Answers the probability that "
            f"{domain.outcome}, the label at the model's decision threshold, the base rate, "
            "ranked factors with sentences, a one-line summary, the model version and a "
            "`prediction_id` (keep it for report_outcome, explain_prediction and "
            "what_would_change). Every answered record is stored and metered as one "
            "prediction."),
        input_schema=schema, output_schema=_schema(PredictResponse),
        annotations=types.ToolAnnotations(read_only_hint=False, destructive_hint=False,
                                          idempotent_hint=False, open_world_hint=False))


@lru_cache(maxsize=1)
def common_tools() -> tuple[types.Tool, ...]:
    def tool(name: str, title: str, description: str, arguments: type[BaseModel] | None,
             answer: type[BaseModel], read_only: bool) -> types.Tool:
        schema = _schema(arguments) if arguments else {"type": "object", "properties": {},
                                                         "additionalProperties": False}
        return types.Tool(name=name, title=title, description=description,
                          input_schema=schema, output_schema=_schema(answer),
                          annotations=types.ToolAnnotations(
                              read_only_hint=read_only, destructive_hint=False,
                              idempotent_hint=name != WHAT_IF, open_world_hint=False))

    return (
        tool(REPORT, "Report an outcome", "Report what actually happened for an earlier "
             "prediction (1: the outcome happened, 0: it did not). It feeds live metrics, "
             "drift and the retraining loop; reporting the same outcome again changes "
             "nothing, a different one is refused.", ReportOutcomeIn, ReportOutcomeOut,
             False),
        tool(EXPLAIN, "Explain a prediction", "The stored answer of an earlier prediction "
             "and its reasons: the record as scored, probability, label, threshold, base "
             "rate, ranked factors with sentences and summary from the model version that "
             "answered, and the outcome once reported. Not metered.", ExplainIn, ExplainOut,
             True),
        tool(WHAT_IF, "What would change it", "The smallest changes of a record that flip "
             "the model's label, each within the range its field had in training data and "
             "checked against the model (searched, not guessed), with a sentence each. "
             "Give a `prediction_id`, or a `domain` and a `record` (predicted first, stored "
             "and metered as one prediction).", WhatIfIn, WhatIfOut, False),
        tool(LIST, "List domains", "The domains this key can predict, each with its tool, "
             "outcome, the champion model's version, its primary metric on held-out data "
             "and its calibration.", None, DomainsOut, True),
    )
