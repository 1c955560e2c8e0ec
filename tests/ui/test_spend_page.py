"""The tenant dashboard shows spend so far this month against the tier's fee."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.xdist_group("ui-spend")


def test_the_dashboard_shows_spend_so_far_against_the_tier(visit, app):
    from tracer.db import session
    from tracer.usage import record_usage

    settings = app.state.settings
    page = visit("bravo").get("/ui/dashboard").text
    assert 'id="tier-spend"' in page and "<strong>499.00 USD</strong>" in page
    with session(settings) as s:
        for n in range(3):
            record_usage(s, f"training_run:spend-{n}", tenant_id="bravo", kind="training_run")
    page = visit("bravo").get("/ui/dashboard").text
    price = settings.billing.training_run_price_micros
    assert f"<strong>{499 + 3 * price / 1e6:,.2f} USD</strong>" in page
    assert "against the tier's 499.00 USD a month" in " ".join(page.split())
