"""The tools over real Streamable HTTP with the SDK's client: listing per tenant, answers
that validate against their declared output schema, explanations, outcomes, and what-if
changes that really flip the model's label when applied."""

from __future__ import annotations

import json

import jsonschema
import pytest

from tests.mcp.conftest import LOL, TOOL, call, records_of

COMMON = ["report_outcome", "explain_prediction", "what_would_change", "list_domains"]


def _names(tools) -> list[str]:
    return [t.name for t in tools]


def test_tool_listing_follows_what_each_tenant_enabled(live):
    charlie, _ = live.key("charlie")
    delta, _ = live.key("delta")
    [tools] = call(live.mcp, charlie, ("tools/list", {}))
    assert _names(tools) == COMMON  # nothing enabled: no predict tool
    live.enable(charlie)
    [tools] = call(live.mcp, charlie, ("tools/list", {}))
    assert _names(tools) == [TOOL, *COMMON]
    [other] = call(live.mcp, delta, ("tools/list", {}))
    assert _names(other) == COMMON  # charlie's enabling is charlie's alone
    with live.rest(charlie) as http:
        assert http.post(f"/v1/domains/{LOL}/disable").status_code == 200
    tools, refused = call(live.mcp, charlie, ("tools/list", {}),
                          (TOOL, {"record": records_of(live.reference.tail(1))[0]}))
    assert _names(tools) == COMMON
    assert refused.is_error
    assert "installed but not enabled" in refused.content[0].text
    assert refused.structured_content["status"] == 409


@pytest.mark.parametrize("mode", ["auto", "legacy"])  # 2026-07-28 and the handshake era
def test_prediction_validates_against_the_declared_output_schema(live, mode):
    record = records_of(live.reference.tail(1))[0]
    tools, answer = call(live.mcp, live.alpha, ("tools/list", {}), (TOOL, {"record": record}),
                         mode=mode)
    tool = next(t for t in tools if t.name == TOOL)
    assert not answer.is_error, answer.content
    jsonschema.validate(answer.structured_content, tool.output_schema)
    # the input schema is the record model: every field, its description and bounds
    record_schema = tool.input_schema["properties"]["record"]
    assert set(record_schema["required"]) == set(record) - {"gameId"}  # gameId orders games
    gold = record_schema["properties"]["blueTotalGold"]
    assert gold["minimum"] == 0 and "seen in training" in gold["description"]
    assert tool.input_schema["properties"]["records"]["maxItems"] == \
        live.settings.api.max_batch_rows
    prediction = answer.structured_content["predictions"][0]
    assert answer.structured_content["count"] == 1
    text, as_json = (c.text for c in answer.content)
    assert prediction["summary"] in text and prediction["prediction_id"] in text
    assert json.loads(as_json) == answer.structured_content  # the same content as text
    with live.rest(live.alpha) as http:  # stored like a REST prediction
        stored = http.get(f"/v1/predictions/{prediction['prediction_id']}").json()
    assert stored["probability"] == prediction["probability"]
    assert stored["model"]["version"] == prediction["model"]["version"]


def test_a_batch_answers_in_order_within_the_batch_limit(live):
    records = records_of(live.reference.tail(6))
    singles = call(live.mcp, live.alpha, *[(TOOL, {"record": r}) for r in records[:3]])
    [batch] = call(live.mcp, live.alpha, (TOOL, {"records": records}))
    got = [p["probability"] for p in batch.structured_content["predictions"]]
    assert got[:3] == [s.structured_content["predictions"][0]["probability"] for s in singles]
    assert batch.structured_content["count"] == 6
    limit = live.settings.api.max_batch_rows
    live.settings.api.max_batch_rows = 4
    try:
        [over] = call(live.mcp, live.alpha, (TOOL, {"records": records}))
    finally:
        live.settings.api.max_batch_rows = limit
    assert over.is_error and over.structured_content["setting"] == "api.max_batch_rows"
    assert "6 records in one request; the batch limit is 4" in over.content[0].text


def test_bad_arguments_are_tool_errors_naming_the_field(live):
    record = records_of(live.reference.tail(1))[0]
    bad = {**record, "blueKills": -3}
    del bad["redDragons"]
    wrong, both, unknown = call(live.mcp, live.alpha, (TOOL, {"record": bad}),
                                (TOOL, {"record": record, "records": [record]}),
                                ("explain_prediction", {"prediction_id": "x", "extra": 1}))
    assert wrong.is_error and wrong.structured_content["status"] == 422
    assert "record.blueKills" in wrong.content[0].text
    assert "record.redDragons" in wrong.content[0].text
    assert "exactly one of 'record'" in both.content[0].text
    assert "extra" in unknown.content[0].text and unknown.is_error


def test_explain_prediction_returns_the_stored_answer_and_its_reasons(live):
    record = records_of(live.reference.tail(2))[0]
    [answer] = call(live.mcp, live.alpha, (TOOL, {"record": record, "top": 3}))
    first = answer.structured_content["predictions"][0]
    tools, explained = call(live.mcp, live.alpha, ("tools/list", {}), (
        "explain_prediction", {"prediction_id": first["prediction_id"], "top": 3}))
    body = explained.structured_content
    jsonschema.validate(body, next(t for t in tools if t.name == "explain_prediction")
                        .output_schema)
    assert body["probability"] == first["probability"] and body["label"] == first["label"]
    assert body["factors"] == first["factors"] and body["summary"] == first["summary"]
    assert body["record"] == {k: float(v) for k, v in record.items() if k != "gameId"}
    assert body["outcome"] is None and "No outcome reported yet" in explained.content[0].text


def test_report_outcome_feeds_the_feedback_loop(live):
    record = records_of(live.reference.tail(3))[0]
    [answer] = call(live.mcp, live.alpha, (TOOL, {"record": record}))
    pid = answer.structured_content["predictions"][0]["prediction_id"]
    first, again, conflict = call(
        live.mcp, live.alpha, ("report_outcome", {"prediction_id": pid, "outcome": 1}),
        ("report_outcome", {"prediction_id": pid, "outcome": 1}),
        ("report_outcome", {"prediction_id": pid, "outcome": 0}))
    assert first.structured_content["recorded"] == 1
    assert again.structured_content == {**first.structured_content, "recorded": 0,
                                        "repeats": 1, "outcome_ids": []}
    assert conflict.is_error and conflict.structured_content["status"] == 409
    with live.rest(live.alpha) as http:
        assert http.get(f"/v1/predictions/{pid}").json()["outcome"] == 1
        outcome = http.get(f"/v1/outcomes/{first.structured_content['outcome_ids'][0]}")
    assert outcome.json()["prediction_id"] == pid


def test_what_would_change_returns_changes_that_flip_the_label_when_applied(live):
    ranges = {c: (live.reference.head(600)[c].min(), live.reference.head(600)[c].max())
              for c in live.reference.columns}
    checked = 0
    for key in (live.alpha, live.bravo):  # a booster champion and a linear one
        records = records_of(live.reference.tail(40).head(4))
        answers = call(live.mcp, key, *[(TOOL, {"record": r}) for r in records])
        steps = [("what_would_change", {"prediction_id": a.structured_content[
            "predictions"][0]["prediction_id"], "limit": 3}) for a in answers]
        found_all = call(live.mcp, key, *steps)
        for record, answer, found in zip(records, answers, found_all, strict=True):
            before = answer.structured_content["predictions"][0]
            body = found.structured_content
            assert not found.is_error, found.content
            assert body["label"] == before["label"] and body["changes"], found.content
            for change in body["changes"]:
                edited = dict(record)
                for edit in change["edits"]:
                    assert edit["from"] == record[edit["field"]]
                    low, high = ranges[edit["field"]]
                    assert low <= edit["to"] <= high  # within the training range
                    edited[edit["field"]] = edit["to"]
                with live.rest(key) as http:  # applied, through REST: the label flips
                    now = http.post(f"/v1/domains/{LOL}/predict",
                                    json={"record": edited}).json()["predictions"][0]
                assert now["label"] == 1 - before["label"], change["sentence"]
                assert now["probability"] == pytest.approx(change["probability"], abs=1e-9)
                assert change["edits"][0]["field"] in change["sentence"]
                checked += 1
    assert checked >= 8


def test_what_would_change_from_a_new_record_predicts_it_first(live):
    record = records_of(live.reference.tail(5))[0]
    [found] = call(live.mcp, live.alpha, ("what_would_change", {"domain": LOL,
                                                                "record": record}))
    body = found.structured_content
    with live.rest(live.alpha) as http:
        stored = http.get(f"/v1/predictions/{body['prediction_id']}").json()
    assert stored["probability"] == pytest.approx(body["probability"], abs=1e-9)
    assert body["summary"].startswith(f"{len(body['changes'])} change")
    [neither] = call(live.mcp, live.alpha, ("what_would_change", {"record": record}))
    assert neither.is_error and "'domain' and 'record'" in neither.content[0].text


def test_list_domains_gives_each_champion_metric_and_calibration(live):
    tools, listed = call(live.mcp, live.alpha, ("tools/list", {}), ("list_domains", {}))
    jsonschema.validate(listed.structured_content,
                        next(t for t in tools if t.name == "list_domains").output_schema)
    [lol] = listed.structured_content["domains"]
    name = "alpha.esports.lol-10min"
    version = live.store.alias(name, "champion")
    assert lol["tool"] == TOOL and lol["model"] == {"name": name, "version": version.version,
                                                    "domain": LOL}
    assert lol["metric"] == version.metrics["accuracy"] and lol["primary_metric"] == "accuracy"
    assert lol["calibration"]["ece"] == version.metrics["ece"]
    assert f"accuracy {lol['metric']:.3f}" in listed.content[0].text
