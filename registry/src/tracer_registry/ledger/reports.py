"""The platform's reports: commission and revenue, reconciliation, rebuilt balances.

Reconciliation is computed from entries alone, per period and currency: for every account
``opening + activity - payouts = closing``; summed over all accounts each currency nets to
zero; stored balances equal the balances rebuilt from entries; suspense items are listed.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from sqlalchemy import case, func, select

from tracer_registry.ledger.models import Account, Entry, InvoiceLine, Transaction

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


def rebuilt_balances(s: Session) -> dict[str, tuple[int, int]]:
    """{account code: (stored balance, balance rebuilt from entries)}."""
    signed = func.sum(case((Entry.side == Account.normal, Entry.amount), else_=-Entry.amount))
    rebuilt = dict(s.execute(select(Entry.account_id, signed)
                             .join(Account, Account.id == Entry.account_id)
                             .group_by(Entry.account_id)).all())
    return {code: (balance, int(rebuilt.get(account_id) or 0))
            for account_id, code, balance in s.execute(
                select(Account.id, Account.code, Account.balance))}


def reconciliation(s: Session) -> dict[str, Any]:
    accounts = {a.id: a for a in s.scalars(select(Account))}
    rows = s.execute(select(Entry.account_id, Entry.period, Entry.side, Transaction.kind,
                            func.sum(Entry.amount))
                     .join(Transaction, Transaction.id == Entry.transaction_id)
                     .group_by(Entry.account_id, Entry.period, Entry.side,
                               Transaction.kind)).all()
    # (account, period) -> [debits, credits, payouts]
    moves: dict[tuple[int, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for account_id, period, side, kind, amount in rows:
        cell = moves[(account_id, period)]
        cell[0 if side == "D" else 1] += int(amount)
        if kind == "payout":
            cell[2] += int(amount)
    periods = sorted({p for _, p in moves})
    report: dict[str, Any] = {"periods": [], "balances_match": True, "mismatches": []}
    running: dict[int, int] = defaultdict(int)  # debit-positive
    for period in periods:
        per_currency: dict[str, dict[str, Any]] = {}
        for account_id, account in sorted(accounts.items()):
            debits, credits, payouts = moves.get((account_id, period), (0, 0, 0))
            opening = running[account_id]
            closing = opening + debits - credits
            running[account_id] = closing
            if not (debits or credits or opening):
                continue
            sign = 1 if account.normal == "D" else -1
            block = per_currency.setdefault(account.currency, {
                "currency": account.currency, "accounts": [], "debits": 0, "credits": 0,
                "net": 0})
            activity = sign * (debits - credits) + (payouts if account.normal == "C" else 0)
            block["accounts"].append({
                "account": account.code, "opening": sign * opening, "activity": activity,
                "payouts": payouts if account.normal == "C" else 0, "closing": sign * closing,
                "holds": sign * opening + activity
                - (payouts if account.normal == "C" else 0) == sign * closing})
            block["debits"] += debits
            block["credits"] += credits
            block["net"] += closing
        for block in per_currency.values():
            block["nets_to_zero"] = block["net"] == 0 and block["debits"] == block["credits"]
        report["periods"].append({"period": period,
                                  "currencies": sorted(per_currency.values(),
                                                       key=lambda b: b["currency"])})
    for code, (stored, rebuilt) in sorted(rebuilt_balances(s).items()):
        if stored != rebuilt:
            report["balances_match"] = False
            report["mismatches"].append({"account": code, "stored": stored, "rebuilt": rebuilt})
    report["suspense"] = [
        {"transaction": tx.id, "amount": amount, "currency": currency, "memo": tx.memo}
        for tx, amount, currency in s.execute(
            select(Transaction, Entry.amount, Entry.currency)
            .join(Entry, Entry.transaction_id == Transaction.id)
            .join(Account, Account.id == Entry.account_id)
            .where(Account.kind == "platform_suspense").order_by(Transaction.id))]
    report["nets_to_zero"] = all(b["nets_to_zero"] for p in report["periods"]
                                 for b in p["currencies"])
    report["every_account_holds"] = all(a["holds"] for p in report["periods"]
                                        for b in p["currencies"] for a in b["accounts"])
    return report


def platform_report(s: Session) -> list[dict[str, Any]]:
    """Per period and currency: billed, tax, commission, first-party revenue, refunds."""
    third = InvoiceLine.publisher_id.is_not(None)
    out: dict[tuple[str, str], dict[str, int]] = {}

    def cell(period: str, currency: str) -> dict[str, int]:
        return out.setdefault((period, currency), dict.fromkeys(
            ("billed", "tax", "commission", "first_party", "publisher_share", "refunds",
             "chargebacks", "chargeback_reversals", "fees_returned", "platform_revenue"), 0))

    for period, currency, gross, tax, commission, first_party, share in s.execute(
            select(InvoiceLine.period, InvoiceLine.currency, func.sum(InvoiceLine.gross),
                   func.sum(InvoiceLine.tax),
                   func.sum(case((third, InvoiceLine.fee), else_=0)),
                   func.sum(case((third, 0), else_=InvoiceLine.fee)),
                   func.sum(InvoiceLine.share))
            .group_by(InvoiceLine.period, InvoiceLine.currency)):
        c = cell(period, currency)
        c.update(billed=int(gross), tax=int(tax), commission=int(commission),
                 first_party=int(first_party), publisher_share=int(share))
    for period, currency, kind, amount in s.execute(
            select(Entry.period, Entry.currency, Transaction.kind, func.sum(Entry.amount))
            .join(Transaction, Transaction.id == Entry.transaction_id)
            .join(Account, Account.id == Entry.account_id)
            .where(Account.kind == "tenant_receivable",
                   Transaction.kind.in_(("refund", "chargeback", "chargeback_reversal")))
            .group_by(Entry.period, Entry.currency, Transaction.kind)):
        key = {"refund": "refunds", "chargeback": "chargebacks",
               "chargeback_reversal": "chargeback_reversals"}[kind]
        cell(period, currency)[key] += int(amount)
    for period, currency, kind, side, amount in s.execute(
            select(Entry.period, Entry.currency, Transaction.kind, Entry.side,
                   func.sum(Entry.amount))
            .join(Transaction, Transaction.id == Entry.transaction_id)
            .join(Account, Account.id == Entry.account_id)
            .where(Account.kind == "platform_revenue")
            .group_by(Entry.period, Entry.currency, Transaction.kind, Entry.side)):
        c = cell(period, currency)
        c["platform_revenue"] += int(amount) if side == "C" else -int(amount)
        if kind in ("refund", "chargeback") and side == "D":
            c["fees_returned"] += int(amount)
    return [{"period": p, "currency": c, **values} for (p, c), values in sorted(out.items())]
