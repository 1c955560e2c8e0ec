"""Metering and limits as REST has them: each answered record is one metered prediction,
exactly once under retries (the REST and MCP entry points share one prediction service and
one idempotency space), the monthly allowance and a per-key rate limit answer tool errors
saying which limit was hit and when it resets."""

from __future__ import annotations

from datetime import datetime

from tests.mcp.conftest import LOL, TOOL, call, records_of


def _meter(live, tenant: str) -> tuple[int, int, int]:
    """(usage quantity, stored predictions, allowance counter) of ``tenant``."""
    from sqlalchemy import func, select
    from tracer.db import session
    from tracer.models import StoredPrediction, UsageEvent
    from tracer.quota import predictions_used

    with session(live.settings) as s:
        used = s.scalar(select(func.coalesce(func.sum(UsageEvent.quantity), 0)).where(
            UsageEvent.tenant_id == tenant, UsageEvent.kind == "prediction"))
        stored = s.scalar(select(func.count()).select_from(StoredPrediction).where(
            StoredPrediction.tenant_id == tenant))
        return int(used), int(stored), predictions_used(s, tenant)


def test_metering_equals_answered_records_exactly_once_under_retries(live):
    records = records_of(live.reference.tail(12))
    before = _meter(live, "bravo")
    batch = {"records": records[:4], "idempotency_key": "mcp-batch-1"}
    bad = {**records[5], "blueKills": "many"}
    one, first, retry, again, refused, whatif = call(
        live.mcp, live.bravo, (TOOL, {"record": records[4]}), (TOOL, batch), (TOOL, batch),
        (TOOL, batch), (TOOL, {"record": bad}),
        ("what_would_change", {"domain": LOL, "record": records[6]}))
    pid = one.structured_content["predictions"][0]["prediction_id"]
    call(live.mcp, live.bravo, ("explain_prediction", {"prediction_id": pid}),
         ("what_would_change", {"prediction_id": pid}), ("list_domains", {}))
    assert retry.structured_content == again.structured_content == first.structured_content
    assert refused.is_error and "record.blueKills" in refused.content[0].text
    assert not whatif.is_error
    with live.rest(live.bravo) as http:  # the same key over REST: the first answer again
        rest = http.post(f"/v1/domains/{LOL}/predict", json={"records": records[:4]},
                         headers={"Idempotency-Key": "mcp-batch-1"}).json()
    assert rest == first.structured_content
    after = _meter(live, "bravo")
    answered = 1 + 4 + 1  # one record, one batch of four (retried thrice), one what-if record
    assert [a - b for a, b in zip(after, before, strict=True)] == [answered] * 3


def test_over_the_monthly_allowance_is_a_tool_error_naming_the_limit_and_its_reset(live):
    from tracer.db import session, utcnow
    from tracer.models import PredictionCounter
    from tracer.quota import period_of

    key, _ = live.key("golf", tier="starter")  # starter: no overage
    live.enable(key)
    live.train("golf", live.reference.head(300), ["logistic regression C=1"])
    allowance = live.settings.tiers["starter"].predictions_per_month
    period = period_of(utcnow())
    with session(live.settings) as s:
        s.add(PredictionCounter(tenant_id="golf", period=period, rows=allowance - 1))
    records = records_of(live.reference.tail(2))
    before = _meter(live, "golf")
    over, fits = call(live.mcp, key, (TOOL, {"records": records}),
                      (TOOL, {"record": records[0]}))
    assert over.is_error and over.structured_content["status"] == 429
    text = over.content[0].text
    assert f"the starter tier allows {allowance:,} predictions a month" in text
    year, month = (int(p) for p in period.split("-"))
    resets = datetime(year + month // 12, month % 12 + 1, 1)
    assert f"the allowance resets at {resets:%Y-%m-%d} 00:00 UTC" in text
    assert over.structured_content["resets_at"].startswith(f"{resets:%Y-%m-%d}")
    assert not fits.is_error  # the last prediction of the month still fits
    after = _meter(live, "golf")
    assert [a - b for a, b in zip(after, before, strict=True)] == [1, 1, 1]


def test_a_per_key_rate_limit_says_when_the_next_call_is_allowed(live):
    burst, _ = live.key("bravo")
    calm, _ = live.key("bravo")
    limit = live.settings.api.mcp_calls_per_minute
    live.settings.api.mcp_calls_per_minute = 3
    try:
        answers = call(live.mcp, burst, *[("list_domains", {})] * 4)
        [other] = call(live.mcp, calm, ("list_domains", {}))  # another key: its own budget
    finally:
        live.settings.api.mcp_calls_per_minute = limit
    assert [a.is_error for a in answers] == [False, False, False, True]
    refused = answers[-1]
    assert refused.structured_content["status"] == 429
    assert refused.structured_content["setting"] == "api.mcp_calls_per_minute"
    assert 1 <= refused.structured_content["retry_after"] <= 60
    assert ("rate limit: 3 tool calls a minute per API key (setting api.mcp_calls_per_minute); "
            "the next call is allowed in") in refused.content[0].text
    assert not other.is_error
