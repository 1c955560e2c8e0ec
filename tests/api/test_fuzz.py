"""Schema fuzzing of the whole OpenAPI document against the live app over real HTTP.

schemathesis draws requests for every operation from the document (valid ones and, one in
two, invalid ones); each is sent to uvicorn on 127.0.0.1 with the key of one of two tenants,
an admin, a publisher, a reviewer, or none. Every response must be no 5xx, a status the
document lists, of the content type it lists, with a body that fits its schema. One in
three requests with an id in its path asks for an object of a third tenant (``bystander``)
instead: a non-admin caller must get 404, and at the end every row of the bystander is as
it was. Bounded: ``TRACER_FUZZ_EXAMPLES`` examples per operation (default 10), drawn
deterministically, so CI spends about the same few minutes on every run.
"""

from __future__ import annotations

import os
from collections import Counter

import pytest

from tests.api.conftest import LOL, enable, records_of, train_champion, upload

pytestmark = pytest.mark.fuzz
EXAMPLES = int(os.environ.get("TRACER_FUZZ_EXAMPLES", "10"))


def _bystander_rows(settings, tenant: str) -> dict[str, list[tuple]]:
    """The bystander's rows of every table that has a tenant column."""
    from sqlalchemy import inspect, text
    from tracer.db import engine_for

    engine = engine_for(settings.platform_db_url)
    out = {}
    with engine.connect() as c:
        for table in inspect(c).get_table_names():
            if "tenant_id" in {col["name"] for col in inspect(c).get_columns(table)}:
                rows = c.execute(text(f'SELECT * FROM "{table}" WHERE tenant_id = :t'),
                                 {"t": tenant})
                out[table] = sorted(tuple(map(repr, r)) for r in rows)
    return out


def test_schema_fuzzing_two_tenants_every_role(app, client, make_caller, host, store,
                                               lol_reference, record_property):
    import requests
    import schemathesis
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import strategies as st
    from schemathesis import GenerationMode
    from schemathesis.checks import (
        content_type_conformance,
        not_a_server_error,
        response_schema_conformance,
        status_code_conformance,
    )

    from tests.api.live import serving

    acme, globex, bystander = (make_caller(t) for t in ("acme", "globex", "bystander"))
    for caller in (acme, globex, bystander):
        enable(client, caller)
    train_champion(host, store, "acme", lol_reference.head(300))
    train_champion(host, store, "bystander", lol_reference.head(300))
    answer = client.post(f"/v1/domains/{LOL}/predict", headers=bystander.headers,
                         json={"records": records_of(lol_reference.tail(2))})
    prediction = answer.json()["predictions"][0]["prediction_id"]
    outcome = client.post("/v1/feedback", headers=bystander.headers, json={"outcomes": [
        {"prediction_id": prediction, "outcome": 1}]}).json()["outcome_ids"][0]
    dataset = upload(client, bystander, lol_reference.head(60))["id"]
    stolen = {"prediction_id": prediction, "outcome_id": outcome, "dataset_id": dataset,
              "key_id": bystander.key_id}
    callers = [acme, globex, make_caller(role="admin"), make_caller(role="publisher"),
               make_caller(role="reviewer"), None]
    before = _bystander_rows(store.settings, "bystander")

    checks = {"5xx": not_a_server_error, "undocumented status": status_code_conformance,
              "undocumented content type": content_type_conformance,
              "schema violation": response_schema_conformance}
    failures, leaks, requests_sent, operations = [], [], 0, 0
    with serving(app) as url, requests.Session() as http:
        # fetched here, not by from_url: its 10-second read timeout is a wall clock, and
        # the first document builds each domain's example record
        document = http.get(f"{url}/openapi.json").json()
        schema = schemathesis.openapi.from_dict(document)
        for result in schema.get_all_operations():
            operation = result.ok()
            operations += 1
            cases = st.one_of(operation.as_strategy(GenerationMode.POSITIVE),
                              operation.as_strategy(GenerationMode.NEGATIVE))

            def send(case, who, steal: int, label: str = operation.label) -> None:
                nonlocal requests_sent
                ids = [p for p in (case.path_parameters or {}) if p in stolen]
                stealing = bool(ids) and steal == 0 and who is not None and who.tenant
                if stealing:
                    case.path_parameters = {**case.path_parameters,
                                            **{p: stolen[p] for p in ids}}
                headers = dict(case.headers or {})
                headers.pop("Authorization", None)
                if who is not None:
                    headers["Authorization"] = f"Bearer {who.key}"
                case.headers = headers
                response = case.call(base_url=url, session=http)
                requests_sent += 1
                if stealing and response.status_code < 400:
                    leaks.append((label, response.status_code))
                for what, check in checks.items():
                    try:
                        case.validate_response(response, checks=[check])
                    except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 -- counted
                        lines = [x.strip() for x in str(exc).splitlines() if x.strip()]
                        failures.append((what, label, response.status_code,
                                         " | ".join(lines[:4])[:300]))

            given(case=cases, who=st.sampled_from(callers), steal=st.integers(0, 2))(
                settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                         database=None, phases=[Phase.explicit, Phase.generate],
                         suppress_health_check=list(HealthCheck))(
                    lambda case, who, steal: send(case, who, steal)))()
    kinds = Counter(what for what, *_ in failures)
    figures = {"operations": operations, "requests": requests_sent, "5xx": kinds["5xx"],
               "schema violations": kinds["schema violation"],
               "undocumented statuses": kinds["undocumented status"],
               "undocumented content types": kinds["undocumented content type"],
               "cross_tenant": len(leaks)}
    record_property("fuzz", figures)
    print(f"schema fuzzing: {figures}")
    shown = sorted(set(failures))
    assert not failures, f"{len(failures)} failures, e.g.: " + "\n".join(map(str, shown[:40]))
    assert not leaks, leaks
    assert _bystander_rows(store.settings, "bystander") == before
