"""``tracer usage TENANT``: the month so far against the tier, as a table or JSON."""

from __future__ import annotations

import json

from tracer.cli import main


def test_usage_shows_spend_against_the_tier(settings, capsys):
    from tracer import db, tenancy
    from tracer.db import session
    from tracer.models import PredictionCounter
    from tracer.quota import period_of
    from tracer.usage import record_usage

    db.upgrade(settings)
    with session(settings) as s:
        tenancy.create_tenant(s, "acme", "Acme", "professional", settings.tiers)
        s.add(PredictionCounter(tenant_id="acme", period=period_of(db.utcnow()),
                                rows=250_100))
    with session(settings) as s:
        record_usage(s, "training_run:j1", tenant_id="acme", kind="training_run")
    assert main(["usage", "acme", "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["overage_predictions"] == 100 and figures["training_runs"] == 1
    assert figures["total_micros"] == (49_900 * 10_000 + 100 * settings.billing.overage_price_micros
                                       + settings.billing.training_run_price_micros)
    assert main(["usage", "acme"]) == 0
    table = capsys.readouterr().out
    assert "250,100 (100 over)" in table and "500.05 USD" in table


def test_usage_of_an_unknown_tenant_is_one_line_and_exit_1(settings, capsys):
    assert main(["usage", "nobody"]) == 1
    err = capsys.readouterr().err
    assert err.strip().count("\n") == 0 and "no tenant 'nobody'" in err
