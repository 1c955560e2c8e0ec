"""Rule 11 and one price: plans only for third-party listings of existing publishers, set
in one place (the ledger's plans), which the catalog shows and the ledger bills."""

from __future__ import annotations

import pytest
from tracer import db
from tracer.db import session
from tracer.errors import ValidationError
from tracer_registry.catalog import price_plan as catalog_price
from tracer_registry.catalog import set_price_plan as catalog_set_price
from tracer_registry.ledger import migration_tree
from tracer_registry.ledger.errors import LedgerError
from tracer_registry.ledger.plans import PricePlan, set_price_plan
from tracer_registry.models import Listing
from tracer_registry.plugin import tracer_migrations
from tracer_registry.publishers import create_publisher


@pytest.fixture
def market(settings):
    db.upgrade(settings, extra=[migration_tree(), *tracer_migrations()])
    with session(settings) as s:
        create_publisher(s, "acme", "Acme Analytics")
        create_publisher(s, "tracer", "Tracer", first_party=True)
        s.add(Listing(name="acme-churn", publisher_id="acme", domains=["acme.churn"]))
        s.add(Listing(name="tracer-esports", publisher_id="tracer", domains=["tracer.lol"]))
    return settings


def test_rule_11_refuses_unknown_and_first_party_publishers_and_first_party_domains(market):
    refused = {
        "does not exist": PricePlan("acme.churn", "nobody", "USD", 100),
        "publisher 'tracer' is first-party": PricePlan("tracer.lol", "tracer", "USD", 100),
        "domain 'tracer.lol' is first-party": PricePlan("tracer.lol", "acme", "USD", 100),
    }
    for why, plan in refused.items():
        with pytest.raises(ValidationError, match=why), session(market) as s:
            set_price_plan(s, plan)
    with session(market) as s:
        assert catalog_price(s, "tracer-esports").monthly_fee_minor == 0
        set_price_plan(s, PricePlan("acme.churn", "acme", "USD", 2_000, 4_000))


def test_the_catalog_shows_the_price_the_ledger_bills(market):
    with session(market) as s:  # set through the ledger (tracer payouts plan's path)
        set_price_plan(s, PricePlan("acme.churn", "acme", "EUR", 2_500, 3_000, 2_000))
    with session(market) as s:
        shown = catalog_price(s, "acme-churn")
    assert (shown.currency, shown.monthly_fee_minor, shown.per_prediction_micros,
            shown.commission_bps) == ("EUR", 2_500, 3_000, 2_000)
    with session(market) as s:  # set through the catalog: the same one place
        catalog_set_price(s, "acme-churn", currency="USD", monthly_fee_minor=999)
    with session(market) as s:
        assert catalog_price(s, "acme-churn").monthly_fee_minor == 999


def test_amounts_beyond_the_limit_are_one_line_errors(market):
    with pytest.raises(ValidationError, match="beyond the ledger's limit") as caught, \
            session(market) as s:
        set_price_plan(s, PricePlan("acme.churn", "acme", "USD", 10**19))
    assert "\n" not in str(caught.value)
    with pytest.raises(LedgerError, match="beyond"):
        from tracer_registry.ledger.money import split

        split(10**19, 3_000)


def test_cli_plan_refuses_first_party_and_unknown_publishers_in_one_line(market, capsys):
    from tracer.cli import main

    assert main(["payouts", "plan", "tracer.lol", "--publisher", "acme"]) == 1
    assert main(["payouts", "plan", "acme.churn", "--publisher", "ghost"]) == 1
    assert main(["payouts", "plan", "acme.churn", "--publisher", "acme",
                 "--monthly-fee", str(10**19)]) == 1
    err = capsys.readouterr()
    text = err.out + err.err
    assert "first-party" in text and "does not exist" in text and "Traceback" not in text
    assert main(["payouts", "plan", "acme.churn", "--publisher", "acme",
                 "--monthly-fee", "2000"]) == 0
