"""Recurring charges: install periods pro-rated by day and tier subscriptions, produced by
the platform at close with deterministic ids; only past periods close (tracer.clock)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from tracer import clock
from tracer.db import session
from tracer.errors import ValidationError
from tracer.installs import install, uninstall
from tracer.models import Tenant, UsageEvent
from tracer.tenancy import create_tenant
from tracer_registry.ledger.closing import close_period
from tracer_registry.ledger.errors import LedgerError
from tracer_registry.ledger.models import InvoiceLine
from tracer_registry.ledger.plans import set_price_plan
from tracer_registry.ledger.recurring import (
    MONTH,
    change_tier,
    days_touched,
    month_parts,
    produce,
)

from .marketplace import CHURN


def at(day: str, hour: int = 12) -> datetime:
    return datetime.fromisoformat(f"{day}T{hour:02d}:00:00+00:00")


def prorated(monthly: int, days: int, length: int) -> int:
    """The stated rule, computed by hand: monthly x days / length, rounded half up."""
    return (2 * monthly * days + length) // (2 * length)


def tenant(settings, name: str, created: datetime, tier: str = "starter") -> None:
    with session(settings) as s:
        create_tenant(s, name, name.title(), tier, settings.tiers)
        s.get(Tenant, name).created_at = created


def lines(settings, period: str) -> dict[str, InvoiceLine]:
    with session(settings) as s:
        rows = s.scalars(select(InvoiceLine).where(InvoiceLine.period == period))
        return {r.id.split("/", 2)[2]: r for r in rows}


def test_days_touched_counts_calendar_days_an_install_existed_any_part_of():
    assert days_touched(at("2026-05-10"), None, "2026-05") == 22  # 10th..31st
    assert days_touched(at("2026-04-01"), None, "2026-05") == 31
    assert days_touched(at("2026-05-10"), at("2026-05-10", 13), "2026-05") == 1
    assert days_touched(at("2026-05-10"), at("2026-05-20"), "2026-05") == 11  # 10th..20th
    assert days_touched(at("2026-04-10"), at("2026-05-01", 0), "2026-05") == 0
    assert days_touched(at("2026-06-01", 0), None, "2026-05") == 0
    assert month_parts(31, "2026-05") == month_parts(28, "2026-02") == MONTH
    assert month_parts(1, "2026-02") * 28 == MONTH


def test_installs_bill_every_active_period_pro_rated_and_stop_after_uninstall(ledger_db):
    tenant(ledger_db, "globex", at("2026-01-01", 0), "starter")
    with session(ledger_db) as s:
        set_price_plan(s, CHURN)  # $20.00 a month, 30 % commission
        install(s, "globex", "acme.churn", "1.0", at=at("2026-05-10"))
    close_period(ledger_db, "2026-05", caused_by="test")
    may = lines(ledger_db, "2026-05")["install_period/acme.churn"]
    # 22 of 31 days: 2000 x 22 / 31 = 1419.35... cents -> 1419
    assert (may.quantity, may.gross, may.fee, may.share) == (22 * MONTH // 31, 1_419, 425, 994)
    close_period(ledger_db, "2026-06", caused_by="test")
    assert lines(ledger_db, "2026-06")["install_period/acme.churn"].gross == 2_000
    with session(ledger_db) as s:
        uninstall(s, "globex", "acme.churn", at=at("2026-07-15"))
    close_period(ledger_db, "2026-07", caused_by="test")
    assert lines(ledger_db, "2026-07")["install_period/acme.churn"].gross == prorated(2_000, 15, 31)
    close_period(ledger_db, "2026-08", caused_by="test")
    assert "install_period/acme.churn" not in lines(ledger_db, "2026-08")
    # the subscription is first-party: the platform keeps 100 %
    sub = lines(ledger_db, "2026-08")["subscription/tier:starter"]
    assert (sub.gross, sub.fee, sub.share, sub.publisher_id) == (9_900, 9_900, 0, None)


def test_first_party_installs_are_charged_nothing_per_install(ledger_db):
    tenant(ledger_db, "globex", at("2026-01-01", 0))
    with session(ledger_db) as s:
        install(s, "globex", "tracer.lol", "1.0", at=at("2026-04-02"))
    close_period(ledger_db, "2026-05", caused_by="test")
    assert set(lines(ledger_db, "2026-05")) == {"subscription/tier:starter"}


def test_tier_change_mid_period_pro_rates_by_day(ledger_db):
    tenant(ledger_db, "globex", at("2026-05-20", 9), "starter")
    with session(ledger_db) as s:
        change_tier(s, ledger_db, "globex", "professional", caused_by="test",
                    at=at("2026-06-11", 8))
    close_period(ledger_db, "2026-05", caused_by="test")
    assert lines(ledger_db, "2026-05")["subscription/tier:starter"].gross == prorated(9_900, 12, 31)
    close_period(ledger_db, "2026-06", caused_by="test")
    june = lines(ledger_db, "2026-06")
    # June 1..10 starter, 11..30 professional (the day of an upgrade counts at the new tier)
    assert june["subscription/tier:starter"].gross == prorated(9_900, 10, 30) == 3_300
    assert june["subscription/tier:professional"].gross == prorated(49_900, 20, 30) == 33_267
    with pytest.raises(ValidationError, match="already on tier"), session(ledger_db) as s:
        change_tier(s, ledger_db, "globex", "professional", caused_by="test")


def test_reruns_never_double_bill(ledger_db):
    tenant(ledger_db, "globex", at("2026-01-01", 0))
    with session(ledger_db) as s:
        set_price_plan(s, CHURN)
        install(s, "globex", "acme.churn", "1.0", at=at("2026-05-10"))
        assert produce(s, "2026-05") == 2
        assert produce(s, "2026-05") == 0
        ids = sorted(s.scalars(select(UsageEvent.id).where(UsageEvent.kind != "install")))
    assert ids == ["install_period:globex:acme.churn:2026-05",
                   "subscription:globex:starter:2026-05"]
    close_period(ledger_db, "2026-05", caused_by="test")
    with session(ledger_db) as s:
        assert produce(s, "2026-05") == 0
        assert s.scalar(select(func.count()).select_from(InvoiceLine)) == 2


def test_only_past_periods_close_by_the_platform_clock(ledger_db):
    pinned = ledger_db.model_copy(update={"clock": "2026-06-15T00:00:00Z"})
    with pytest.raises(LedgerError, match="has not ended yet") as caught:
        close_period(pinned, "2026-06", caused_by="test")
    assert "\n" not in str(caught.value)
    with pytest.raises(LedgerError, match="has not ended yet"):
        close_period(pinned, "2026-09", caused_by="test")
    assert close_period(pinned, "2026-05", caused_by="test").period == "2026-05"
    rehearsal = ledger_db.model_copy(update={"clock": "+400d"})
    assert clock.now(rehearsal) > datetime.now(UTC)
    with pytest.raises(ValidationError, match="clock"):
        clock.now(ledger_db.model_copy(update={"clock": "next tuesday"}))


def test_clock_setting_pins_and_offsets(monkeypatch):
    from tracer.settings import Settings

    monkeypatch.setenv("TRACER_CLOCK", "2026-03-01T00:00:00Z")
    assert clock.now(Settings()) == datetime(2026, 3, 1, tzinfo=UTC)
    monkeypatch.setenv("TRACER_CLOCK", "-2h")
    delta = datetime.now(UTC) - clock.now(Settings())
    assert 7_190 < delta.total_seconds() < 7_300
