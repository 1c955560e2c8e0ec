"""A state machine drives usage, rating, refunds, chargebacks, payouts, period close and
replays; after every step every docs/ledger.md rule is checked against a small in-memory oracle.
"""

from __future__ import annotations

import tempfile
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from sqlalchemy import case, func, select
from tracer.db import session
from tracer.tenancy import create_tenant
from tracer_registry.ledger.adjustments import refund, reverse_chargeback
from tracer_registry.ledger.closing import close_period
from tracer_registry.ledger.errors import LedgerError
from tracer_registry.ledger.intake import ingest
from tracer_registry.ledger.models import (
    Account,
    Entry,
    InvoiceLine,
    Payout,
    Statement,
    Transaction,
    UsageClaim,
)
from tracer_registry.ledger.payouts import FileRail, fail_payout, run_payouts
from tracer_registry.ledger.periods import next_period, period_of, period_start
from tracer_registry.ledger.plans import PricePlan, set_price_plan, set_tax_rate
from tracer_registry.ledger.reconcile import CHECKS, rebuilt_balances, reconciliation
from tracer_registry.ledger.recurring import MONTH
from tracer_registry.ledger.statements import verify

from .conftest import database

PLANS = {"acme.churn": PricePlan("acme.churn", "acme", "USD", 1_000, 4_000, 3_000),
         "blue.fraud": PricePlan("blue.fraud", "blue", "USD", 0, 3_333, 2_500)}
TENANTS = ("globex", "initech")
THRESHOLD = 1_000  # $10.00, the default


class LedgerMachine(RuleBasedStateMachine):
    engine = "sqlite"

    def __init__(self):
        super().__init__()
        self._tmp = tempfile.TemporaryDirectory()
        self._db = database(self.engine, Path(self._tmp.name))
        # the platform clock is pinned far ahead: every period the machine closes is past
        self.settings = self._db.__enter__().model_copy(update={"clock": "2031-01-01T00:00:00Z"})
        self.rail = FileRail(Path(self._tmp.name) / "rail.jsonl")
        with session(self.settings) as s:
            for tenant in TENANTS:
                # created after every period this machine closes: no subscription lines here
                # (test_ledger_billing_machine drives those against its own oracle)
                create_tenant(s, tenant, tenant, "enterprise",
                              self.settings.tiers).created_at = period_start("2031-01")
            for plan in PLANS.values():
                set_price_plan(s, plan)
            set_tax_rate(s, "initech", 2_000)
        self.period = "2026-01"  # the open period
        self.events: dict[str, dict] = {}
        self.unclaimed: set[str] = set()
        self.lines: dict[str, dict] = {}  # oracle's own rating
        self.refunds: dict[str, tuple[str, int, str]] = {}
        self.reversed: set[str] = set()
        self.statement_hashes: dict[tuple, str] = {}
        self.n = 0

    def teardown(self):
        self._db.__exit__(None, None, None)
        self._tmp.cleanup()

    def _when(self, period: str):
        return period_start(period) + timedelta(days=3)

    # ---- rules ---------------------------------------------------------------------------
    @rule(tenant=st.sampled_from(TENANTS), domain=st.sampled_from(sorted(PLANS) + ["tracer.lol"]),
          kind=st.sampled_from(["prediction", "prediction", "install_period"]),
          quantity=st.integers(1, 5_000), late=st.booleans())
    def usage(self, tenant, domain, kind, quantity, late):
        period = self.period
        if late and period > "2026-01":
            period = "2026-01"  # a late event from a closed period
        self.n += 1
        event = {"id": f"e{self.n}", "tenant_id": tenant, "kind": kind, "domain": domain,
                 "quantity": quantity, "occurred_at": self._when(period)}
        assert ingest(self.settings, event) is True
        self.events[event["id"]] = event
        self.unclaimed.add(event["id"])

    @precondition(lambda self: self.events)
    @rule(data=st.data())
    def replay_usage(self, data):
        event_id = data.draw(st.sampled_from(sorted(self.events)))
        assert ingest(self.settings, self.events[event_id]) is False

    @rule()
    def close(self):
        period = self.period
        close_period(self.settings, period, caused_by="machine")
        self._rate(period)
        self.period = next_period(period)
        with session(self.settings) as s:
            for row in s.scalars(select(Statement).where(Statement.period == period)):
                self.statement_hashes[(row.publisher_id, row.currency, period)] = \
                    row.content_hash

    def _rate(self, period: str) -> None:
        usage: dict[tuple, int] = defaultdict(int)
        for event_id in sorted(self.unclaimed):
            e = self.events[event_id]
            if period_of(e["occurred_at"]) <= period:
                usage[(e["tenant_id"], e["kind"], e["domain"])] += e["quantity"]
                self.unclaimed.discard(event_id)
        for (tenant, kind, domain), quantity in usage.items():
            plan = PLANS.get(domain)
            if plan is None:
                continue
            micros = (quantity * plan.prediction_price_micros if kind == "prediction"
                      else quantity * plan.monthly_fee_minor * 10_000 // MONTH)
            if not micros:
                continue
            gross = (micros + 5_000) // 10_000
            if not gross:
                continue  # rounds to nothing: a line without a charge
            tax_bps = 2_000 if tenant == "initech" else 0
            net = gross * 10_000 // (10_000 + tax_bps)
            fee = net * plan.commission_bps // 10_000
            self.lines[f"{tenant}/{period}/{kind}/{domain}"] = {
                "gross": gross, "tax": gross - net, "fee": fee, "share": net - fee,
                "refunded": 0}

    @precondition(lambda self: any(v["gross"] for v in self.lines.values()))
    @rule(data=st.data(), fraction=st.integers(1, 120), chargeback=st.booleans())
    def refund_or_chargeback(self, data, fraction, chargeback):
        line_id = data.draw(st.sampled_from(sorted(k for k, v in self.lines.items()
                                                   if v["gross"])))
        line = self.lines[line_id]
        amount = max(1, line["gross"] * fraction // 100)
        self.n += 1
        refund_id = f"r{self.n}"
        kind = "chargeback" if chargeback else "refund"
        left = line["gross"] - line["refunded"]
        with session(self.settings) as s:
            before = {a.code: a.balance for a in s.scalars(select(Account))}
        if amount > left:
            with pytest.raises(LedgerError, match="exceeds"), session(self.settings) as s:
                refund(s, refund_id, line_id, amount, caused_by="m", kind=kind,
                       effective_at=self._when(self.period))
            with session(self.settings) as s:
                assert {a.code: a.balance for a in s.scalars(select(Account))} == before
            return
        with session(self.settings) as s:
            refund(s, refund_id, line_id, amount, caused_by="m", kind=kind,
                   effective_at=self._when(self.period))
        line["refunded"] += amount
        self.refunds[refund_id] = (line_id, amount, kind)

    @precondition(lambda self: any(k == "chargeback" and r not in self.reversed
                                   for r, (_, _, k) in self.refunds.items()))
    @rule(data=st.data())
    def reverse(self, data):
        chargeback = data.draw(st.sampled_from(sorted(
            r for r, (_, _, k) in self.refunds.items() if k == "chargeback"
            and r not in self.reversed)))
        with session(self.settings) as s:
            reverse_chargeback(s, f"rev-{chargeback}", chargeback, caused_by="m",
                               effective_at=self._when(self.period))
        self.reversed.add(chargeback)
        line_id, amount, _ = self.refunds[chargeback]
        self.lines[line_id]["refunded"] -= amount

    @precondition(lambda self: self.refunds)
    @rule(data=st.data())
    def replay_refund(self, data):
        refund_id = data.draw(st.sampled_from(sorted(self.refunds)))
        line_id, amount, kind = self.refunds[refund_id]
        with session(self.settings) as s:
            assert refund(s, refund_id, line_id, amount, caused_by="m", kind=kind).id == \
                refund_id

    @rule()
    def payouts(self):
        with session(self.settings) as s:
            expected = self._available(s)
        paid = run_payouts(self.settings, caused_by="m", rail=self.rail,
                           now=self._when(self.period))
        with session(self.settings) as s:
            amounts = {(p.publisher_id, p.currency): p.amount
                       for p in s.scalars(select(Payout).where(Payout.id.in_(paid)))}
        assert amounts == {k: v for k, v in expected.items() if v > THRESHOLD}  # strictly

    def _available(self, s) -> dict:
        closed = {p for p in _periods_before(self.period)}
        out: dict = defaultdict(int)
        for owner, currency, side, amount, period, kind in s.execute(
                select(Account.owner, Account.currency, Entry.side, Entry.amount,
                       Entry.period, Transaction.kind)
                .join(Entry, Entry.account_id == Account.id)
                .join(Transaction, Transaction.id == Entry.transaction_id)
                .where(Account.kind == "publisher_payable")):
            if side == "D" or period in closed or kind == "payout_failed":
                out[(owner, currency)] += amount if side == "C" else -amount
        return dict(out)

    @precondition(lambda self: self.rail.transfers())
    @rule(data=st.data())
    def payout_bounces(self, data):
        payout_id = data.draw(st.sampled_from(sorted(t["payout"]
                                                     for t in self.rail.transfers())))
        with session(self.settings) as s:
            fail_payout(s, payout_id, reason="account closed", caused_by="bank")

    # ---- the rules of LEDGER.md, after every step ----------------------------------------
    @invariant()
    def every_rule_holds(self):
        with session(self.settings) as s:
            self._check(s)

    def _check(self, s):
        # 3. double entry: 2+ entries, positive amounts, balanced per currency
        for tx_id, legs, net in s.execute(
                select(Entry.transaction_id, func.count(),
                       func.sum(case((Entry.side == "D", Entry.amount), else_=-Entry.amount)))
                .group_by(Entry.transaction_id, Entry.currency)):
            assert legs >= 2 and net == 0, tx_id
        assert (s.scalar(select(func.min(Entry.amount))) or 1) > 0
        # 17. who/what, source event, rule version, times
        for tx in s.scalars(select(Transaction)):
            assert tx.caused_by and tx.source_event and tx.rule_version
            assert tx.created_at is not None and tx.effective_at is not None
        # 17. stored balances equal balances rebuilt from entries; 6. guarded accounts >= 0
        for code, (stored, rebuilt) in rebuilt_balances(s).items():
            assert stored == rebuilt, code
        for account in s.scalars(select(Account).where(Account.allow_negative.is_(False))):
            assert account.balance >= 0, account.code
        # 7, 8, 9, 11: every line split exactly as the oracle rated it
        lines = {line.id: line for line in s.scalars(select(InvoiceLine))}
        rated = {k: line for k, line in lines.items() if line.gross}
        assert set(rated) == set(self.lines), set(rated) ^ set(self.lines)
        for line_id, o in self.lines.items():
            line = rated[line_id]
            assert (line.gross, line.tax, line.fee, line.share, line.refunded) == (
                o["gross"], o["tax"], o["fee"], o["share"], o["refunded"]), line_id
        # 10. fees come back cumulatively
        returned = defaultdict(lambda: [0, 0])  # line -> [fee, tax] refunded so far
        for line_id, kind, memo in s.execute(select(Transaction.line_id, Transaction.kind,
                                                    Transaction.memo)
                                             .where(Transaction.kind.in_(
                                                 ("refund", "chargeback",
                                                  "chargeback_reversal")))):
            sign = -1 if kind == "chargeback_reversal" else 1
            returned[line_id][0] += sign * memo["fee"]
            returned[line_id][1] += sign * memo["tax"]
        for line_id, (fee, tax) in returned.items():
            line = lines[line_id]
            # LEDGER.md as written: floor(fee * refunded_so_far / gross), tax the same way
            assert tax == line.tax * line.refunded // line.gross
            assert fee == line.fee * line.refunded // line.gross
        # 12. every event claimed at most once, and only by a rated period
        claimed = s.scalar(select(func.count()).select_from(UsageClaim))
        assert claimed == len(self.events) - len(self.unclaimed)
        # 14. statements frozen: hash verifies and never changes
        for row in s.scalars(select(Statement)):
            assert verify(row)
            assert self.statement_hashes[(row.publisher_id, row.currency, row.period)] == \
                row.content_hash
        # 15. the rail holds each payout once; failed ones are re-credited
        transfers = [t["payout"] for t in self.rail.transfers()]
        assert len(transfers) == len(set(transfers))
        sent = set(s.scalars(select(Payout.id).where(Payout.status != "pending")))
        assert set(transfers) == sent
        # 3, 16. reconciliation nets to zero for every period and currency
        report = reconciliation(s)
        assert report["ok"], {c: report[c] for c in CHECKS}


def _periods_before(period: str) -> list[str]:
    out, p = [], "2026-01"
    while p < period:
        out.append(p)
        p = next_period(p)
    return out


class PostgresLedgerMachine(LedgerMachine):
    engine = "postgres"


RUN = settings(max_examples=12, stateful_step_count=25, deadline=None,
               suppress_health_check=list(HealthCheck))
TestLedgerMachine = LedgerMachine.TestCase
TestLedgerMachine.settings = RUN


@pytest.mark.postgres
def test_ledger_machine_on_postgres():
    import os

    if not os.environ.get("TRACER_TEST_POSTGRES_URL"):
        from .conftest import NO_POSTGRES

        pytest.skip(NO_POSTGRES)
    from hypothesis.stateful import run_state_machine_as_test

    run_state_machine_as_test(PostgresLedgerMachine,
                              settings=settings(max_examples=6, stateful_step_count=20,
                                                deadline=None,
                                                suppress_health_check=list(HealthCheck)))
