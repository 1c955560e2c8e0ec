"""Rating, splitting, refunds, chargebacks, credits, periods and payouts on a real database
(SQLite, and PostgreSQL when TRACER_TEST_POSTGRES_URL is set)."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from tracer.db import session
from tracer.errors import ConflictError
from tracer_registry.ledger.adjustments import (
    adjust_publisher,
    apply_credit,
    convert,
    grant_credit,
    refund,
    reverse_chargeback,
)
from tracer_registry.ledger.closing import close_period
from tracer_registry.ledger.errors import LedgerError
from tracer_registry.ledger.models import Account, Entry, InvoiceLine, Payout, Statement
from tracer_registry.ledger.payouts import FileRail, bank_return, fail_payout, run_payouts
from tracer_registry.ledger.plans import set_tax_rate
from tracer_registry.ledger.postings import Leg, Posting, platform, post
from tracer_registry.ledger.recurring import MONTH
from tracer_registry.ledger.reports import platform_report, reconciliation
from tracer_registry.ledger.statements import verify

from .marketplace import CHURN, JULY, JUNE, MAY, OIL, SUSHI, open_market, use

LINE = "globex/2026-05/prediction/acme.churn"


def balances(settings) -> dict[str, int]:
    with session(settings) as s:
        return {a.code: a.balance for a in s.scalars(select(Account))}


def payable(settings, publisher="acme", currency="USD") -> int:
    return balances(settings).get(f"publisher_payable:{publisher}:{currency}", 0)


def assert_reconciled(settings) -> dict:
    with session(settings) as s:
        report = reconciliation(s)
    assert report["ok"], report
    return report


def may_closed(settings, predictions=250_001):
    open_market(settings)
    use(settings, "p1", "globex", "prediction", "acme.churn", quantity=predictions)
    use(settings, "i1", "globex", "install_period", "acme.churn", quantity=MONTH)
    use(settings, "s1", "globex", "subscription", "tier:professional", quantity=MONTH)
    use(settings, "t1", "globex", "training_run", quantity=3)
    close_period(settings, "2026-05", caused_by="test")


def test_third_party_line_splits_seventy_thirty_and_first_party_keeps_all(ledger_db):
    may_closed(ledger_db)
    with session(ledger_db) as s:
        lines = {line.id.split("/", 2)[2]: line for line in s.scalars(select(InvoiceLine))}
    predictions = lines["prediction/acme.churn"]
    # 250,001 x $0.004 = $1,000.004 -> rounded once to 100,000 cents
    assert (predictions.accrued_micros, predictions.gross) == (1_000_004_000, 100_000)
    assert (predictions.fee, predictions.share) == (30_000, 70_000)
    install = lines["install_period/acme.churn"]
    assert (install.fee, install.share) == (600, 1_400)
    tier = lines["subscription/tier:professional"]
    assert (tier.gross, tier.share) == (49_900, 0)
    assert lines["subscription/tier:professional"].fee == 49_900  # first party: 100 % platform
    assert lines["overage/-"].quantity == 1 and lines["overage/-"].gross == 1  # $0.01
    assert lines["training_run/-"].gross == 15  # 3 x $0.05
    assert payable(ledger_db) == 71_400
    assert balances(ledger_db)["platform_revenue:platform:USD"] == 30_000 + 600 + 49_900 + 1 + 15
    assert_reconciled(ledger_db)


def test_tax_is_a_liability_and_never_commission_base(ledger_db):
    open_market(ledger_db)
    with session(ledger_db) as s:
        set_tax_rate(s, "globex", 2_000)
    # a month of an install: $20.00 incl. 20 % VAT
    use(ledger_db, "i1", "globex", "install_period", "acme.churn", quantity=MONTH)
    close_period(ledger_db, "2026-05", caused_by="test")
    b = balances(ledger_db)
    assert b["platform_tax:platform:USD"] == 334  # 2000 - floor(2000 / 1.2)
    assert b["platform_revenue:platform:USD"] == 499  # floor(1666 * 30 %)
    assert payable(ledger_db) == 1_167
    assert_reconciled(ledger_db)


def test_late_event_lands_in_next_open_period_and_keeps_its_time(ledger_db):
    may_closed(ledger_db)
    use(ledger_db, "late", "globex", "install_period", "acme.churn", quantity=2 * MONTH,
        at=MAY)
    use(ledger_db, "june", "globex", "install_period", "acme.churn", quantity=MONTH, at=JUNE)
    close_period(ledger_db, "2026-06", caused_by="test")
    with session(ledger_db) as s:
        line = s.get(InvoiceLine, "globex/2026-06/install_period/acme.churn")
        assert line.quantity == 3 * MONTH  # the late pair plus June's own
        may = s.get(InvoiceLine, "globex/2026-05/install_period/acme.churn")
        assert may.quantity == MONTH  # the frozen period did not move
        occurred = s.execute(text("SELECT occurred_at FROM usage_events WHERE id = 'late'"))
        assert str(occurred.scalar()).startswith("2026-05-10")


def test_periods_close_in_order_and_once(ledger_db):
    may_closed(ledger_db)
    with pytest.raises(LedgerError, match="already closed"):
        close_period(ledger_db, "2026-05", caused_by="test")
    with pytest.raises(LedgerError, match="close 2026-06 before 2026-07"):
        close_period(ledger_db, "2026-07", caused_by="test")


def test_same_usage_id_with_other_payload_is_refused(ledger_db):
    open_market(ledger_db)
    use(ledger_db, "p1", "globex", "prediction", "acme.churn", quantity=5)
    use(ledger_db, "p1", "globex", "prediction", "acme.churn", quantity=5)  # replay: no-op
    with pytest.raises(ConflictError, match="different payload"):
        use(ledger_db, "p1", "globex", "prediction", "acme.churn", quantity=6)


def test_same_transaction_id_with_other_legs_is_refused_and_nothing_moves(ledger_db):
    open_market(ledger_db)
    legs = [Leg(platform("cash", "USD"), "D", 5), Leg(platform("revenue", "USD"), "C", 5)]
    posting = Posting(id="manual:1", kind="adjustment", legs=legs, effective_at=MAY,
                      period="2026-05", caused_by="test", source_event="m1",
                      rule_version="adjust-v1")
    with session(ledger_db) as s:
        assert post(s, posting) is True
    with session(ledger_db) as s:
        assert post(s, posting) is False
    before = balances(ledger_db)
    posting.legs = [Leg(platform("cash", "USD"), "D", 6), Leg(platform("revenue", "USD"), "C", 6)]
    with pytest.raises(LedgerError, match="different payload"), session(ledger_db) as s:
        post(s, posting)
    assert balances(ledger_db) == before


def test_unbalanced_or_single_leg_transactions_are_refused(ledger_db):
    open_market(ledger_db)
    bad = Posting(id="bad", kind="adjustment", effective_at=MAY, period="2026-05",
                  caused_by="t", source_event="b", rule_version="adjust-v1",
                  legs=[Leg(platform("cash", "USD"), "D", 5),
                        Leg(platform("revenue", "USD"), "C", 4)])
    with pytest.raises(LedgerError, match="differ by 1 USD"), session(ledger_db) as s:
        post(s, bad)
    bad.legs = [Leg(platform("cash", "USD"), "D", 5)]
    with pytest.raises(LedgerError, match="two or more"), session(ledger_db) as s:
        post(s, bad)
    bad.legs = [Leg(platform("cash", "USD"), "D", 0), Leg(platform("revenue", "USD"), "C", 0)]
    with pytest.raises(LedgerError, match="positive"), session(ledger_db) as s:
        post(s, bad)


def test_several_partial_refunds_return_the_fee_cumulatively(ledger_db):
    may_closed(ledger_db, predictions=2_501)  # $10.004 -> 1000 cents: fee 300, share 700
    with session(ledger_db) as s:
        for i, amount in enumerate((333, 333, 333)):
            refund(s, f"r{i}", LINE, amount, caused_by="test", effective_at=JUNE)
    with session(ledger_db) as s:
        fees = [s.get(Entry, e).amount for e in s.scalars(
            select(Entry.id).join(Account, Account.id == Entry.account_id)
            .where(Account.kind == "platform_revenue", Entry.side == "D").order_by(Entry.id))]
    assert fees == [99, 100, 100]  # floor(300*333/1000), then floor(300*666/1000) - 99, ...
    with session(ledger_db) as s:
        refund(s, "r3", LINE, 1, caused_by="test", effective_at=JUNE)  # the last cent
        assert s.get(InvoiceLine, LINE).refunded == 1_000
    b = balances(ledger_db)
    assert payable(ledger_db) == 1_400  # only the install's share is left
    assert b["platform_revenue:platform:USD"] == 600 + 49_900 + 15
    before = balances(ledger_db)
    with pytest.raises(LedgerError, match="exceeds"), session(ledger_db) as s:
        refund(s, "r4", LINE, 1, caused_by="test", effective_at=JUNE)
    assert balances(ledger_db) == before
    assert_reconciled(ledger_db)


def test_chargeback_and_its_reversal_restore_every_balance(ledger_db):
    may_closed(ledger_db, predictions=2_501)
    before = balances(ledger_db)
    with session(ledger_db) as s:
        refund(s, "r1", LINE, 101, caused_by="test", effective_at=JUNE)
    after_refund = balances(ledger_db)
    with session(ledger_db) as s:
        refund(s, "cb1", LINE, 457, caused_by="bank", kind="chargeback", effective_at=JUNE)
    assert payable(ledger_db) < after_refund["publisher_payable:acme:USD"]
    with session(ledger_db) as s:
        reverse_chargeback(s, "won1", "cb1", caused_by="bank", effective_at=JUNE)
        reverse_chargeback(s, "won1", "cb1", caused_by="bank", effective_at=JUNE)  # replay
    assert balances(ledger_db) == after_refund
    with pytest.raises(LedgerError, match="already reversed"), session(ledger_db) as s:
        reverse_chargeback(s, "won2", "cb1", caused_by="bank")
    with session(ledger_db) as s:
        refund(s, "r2", LINE, 899, caused_by="test", effective_at=JUNE)
    b = balances(ledger_db)
    assert b["publisher_payable:acme:USD"] == before["publisher_payable:acme:USD"] - 700
    assert_reconciled(ledger_db)


def test_credit_cannot_be_overspent_and_the_refusal_changes_nothing(ledger_db):
    may_closed(ledger_db)
    with session(ledger_db) as s:
        grant_credit(s, "promo", "globex", "USD", 5_000, caused_by="sales", reason="promo")
        apply_credit(s, "use1", "globex", "USD", 3_000, caused_by="billing")
    before = balances(ledger_db)
    with pytest.raises(LedgerError, match="would go negative"), session(ledger_db) as s:
        apply_credit(s, "use2", "globex", "USD", 2_001, caused_by="billing")
    assert balances(ledger_db) == before
    assert before["tenant_credit:globex:USD"] == 2_000
    assert_reconciled(ledger_db)


def test_refund_after_payout_leaves_publisher_negative_and_is_netted_later(ledger_db, tmp_path):
    may_closed(ledger_db, predictions=2_501)
    rail = FileRail(tmp_path / "rail.jsonl")
    assert run_payouts(ledger_db, caused_by="test", rail=rail, now=JUNE) == ["acme/USD/1"]
    assert payable(ledger_db) == 0
    with session(ledger_db) as s:
        refund(s, "r1", LINE, 1_000, caused_by="test", effective_at=JUNE)
    assert payable(ledger_db) == -700
    use(ledger_db, "i2", "globex", "install_period", "acme.churn", quantity=MONTH, at=JUNE)
    close_period(ledger_db, "2026-06", caused_by="test")
    assert payable(ledger_db) == 700  # 1,400 earned in June nets the -700
    assert run_payouts(ledger_db, caused_by="test", rail=rail, now=JULY) == []  # < $10
    with session(ledger_db) as s:
        june = s.scalar(select(Statement).where(Statement.period == "2026-06"))
    body = june.body
    assert (body["opening"], body["gross"] - body["fees"], body["refunds"], body["payouts"],
            body["closing"]) == (2_100, 1_400, 700, 2_100, 700)
    assert [t["amount"] for t in rail.transfers()] == [2_100]
    assert_reconciled(ledger_db)


def test_failed_payout_recredits_and_unknown_return_goes_to_suspense(ledger_db, tmp_path):
    may_closed(ledger_db)
    rail = FileRail(tmp_path / "rail.jsonl")
    run_payouts(ledger_db, caused_by="test", rail=rail, now=JUNE)
    with session(ledger_db) as s:
        assert bank_return(s, "ret1", reference="acme/USD/1", currency="USD", amount=71_400,
                           caused_by="bank") == "payout_failed"
        assert bank_return(s, "ret2", reference="nobody", currency="USD", amount=123,
                           caused_by="bank") == "suspense"
        fail_payout(s, "acme/USD/1", reason="again", caused_by="bank")  # idempotent
        assert s.get(Payout, "acme/USD/1").status == "failed"
    assert payable(ledger_db) == 71_400
    report = assert_reconciled(ledger_db)
    assert [(i["amount"], i["memo"]["reference"]) for i in report["suspense"]] == [
        (123, "nobody")]
    # the re-credit is available at once: paid again, as payout 2
    assert run_payouts(ledger_db, caused_by="test", rail=rail, now=JUNE) == ["acme/USD/2"]
    assert [t["payout"] for t in rail.transfers()] == ["acme/USD/1", "acme/USD/2"]


def test_statement_is_frozen_with_a_hash_and_lines_point_at_entries(ledger_db):
    may_closed(ledger_db)
    with session(ledger_db) as s:
        row = s.scalar(select(Statement))
        body = row.body
        assert verify(row)
        entries = {e.id: e for e in s.scalars(select(Entry))}
    assert (body["gross"], body["fees"], body["closing"]) == (102_000, 30_600, 71_400)
    assert all(entries[line["entry"]].amount == line["amount"] for line in body["lines"])
    with session(ledger_db) as s:
        refund(s, "r1", LINE, 50, caused_by="test", effective_at=JUNE)
    with session(ledger_db) as s:
        assert s.scalar(select(Statement)).body == body  # never recomputed


def test_entries_refuse_update_and_delete_below_the_orm(ledger_db):
    may_closed(ledger_db)
    for sql in ("UPDATE ledger_entries SET amount = amount + 1",
                "DELETE FROM ledger_entries", "UPDATE ledger_statements SET content_hash = 'x'"):
        with pytest.raises(Exception, match="append-only"), session(ledger_db) as s:
            s.execute(text(sql))
    assert_reconciled(ledger_db)


def test_currencies_of_every_exponent_rate_and_settle_separately(ledger_db):
    open_market(ledger_db, plans=(CHURN, SUSHI, OIL))
    use(ledger_db, "j", "globex", "prediction", "tokyo.sushi", quantity=3)  # 3 x 0.07 JPY
    # a month of 1,500 JPY
    use(ledger_db, "j2", "globex", "install_period", "tokyo.sushi", quantity=MONTH)
    use(ledger_db, "k", "initech", "prediction", "gulf.oil", quantity=1_001)  # 1.5015 KWD
    close_period(ledger_db, "2026-05", caused_by="test")
    b = balances(ledger_db)
    assert b["publisher_payable:tokyo:JPY"] == 1_500 - 375  # 25 % of 1,500; 0.21 JPY -> 0
    assert b["publisher_payable:gulf:KWD"] == 1_502 - 450  # 1.502 KWD, 30 %
    with session(ledger_db) as s:
        convert(s, "fx1", debit="platform_cash:platform:USD", credit="platform_cash:platform:JPY",
                amount=1_000, rate_micros=6_700, source="ECB 2026-05-29", caused_by="treasury",
                effective_at=MAY)
    assert balances(ledger_db)["platform_cash:platform:USD"] == 670  # 1000 JPY = 6.70 USD
    assert_reconciled(ledger_db)


def test_platform_report_shows_commission_and_first_party_revenue(ledger_db):
    may_closed(ledger_db)
    with session(ledger_db) as s:
        adjust_publisher(s, "bonus", "acme", "USD", 100, caused_by="ops", reason="goodwill",
                         effective_at=JUNE)
        refund(s, "r1", LINE, 10_000, caused_by="test", effective_at=JUNE)
        rows = {r["period"]: r for r in platform_report(s)}
    assert rows["2026-05"]["commission"] == 30_600
    assert rows["2026-05"]["first_party"] == 49_900 + 1 + 15
    assert rows["2026-05"]["publisher_share"] == 71_400
    assert rows["2026-06"]["refunds"] == 10_000 and rows["2026-06"]["fees_returned"] == 3_000
    assert rows["2026-06"]["platform_revenue"] == -3_000 - 100
