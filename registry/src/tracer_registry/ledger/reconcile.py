"""Reconciliation (LEDGER.md rule 16): every check compares two independent sources.

Per period and currency, for every account: ``opening + activity - payouts = closing``,
where activity excludes payouts and the two ends come from records the entries did not
produce: a publisher's opening and closing are its frozen statement's (rule 14), and every
account's closing in its last period is its stored balance (rule 17). Between those, the
running sum of entries carries the balance. The other checks:

- ``nets_to_zero``: summed over all accounts each currency nets to zero, debits = credits;
- ``balances_match``: stored balances equal the balances rebuilt from entries;
- ``statements_intact``: every frozen statement still matches its content hash, and its
  opening is the previous statement's closing;
- ``transactions_complete``: every transaction has the entries it declares (two or more);
- suspense items are listed, never dropped.

``ok`` is all of them.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from sqlalchemy import case, func, select

from tracer_registry.ledger.models import Account, Entry, Statement, Transaction
from tracer_registry.ledger.statements import verify

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

CHECKS = ("nets_to_zero", "balances_match", "every_account_holds", "statements_intact",
          "transactions_complete")


def rebuilt_balances(s: Session) -> dict[str, tuple[int, int]]:
    """{account code: (stored balance, balance rebuilt from entries)}."""
    signed = func.sum(case((Entry.side == Account.normal, Entry.amount), else_=-Entry.amount))
    rebuilt: dict[int, int] = dict(s.execute(select(Entry.account_id, signed)
                             .join(Account, Account.id == Entry.account_id)
                             .group_by(Entry.account_id)).all())
    return {code: (balance, int(rebuilt.get(account_id) or 0))
            for account_id, code, balance in s.execute(
                select(Account.id, Account.code, Account.balance))}


def _moves(s: Session) -> dict[tuple[int, str], list[int]]:
    """(account, period) -> [debits, credits, payout amount] (payouts = kind 'payout')."""
    moves: dict[tuple[int, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for account_id, period, side, kind, amount in s.execute(
            select(Entry.account_id, Entry.period, Entry.side, Transaction.kind,
                   func.sum(Entry.amount))
            .join(Transaction, Transaction.id == Entry.transaction_id)
            .group_by(Entry.account_id, Entry.period, Entry.side, Transaction.kind)):
        cell = moves[(account_id, period)]
        cell[0 if side == "D" else 1] += int(amount)
        if kind == "payout":
            cell[2] += int(amount)
    return moves


def _statements(s: Session) -> tuple[dict[tuple[str, str, str], dict], bool]:
    """{(publisher, currency, period): body}, and whether every statement is intact."""
    bodies, intact = {}, True
    last: dict[tuple[str, str], Any] = {}
    for row in s.scalars(select(Statement).order_by(Statement.period, Statement.id)):
        intact = intact and verify(row)
        key = (row.publisher_id, row.currency)
        intact = intact and row.body.get("opening") == last.get(key, 0)
        last[key] = row.body.get("closing")
        bodies[(row.publisher_id, row.currency, row.period)] = row.body
    return bodies, intact


def _account_line(account: Account, opening: int, debits: int, credits: int, payouts: int,
                  closing: int, source: str) -> dict[str, Any]:
    sign = 1 if account.normal == "D" else -1
    # payouts debit a credit-normal payable; elsewhere (in transit) they are activity
    paid = payouts if account.normal == "C" else 0
    activity = sign * (debits - credits) + paid
    return {"account": account.code, "opening": opening, "activity": activity,
            "payouts": paid, "closing": closing, "closing_from": source,
            "holds": opening + activity - paid == closing}


def reconciliation(s: Session) -> dict[str, Any]:
    accounts = {a.id: a for a in s.scalars(select(Account))}
    moves = _moves(s)
    statements, intact = _statements(s)
    periods = sorted({p for _, p in moves} | {p for *_, p in statements})
    last_period = {a: max((p for (i, p) in moves if i == a), default=None) for a in accounts}
    report: dict[str, Any] = {"periods": [], "mismatches": []}
    carried: dict[int, int] = defaultdict(int)  # in the account's normal direction
    for period in periods:
        per_currency: dict[str, dict[str, Any]] = {}
        for account_id, account in sorted(accounts.items()):
            debits, credits, payouts = moves.get((account_id, period), (0, 0, 0))
            opening = carried[account_id]
            sign = 1 if account.normal == "D" else -1
            running = opening + sign * (debits - credits)
            closing, source = running, "entries"
            body = statements.get((account.owner, account.currency, period)) \
                if account.kind == "publisher_payable" else None
            if body is not None:
                opening, closing, source = body["opening"], body["closing"], "statement"
            if period == last_period[account_id]:
                closing, source = account.balance, "stored balance"
            carried[account_id] = closing
            if not (debits or credits or opening or closing):
                continue
            block = per_currency.setdefault(account.currency, {
                "currency": account.currency, "accounts": [], "debits": 0, "credits": 0})
            block["accounts"].append(_account_line(account, opening, debits, credits, payouts,
                                                   closing, source))
            block["debits"] += debits
            block["credits"] += credits
        for block in per_currency.values():
            block["net"] = block["debits"] - block["credits"]
            block["nets_to_zero"] = block["net"] == 0
        report["periods"].append({"period": period,
                                  "currencies": sorted(per_currency.values(),
                                                       key=lambda b: b["currency"])})
    for code, (stored, rebuilt) in sorted(rebuilt_balances(s).items()):
        if stored != rebuilt:
            report["mismatches"].append({"account": code, "stored": stored, "rebuilt": rebuilt})
    incomplete = [tx for tx, legs, count in s.execute(
        select(Transaction.id, Transaction.legs, func.count(Entry.id))
        .join(Entry, Entry.transaction_id == Transaction.id, isouter=True)
        .group_by(Transaction.id, Transaction.legs))
        if count < 2 or (legs is not None and legs != count)]
    report["incomplete_transactions"] = incomplete
    report["suspense"] = [
        {"transaction": tx.id, "amount": amount, "currency": currency, "memo": tx.memo}
        for tx, amount, currency in s.execute(
            select(Transaction, Entry.amount, Entry.currency)
            .join(Entry, Entry.transaction_id == Transaction.id)
            .join(Account, Account.id == Entry.account_id)
            .where(Account.kind == "platform_suspense").order_by(Transaction.id))]
    blocks = [b for p in report["periods"] for b in p["currencies"]]
    report["nets_to_zero"] = all(b["nets_to_zero"] for b in blocks)
    report["balances_match"] = not report["mismatches"]
    report["every_account_holds"] = all(a["holds"] for b in blocks for a in b["accounts"])
    report["statements_intact"] = intact
    report["transactions_complete"] = not incomplete
    report["ok"] = all(report[check] for check in CHECKS)
    return report
