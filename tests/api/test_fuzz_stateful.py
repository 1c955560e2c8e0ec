"""Stateful fuzzing: schemathesis follows the OpenAPI document's links (list the domains →
install → enable → upload a dataset → read it → train on it → read the job; predict → read
the prediction → report its outcome → read and correct it; issue a key → revoke it; create
a tenant → issue it a key) over real HTTP to uvicorn on 127.0.0.1.

Each scenario is one caller's: two tenants (both with a champion of the first domain
listed, ``acme`` of LoL too; each twice as often as the others), an admin, a publisher,
a reviewer and no key, in turn.
Every response must be no 5xx, of a status and content type the document lists, with a
body its schema describes; an object created in a scenario must be readable through its
link and gone once deleted (schemathesis' ``ensure_resource_availability`` and
``use_after_free``). Every object a tenant reads by id is asked for again with the other
tenant's key: it must be a 404.
Then ``TRACER_FUZZ_LOOP_SCENARIOS`` more (default 20), the tenants', over the feedback loop's
operations only: among the document's many operations its entries are rarely drawn. The
figures count the requests each followed link made, by answer (2xx or other), and the test
requires predict → report the outcome and report → correct it to have been answered 2xx.
Bounded and deterministic: ``TRACER_FUZZ_SCENARIOS`` scenarios (default 80) of at most
``TRACER_FUZZ_STEPS`` steps (default 15), drawn from fixed seeds.
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict

import pytest

from tests.api.conftest import LOL, enable, train_champion

pytestmark = pytest.mark.fuzz
SCENARIOS = int(os.environ.get("TRACER_FUZZ_SCENARIOS", "80"))
STEPS = int(os.environ.get("TRACER_FUZZ_STEPS", "15"))
LOOP_SCENARIOS = int(os.environ.get("TRACER_FUZZ_LOOP_SCENARIOS", "20"))
#: the feedback loop's operations
LOOP = (r"^/v1/(domains|domains/\{domain\}/predict|predictions/\{prediction_id\}|feedback"
        r"|outcomes/\{outcome_id\}|outcomes/\{outcome_id\}/corrections)$")
DOTA = "esports/dota2-draft"


def _checks():
    from schemathesis.checks import (
        content_type_conformance,
        not_a_server_error,
        response_schema_conformance,
        status_code_conformance,
    )
    from schemathesis.specs.openapi.checks import ensure_resource_availability, use_after_free

    return {"5xx": not_a_server_error, "undocumented status": status_code_conformance,
            "undocumented content type": content_type_conformance,
            "schema violation": response_schema_conformance,
            "created but not found": ensure_resource_availability,
            "found after delete": use_after_free}


def test_stateful_fuzzing_follows_links(app, client, make_caller, host, store,
                                        lol_reference, record_property):
    import hypothesis
    import requests
    import schemathesis
    from hypothesis import HealthCheck, Phase, settings
    from hypothesis.errors import Flaky, Unsatisfiable
    from tracer_esports.dota2 import load_reference as dota_reference

    from tests.api.live import serving

    acme, globex = make_caller("acme"), make_caller("globex")
    for caller in (acme, globex):
        enable(client, caller)
        enable(client, caller, DOTA)
    train_champion(host, store, "acme", lol_reference.head(300))
    from tracer import lifecycle

    for tenant in ("acme", "globex"):  # the first domain listed: where the links lead
        lifecycle.train(host, store, DOTA, data=dota_reference().head(300), tenant=tenant)
    # tenants twice as often: most linked operations are theirs
    callers = [acme, globex, make_caller(role="admin"), acme, globex,
               make_caller(role="publisher"), make_caller(role="reviewer"), None]

    def revive() -> None:
        """A fuzzed DELETE may revoke one of the callers' own keys (the first key a list
        names is the caller's): issue the caller a new one, so later scenarios still run."""
        from tracer.db import session
        from tracer.models import ApiKey

        with session(store.settings) as s:
            for caller in filter(None, callers):
                if s.get(ApiKey, caller.key_id).revoked_at is not None:
                    fresh = make_caller(caller.tenant, role=s.get(ApiKey, caller.key_id).role)
                    other.pop(caller.key, None)
                    caller.key, caller.key_id = fresh.key, fresh.key_id
        other.update({acme.key: globex, globex.key: acme})

    other = {acme.key: globex, globex.key: acme}
    checks = _checks()
    seen = {"requests": 0, "scenarios": 0, "restarts": 0, "operations": set(), "links followed": 0,
            "statuses": Counter(), "transitions": defaultdict(Counter),
            "answered": defaultdict(list)}
    failures: list[tuple[str, str, int, str]] = []
    leaks: list[tuple[str, int]] = []

    with serving(app) as url, requests.Session() as http:
        document = http.get(f"{url}/openapi.json").json()
        schema = schemathesis.openapi.from_dict(document)

        def machine(schema):
            Base = schema.as_state_machine()

            class Workflow(Base):  # type: ignore[misc, valid-type]
                def setup(self) -> None:
                    self.who = pool[seen["scenarios"] % len(pool)]
                    seen["scenarios"] += 1

                def step(self, input):
                    self.link = None
                    if input.transition is not None and input.is_applied:
                        seen["links followed"] += 1
                        self.link = input.transition.id
                    return super().step(input)

                def call(self, case, **kwargs):
                    headers = {k: v for k, v in (case.headers or {}).items()
                               if k.lower() != "authorization"}
                    if self.who is not None:
                        headers["Authorization"] = f"Bearer {self.who.key}"
                    case.headers = headers
                    response = case.call(base_url=url, session=http)
                    seen["requests"] += 1
                    seen["operations"].add(case.operation.label)
                    seen["statuses"][response.status_code] += 1
                    seen["answered"][case.operation.label].append(response.status_code)
                    if getattr(self, "link", None):  # the request a followed link made
                        seen["transitions"][self.link][
                            "2xx" if response.status_code < 300 else "other"] += 1
                        self.link = None
                    self._cross_tenant(case, response)
                    if case.method.upper() == "DELETE" and response.status_code == 200:
                        revive()
                    return response

                def _cross_tenant(self, case, response) -> None:
                    ids = [p for p in (case.path_parameters or {}) if p.endswith("_id")]
                    if (case.method.upper() != "GET" or not ids or response.status_code != 200
                            or self.who is None or self.who.key not in other):
                        return
                    thief = other[self.who.key]
                    stolen = http.get(response.request.url,
                                      headers={"Authorization": f"Bearer {thief.key}"})
                    seen["requests"] += 1
                    if stolen.status_code != 404:
                        leaks.append((case.operation.label, stolen.status_code))

                def validate_response(self, response, case, additional_checks=None, **kwargs):
                    for what, check in checks.items():
                        try:
                            case.validate_response(response, checks=[check],
                                                   recorder=self.recorder)
                        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 -- counted
                            # a check's failures come as a group (not an Exception): the first
                            # line names the failure, the indented ones say where
                            lines = [x.strip() for x in str(exc).splitlines() if x.strip()]
                            failures.append((what, case.operation.label, response.status_code,
                                             " | ".join(lines[:4])[:300]))
            return Workflow

        # A live server is state Hypothesis cannot replay: when a scenario draws
        # differently the second time (``Flaky``), go on with the next seed, as the
        # schemathesis runner does, until the scenarios are spent. Seeds 0, 1, ...: the
        # same requests on every run with the same code.
        def run(workflow, scenarios: int, first_seed: int) -> None:
            target = seen["scenarios"] + scenarios
            for attempt in range(scenarios):
                left = target - seen["scenarios"]
                if left <= 0:
                    break
                try:
                    hypothesis.seed(first_seed + attempt)(workflow).run(settings=settings(
                        max_examples=left, stateful_step_count=STEPS, deadline=None,
                        database=None, phases=[Phase.generate],
                        suppress_health_check=list(HealthCheck)))
                except (Flaky, Unsatisfiable):
                    seen["restarts"] += 1

        pool = callers
        run(machine(schema), SCENARIOS, 0)
        # the feedback loop has few entries among the document's many operations: its own
        # scenarios, the two tenants', over its operations only (list the domains →
        # predict → read the prediction → report the outcome → read and correct it)
        pool = [acme, globex]
        run(machine(schema.include(path_regex=LOOP)), LOOP_SCENARIOS, SCENARIOS)
    kinds = Counter(what for what, *_ in failures)
    figures = {"operations in the document": sum(
        1 for item in document["paths"].values() for m in item if m in (
            "get", "post", "put", "patch", "delete")),
        "operations reached": len(seen["operations"]),
        "operations answered 2xx": sum(1 for codes in seen["answered"].values()
                                       if any(200 <= c < 300 for c in codes)),
        "scenarios": seen["scenarios"],
        "restarts": seen["restarts"],
        "requests": seen["requests"],
        "links in the document": sum(
            len(r.get("links", {})) for item in document["paths"].values()
            for op in item.values() if isinstance(op, dict)
            for r in op.get("responses", {}).values()),
        "links followed": seen["links followed"],
        "transitions exercised": len(seen["transitions"]),
        "transitions answered 2xx": sum(1 for c in seen["transitions"].values() if c["2xx"]),
        "5xx": kinds["5xx"], "schema violations": kinds["schema violation"],
        "undocumented statuses": kinds["undocumented status"],
        "other failures": sum(kinds.values()) - kinds["5xx"] - kinds["schema violation"]
        - kinds["undocumented status"], "cross-tenant reads": len(leaks),
        "statuses": dict(sorted(seen["statuses"].items()))}
    record_property("stateful_fuzz", figures)
    chain = {link: dict(counts) for link, counts in sorted(seen["transitions"].items())}
    record_property("stateful_fuzz_transitions", chain)
    print(f"stateful fuzzing: {figures}\nreached: {sorted(seen['operations'])}\n"
          "transitions (requests each made, by answer):\n"
          + "\n".join(f"  {link}: {counts}" for link, counts in chain.items()))
    shown = sorted(set(failures))
    assert not failures, f"{len(failures)} failures, e.g.:\n" + "\n".join(map(str, shown[:40]))
    assert not leaks, leaks
    assert seen["statuses"].get(200, 0) + seen["statuses"].get(201, 0) > 0
    # the feedback loop is walked: predict → report the outcome → correct it, each answered
    for link in ("-> [200] ReportOutcome -> POST /v1/feedback",
                 "-> [200] CorrectOutcome -> POST /v1/outcomes/{outcome_id}/corrections"):
        assert any(link in t and c["2xx"] for t, c in seen["transitions"].items()), (
            link, chain)
    assert LOL in {d["name"] for d in client.get("/v1/domains", headers=acme.headers
                                                 ).json()["domains"]}
