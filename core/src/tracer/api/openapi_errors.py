"""The errors in the OpenAPI document: every operation lists the problem documents
(``application/problem+json``, RFC 9457) it can answer with, and every success response
has a schema.

The statuses follow from what an operation is, as the handlers in
:mod:`tracer.api.problems` answer them: an authenticated operation can be refused 401/403;
any operation 404 (unknown domain or object, or not yours) and 422 (a parameter, header or
body field that does not fit, named with where); one that takes a body 400 (unparseable)
and 413 (over a named limit); one that changes state or names a domain 409 (state forbids
it: not enabled, exists already, a reused Idempotency-Key) and 429 (over an allowance);
one that names a domain 410 (its plugin was revoked). The schema fuzzing in CI
(``tests/api/test_fuzz.py``) fails on any status or body this document does not describe.
"""

from __future__ import annotations

from typing import Any

PROBLEM_JSON = "application/problem+json"

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "An RFC 9457 problem document: what was wrong (`detail`) and where "
                   "(`errors`, each with `where`, and the record `index` and `field` when "
                   "they apply).",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "description": "A URI naming the kind of problem."},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string", "description": "One sentence: what and where."},
        "instance": {"type": "string", "description": "The request path."},
        "errors": {"type": "array", "items": {"type": "object"},
                   "description": "Each problem found, with `where`/`index`/`field`/"
                                  "`message` (or `row`/`column` for files)."},
        "setting": {"type": "string", "description": "The setting that sets a limit."},
        "limit": {"type": "integer"},
    },
    "additionalProperties": True,
}

WHAT = {
    400: "The request cannot be read (unparseable body or form)",
    401: "No API key, or an unknown or revoked one",
    403: "The key's role may not do this",
    404: "No such domain, object or route (or it is not yours)",
    409: "The state forbids it: not installed or enabled, exists already, still running, "
         "or an Idempotency-Key reused with another request",
    410: "The domain's plugin was revoked by the registry",
    413: "Over a named limit (body, batch, upload, count); the problem names the setting",
    422: "A parameter, header or body field does not fit; the problem names each and where",
    429: "Over the tier's monthly allowance",
}


def statuses_of(path: str, method: str, operation: dict[str, Any]) -> set[int]:
    statuses = {404, 422}
    if operation.get("security"):
        statuses |= {401, 403}
    if "requestBody" in operation or method in ("post", "put", "patch"):
        statuses |= {400, 413}
    if method != "get" or "{domain" in path:
        statuses |= {409, 429}
    if "{domain" in path:
        statuses.add(410)
    return statuses


def document_errors(schema: dict[str, Any], links: dict[Any, Any] | None = None
                    ) -> dict[str, Any]:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = PROBLEM_SCHEMA
    problem = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            errors = {int(s) for s in responses if s.isdigit() and int(s) >= 400}
            for status in sorted(errors | statuses_of(path, method, operation)):
                entry = responses.setdefault(str(status), {})
                if not entry.get("description") or entry["description"] == "Validation Error":
                    entry["description"] = WHAT.get(status, "A problem")
                entry["content"] = problem
            for status, entry in responses.items():
                if status.startswith("2") and status != "204":
                    _success_schema(entry)
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    from tracer.api.openapi_links import add_links

    return add_links(schema, links)


def _success_schema(entry: dict[str, Any]) -> None:
    content = entry.setdefault("content", {}).setdefault("application/json", {})
    declared = content.get("schema")
    if not declared:
        content["schema"] = {"type": "object", "additionalProperties": True}
