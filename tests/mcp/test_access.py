"""Who may call: keys are checked inside the MCP layer exactly as REST checks them (missing,
unknown, revoked, wrong role), and one tenant's key reaches none of another's predictions
or outcomes through the tools."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from mcp.shared.exceptions import MCPError

from tests.mcp.conftest import TOOL, call, records_of

LIST = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
ACCEPT = {"Accept": "application/json, text/event-stream"}


def _refusal(live, key: str | None) -> MCPError:
    """What the SDK client raises when the server refuses the request."""
    with pytest.raises(BaseException) as raised:  # the client's task group wraps it
        call(live.mcp, key, ("tools/list", {}))
    error = raised.value
    while isinstance(error, BaseExceptionGroup):
        error = error.exceptions[0]
    assert isinstance(error, MCPError), repr(error)
    return error


@pytest.mark.parametrize("key", [None, "trk_abc_notakey", "sk-not-a-tracer-key"])
def test_a_missing_or_unknown_key_is_refused_with_restful_401(live, key):
    error = _refusal(live, key)
    assert "Unauthorized (401): missing or invalid API key" in error.message
    headers = {**ACCEPT, **({"Authorization": f"Bearer {key}"} if key else {})}
    raw = httpx.post(live.mcp, json=LIST, headers=headers)
    with live.rest(key) as http:
        rest = http.get("/v1/usage")
    assert raw.status_code == rest.status_code == 401
    assert raw.headers["www-authenticate"] == "Bearer"
    assert raw.json()["error"]["data"]["detail"] == rest.json()["detail"]


def test_a_revoked_key_is_refused_at_once_though_it_was_just_verified(live):
    key, key_id = live.key("alpha")
    [tools] = call(live.mcp, key, ("tools/list", {}))  # verified, and cached as verified
    assert TOOL in [t.name for t in tools]
    with live.rest(live.alpha) as http:
        assert http.delete(f"/v1/keys/{key_id}").status_code == 200
    assert "401" in _refusal(live, key).message
    [still] = call(live.mcp, live.alpha, ("tools/list", {}))  # the tenant's other key works
    assert TOOL in [t.name for t in still]


def test_keys_of_other_roles_get_403(live):
    for role in ("publisher", "reviewer", "admin"):
        key, _ = live.key(f"someone-{role}", role=role)
        error = _refusal(live, key)
        assert error.message == (f"Forbidden (403): the MCP endpoint needs a key with role "
                                 f"tenant; yours has role {role}")
        assert error.data["status"] == 403


def test_an_inactive_tenant_is_refused(live):
    from tracer import models, tenancy
    from tracer.db import session

    key, _ = live.key("echo")
    call(live.mcp, key, ("tools/list", {}))
    with session(live.settings) as s:
        s.get(models.Tenant, "echo").active = False
    tenancy.forget_verified()  # what deactivating a tenant through the admin API does
    assert "401" in _refusal(live, key).message


def _normalise(text: str, *ids: str) -> str:
    for value in ids:
        text = text.replace(value, "<id>")
    return text


def test_tenant_a_reaches_none_of_tenant_bs_predictions_or_outcomes(live):
    from sqlalchemy import func, select
    from tracer.db import session
    from tracer.models import Outcome

    record = records_of(live.reference.tail(7))[0]
    [b_answer] = call(live.mcp, live.bravo, (TOOL, {"record": record}))
    theirs = b_answer.structured_content["predictions"][0]["prediction_id"]
    missing = str(uuid.uuid4())
    steps = [(tool, {"prediction_id": pid, **extra}) for pid in (theirs, missing)
             for tool, extra in (("explain_prediction", {}), ("what_would_change", {}),
                                 ("report_outcome", {"outcome": 1}))]
    answers = call(live.mcp, live.alpha, *steps)
    for got, none in zip(answers[:3], answers[3:], strict=True):
        assert got.is_error and none.is_error
        assert got.structured_content["status"] == 404
        assert _normalise(got.content[0].text, theirs) == _normalise(none.content[0].text,
                                                                     missing)
        assert theirs in got.content[0].text  # it names what it did not find, nothing more
    with session(live.settings) as s:
        outcomes = s.scalar(select(func.count()).select_from(Outcome).where(
            Outcome.prediction_id == theirs))
    assert outcomes == 0  # B's prediction has no outcome from A
    [mine] = call(live.mcp, live.bravo, ("explain_prediction", {"prediction_id": theirs}))
    assert not mine.is_error  # B itself still reaches it
    [listed] = call(live.mcp, live.alpha, ("list_domains", {}))
    assert all(re.match(r"alpha\.", d["model"]["name"])
               for d in listed.structured_content["domains"])
