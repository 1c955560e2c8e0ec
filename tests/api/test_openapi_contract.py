"""The OpenAPI document describes every answer (issue 18): each operation lists its error
statuses as RFC 9457 problem documents, each route's success (core's and the plugins':
registry, certification, ledger) has a typed schema (its response model), and every link
names an operation of the document."""

from __future__ import annotations

import re

import pytest

METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture
def document(client):
    return client.get("/openapi.json").json()


def _typed(schema: dict | None) -> bool:
    if not schema:
        return False
    if "$ref" in schema or "anyOf" in schema:
        return True
    if schema.get("type") == "array":
        return _typed(schema.get("items"))
    return bool(schema.get("properties"))


def _core_operations() -> set[tuple[str, str]]:
    from tracer.api.routes import ROUTERS
    from tracer.api.routes.domains import describe_router

    out = set()
    for router in (*ROUTERS, describe_router):
        for route in router.routes:
            path = re.sub(r"\{(\w+):path\}", r"{\1}", route.path)
            out |= {(m.lower(), path) for m in route.methods}
    return out


def test_every_error_is_a_documented_problem(document):
    operations = 0
    for path, item in document["paths"].items():
        for method in METHODS:
            if method not in item:
                continue
            operations += 1
            responses = item[method]["responses"]
            errors = [s for s in responses if s.isdigit() and int(s) >= 400]
            assert {"404", "422"} <= set(errors), (method, path, errors)
            for status in errors:
                content = responses[status]["content"]
                assert list(content) == ["application/problem+json"], (method, path, status)
                assert content["application/problem+json"]["schema"] == {
                    "$ref": "#/components/schemas/Problem"}
    assert operations >= 70


def test_every_core_route_declares_its_answer(document):
    core = _core_operations()
    untyped = []
    for method, path in sorted(core):
        responses = document["paths"][path][method]["responses"]
        for status, entry in responses.items():
            if status.startswith("2") and status != "204":
                schema = entry.get("content", {}).get("application/json", {}).get("schema")
                if not _typed(schema):
                    untyped.append((method, path, status))
    assert len(core) >= 37 and not untyped, untyped
    predict = document["paths"]["/v1/domains/{domain}/predict"]["post"]["responses"]["200"]
    assert predict["content"]["application/json"]["schema"]["$ref"] == (
        "#/components/schemas/PredictResponse")


def test_every_plugin_route_declares_its_answer(document):
    core = _core_operations()
    plugin, untyped = [], []
    for path, item in document["paths"].items():
        for method in METHODS:
            if method not in item or (method, path) in core:
                continue
            plugin.append((method, path))
            for status, entry in item[method]["responses"].items():
                if status.startswith("2") and status != "204":
                    schema = entry.get("content", {}).get("application/json", {}).get("schema")
                    if not _typed(schema):
                        untyped.append((method, path, status))
    assert len(plugin) >= 34 and not untyped, untyped


def test_links_name_operations_of_the_document(document):
    ids = {op["operationId"] for item in document["paths"].values()
           for m, op in item.items() if m in METHODS}
    links = [(path, name, link) for path, item in document["paths"].items()
             for m, op in item.items() if m in METHODS
             for entry in op["responses"].values()
             for name, link in entry.get("links", {}).items()]
    assert len(links) >= 30
    assert all(link["operationId"] in ids for _, _, link in links)
    predict = document["paths"]["/v1/domains"]["get"]["responses"]["200"]["links"]["Predict"]
    assert predict["requestBody"]["record"], "the list's first domain, with a real record"

    def linked(path: str, method: str, status: str) -> set[str]:
        entry = document["paths"][path][method]["responses"][status]
        return set(entry.get("links", {}))

    # the feedback loop: predict → outcome → correction, and back from each read
    assert {"ReadPrediction", "ReportOutcome"} <= linked(
        "/v1/domains/{domain}/predict", "post", "200")
    assert {"ReadOutcome", "CorrectOutcome"} <= linked("/v1/feedback", "post", "200")
    assert "CorrectOutcome" in linked("/v1/outcomes/{outcome_id}", "get", "200")
    assert "ReportOutcome" in linked("/v1/predictions/{prediction_id}", "get", "200")
    # the plugins' tables (registered by their tracer_routes hooks)
    assert {"ReadListing", "Install"} <= linked("/v1/catalog", "get", "200")
    assert "ClaimReview" in linked("/v1/certification/queue", "get", "200")
    assert "ReadStatement" in linked("/v1/payouts/statements", "get", "200")
