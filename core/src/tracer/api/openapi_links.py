"""OpenAPI links: how the answer of one operation feeds the next (``links`` of a
response). A client, an agent or the stateful fuzzer (``tests/api/test_fuzz_stateful.py``)
follows them: list the domains → install one → enable it → upload a dataset → read it →
train → read the job → predict → read the prediction → report its outcome → read and
correct the outcome; issue a key → revoke it.

Plugins add their own (the registry: catalog → listing → install; certification queue →
review → statement): their ``tracer_routes`` hook calls :func:`register` with a table of
the same shape, kept on ``app.state`` like the upload paths.

Each link names its target by ``operationId``, looked up here from the target's method and
path, so the table stays readable and survives FastAPI renaming its generated ids.
Links whose source or target is not in the document (a plugin not loaded) are left out.
"""

from __future__ import annotations

from typing import Any

DOMAIN = {"domain": "$request.path.domain"}
FIRST = {"domain": "$response.body#/domains/0/name"}
#: the request body of the predict operation's first example: one record of the first
#: domain in the list (the domains are listed, and their examples made, in name order)
EXAMPLE = "example"
#: what a tenant does with an enabled domain
DOMAIN_OPERATIONS = [
    ("Predict", "post", "/v1/domains/{domain}/predict"),
    ("UploadDataset", "post", "/v1/domains/{domain}/datasets"),
    ("StartJob", "post", "/v1/domains/{domain}/jobs"),
    ("PutPolicy", "put", "/v1/domains/{domain}/retraining-policy"),
    ("Models", "get", "/v1/domains/{domain}/models"),
    ("Metrics", "get", "/v1/domains/{domain}/metrics"),
    ("Disable", "post", "/v1/domains/{domain}/disable"),
]
#: (method, path, status) of the source -> [(link name, method, path of the target,
#: parameters, request body or None)]
LINKS: dict[tuple[str, str, str], list[tuple[str, str, str, dict[str, str], Any]]] = {
    ("get", "/v1/domains", "200"): [
        ("DescribeDomain", "get", "/v1/domains/{domain}", FIRST, None),
        ("InstallDomain", "post", "/v1/domains/{domain}/install", FIRST, None),
        ("EnableDomain", "post", "/v1/domains/{domain}/enable", FIRST, None),
        *((name, method, path, FIRST, EXAMPLE if name == "Predict" else None)
          for name, method, path in DOMAIN_OPERATIONS)],
    ("post", "/v1/domains/{domain}/install", "201"): [
        ("EnableDomain", "post", "/v1/domains/{domain}/enable", DOMAIN, None),
    ],
    ("post", "/v1/domains/{domain}/enable", "200"): [
        (name, method, path, DOMAIN, None) for name, method, path in DOMAIN_OPERATIONS],
    ("post", "/v1/domains/{domain}/datasets", "201"): [
        ("ReadDataset", "get", "/v1/datasets/{dataset_id}",
         {"dataset_id": "$response.body#/id"}, None),
        ("DeleteDataset", "delete", "/v1/datasets/{dataset_id}",
         {"dataset_id": "$response.body#/id"}, None),
        ("TrainOnIt", "post", "/v1/domains/{domain}/jobs", DOMAIN,
         {"dataset_ids": ["$response.body#/id"]}),
    ],
    ("get", "/v1/datasets", "200"): [
        ("ReadDataset", "get", "/v1/datasets/{dataset_id}",
         {"dataset_id": "$response.body#/datasets/0/id"}, None),
    ],
    ("post", "/v1/domains/{domain}/jobs", "202"): [
        ("ReadJob", "get", "/v1/jobs/{job_id}", {"job_id": "$response.body#/id"}, None),
        ("CancelJob", "post", "/v1/jobs/{job_id}/cancel", {"job_id": "$response.body#/id"},
         None),
    ],
    ("get", "/v1/jobs/{job_id}", "200"): [
        ("CancelJob", "post", "/v1/jobs/{job_id}/cancel", {"job_id": "$request.path.job_id"},
         None),
    ],
    ("post", "/v1/domains/{domain}/retrain", "202"): [
        ("ReadJob", "get", "/v1/jobs/{job_id}", {"job_id": "$response.body#/id"}, None),
    ],
    ("get", "/v1/jobs", "200"): [
        ("ReadJob", "get", "/v1/jobs/{job_id}", {"job_id": "$response.body#/jobs/0/id"}, None),
    ],
    ("get", "/v1/domains/{domain}/models", "200"): [
        ("Promote", "post", "/v1/domains/{domain}/models/{version}/promote",
         {**DOMAIN, "version": "$response.body#/versions/0/version"}, None),
        ("Rollback", "post", "/v1/domains/{domain}/rollback", DOMAIN, None),
    ],
    ("post", "/v1/domains/{domain}/predict", "200"): [
        ("ReadPrediction", "get", "/v1/predictions/{prediction_id}",
         {"prediction_id": "$response.body#/predictions/0/prediction_id"}, None),
        ("ReportOutcome", "post", "/v1/feedback", {}, {"outcomes": [
            {"prediction_id": "$response.body#/predictions/0/prediction_id", "outcome": 1}]}),
        ("Drift", "get", "/v1/domains/{domain}/drift", DOMAIN, None),
    ],
    ("post", "/v1/feedback", "200"): [
        ("ReadOutcome", "get", "/v1/outcomes/{outcome_id}",
         {"outcome_id": "$response.body#/outcome_ids/0"}, None),
        ("CorrectOutcome", "post", "/v1/outcomes/{outcome_id}/corrections",
         {"outcome_id": "$response.body#/outcome_ids/0"},
         {"outcome": 0, "reason": "overturned (linked)"}),
    ],
    ("get", "/v1/outcomes/{outcome_id}", "200"): [
        ("CorrectOutcome", "post", "/v1/outcomes/{outcome_id}/corrections",
         {"outcome_id": "$request.path.outcome_id"}, None),
        ("ReadPrediction", "get", "/v1/predictions/{prediction_id}",
         {"prediction_id": "$response.body#/prediction_id"}, None),
    ],
    ("get", "/v1/predictions/{prediction_id}", "200"): [
        ("ReportOutcome", "post", "/v1/feedback", {}, {"outcomes": [
            {"prediction_id": "$request.path.prediction_id", "outcome": 0}]}),
    ],
    ("put", "/v1/domains/{domain}/retraining-policy", "200"): [
        ("ReadPolicy", "get", "/v1/domains/{domain}/retraining-policy", DOMAIN, None),
        ("PatchPolicy", "patch", "/v1/domains/{domain}/retraining-policy", DOMAIN, None),
        ("Retrain", "post", "/v1/domains/{domain}/retrain", DOMAIN, None),
        ("Decisions", "get", "/v1/domains/{domain}/retraining-decisions", DOMAIN, None),
    ],
    ("get", "/v1/domains/{domain}/retraining-decisions", "200"): [
        ("ReadDecision", "get", "/v1/retraining-decisions/{decision_id}",
         {"decision_id": "$response.body#/decisions/0/id"}, None),
    ],
    ("post", "/v1/keys", "201"): [
        ("RevokeKey", "delete", "/v1/keys/{key_id}", {"key_id": "$response.body#/id"}, None),
    ],
    ("post", "/v1/admin/keys", "201"): [
        ("RevokeKey", "delete", "/v1/admin/keys/{key_id}", {"key_id": "$response.body#/id"},
         None),
    ],
    ("get", "/v1/admin/tenants", "200"): [
        ("TenantKeys", "get", "/v1/admin/keys",
         {"query.tenant_id": "$response.body#/tenants/0/id"}, None),
    ],
    ("post", "/v1/admin/tenants", "201"): [
        ("TenantKeys", "get", "/v1/admin/keys", {"query.tenant_id": "$response.body#/id"},
         None),
        ("IssueTenantKey", "post", "/v1/admin/keys", {}, {
            "role": "tenant", "tenant_id": "$response.body#/id", "name": "linked"}),
    ],
}


Table = dict[tuple[str, str, str], list[tuple[str, str, str, dict[str, str], Any]]]


def register(app: Any, table: Table) -> None:
    """Add a plugin's links (same shape as :data:`LINKS`) to those the document gets."""
    extra: Table = getattr(app.state, "openapi_links", None) or {}
    for source, links in table.items():
        extra[source] = [*extra.get(source, []), *links]
    app.state.openapi_links = extra


def add_links(schema: dict[str, Any], extra: Table | None = None) -> dict[str, Any]:
    paths = schema.get("paths", {})
    predict = paths.get("/v1/domains/{domain}/predict", {}).get("post", {})
    examples = (predict.get("requestBody", {}).get("content", {}).get("application/json", {})
                .get("examples") or {})
    first: dict[str, Any] = next(iter(examples.values()), {})
    example = first.get("value")

    def operation_id(method: str, path: str) -> str | None:
        found = paths.get(path, {}).get(method)
        return found.get("operationId") if isinstance(found, dict) else None

    table: Table = {key: list(value) for key, value in LINKS.items()}
    for key, value in (extra or {}).items():
        table[key] = [*table.get(key, []), *value]
    for (method, path, status), links in table.items():
        source = paths.get(path, {}).get(method)
        response = source and source.get("responses", {}).get(status)
        if not response:
            continue
        for name, target_method, target_path, parameters, body in links:
            target = operation_id(target_method, target_path)
            if target is None:
                continue
            link: dict[str, Any] = {"operationId": target, "description": (
                f"{target_method.upper()} {target_path} with what this answer names")}
            if parameters:
                link["parameters"] = parameters
            if body == EXAMPLE:
                body = example
            if body is not None:
                # the whole body, not merged into a generated one (schemathesis' extension)
                link["requestBody"] = body
                link["x-schemathesis"] = {"merge_body": False}
            response.setdefault("links", {})[name] = link
    return schema
