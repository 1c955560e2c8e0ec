"""The platform's reports: commission and revenue per period and currency.

Reconciliation and rebuilt balances live in ``reconcile`` (re-exported here).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import case, func, select

from tracer_registry.ledger.models import Account, Entry, InvoiceLine, Transaction
from tracer_registry.ledger.reconcile import rebuilt_balances, reconciliation  # noqa: F401 -- re-exported

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


def _entry_sums(account_kind: str, *by: Any) -> Any:
    """Entry amounts on ``account_kind`` accounts summed per period, currency and ``by``."""
    return (select(Entry.period, Entry.currency, *by, func.sum(Entry.amount))
            .join(Transaction, Transaction.id == Entry.transaction_id)
            .join(Account, Account.id == Entry.account_id)
            .where(Account.kind == account_kind)
            .group_by(Entry.period, Entry.currency, *by))


def platform_report(s: Session) -> list[dict[str, Any]]:
    """Per period and currency: billed, tax owed (net of tax refunded), commission,
    first-party revenue, refunds."""
    third = InvoiceLine.publisher_id.is_not(None)
    out: dict[tuple[str, str], dict[str, int]] = {}

    def cell(period: str, currency: str) -> dict[str, int]:
        return out.setdefault((period, currency), dict.fromkeys(
            ("billed", "tax", "tax_returned", "commission", "first_party", "publisher_share",
             "refunds",
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
    returns = Transaction.kind.in_(("refund", "chargeback", "chargeback_reversal"))
    for period, currency, kind, amount in s.execute(_entry_sums(
            "tenant_receivable", Transaction.kind).where(returns)):
        key = {"refund": "refunds", "chargeback": "chargebacks",
               "chargeback_reversal": "chargeback_reversals"}[kind]
        cell(period, currency)[key] += int(amount)
    for period, currency, kind, side, amount in s.execute(_entry_sums(
            "platform_revenue", Transaction.kind, Entry.side)):
        c = cell(period, currency)
        c["platform_revenue"] += int(amount) if side == "C" else -int(amount)
        if kind in ("refund", "chargeback") and side == "D":
            c["fees_returned"] += int(amount)
    # tax is what is still owed: billed tax less tax returned by refunds and chargebacks
    for period, currency, side, amount in s.execute(_entry_sums(
            "platform_tax", Entry.side).where(returns)):
        c = cell(period, currency)
        returned = int(amount) if side == "D" else -int(amount)
        c["tax_returned"] += returned
        c["tax"] -= returned
    return [{"period": p, "currency": c, **values} for (p, c), values in sorted(out.items())]
