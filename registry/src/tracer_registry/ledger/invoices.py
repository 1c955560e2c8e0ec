"""What a tenant is billed: its invoices, line by line, with tax and totals per currency.

An invoice is a tenant's rated period (``rating``); its lines are what was charged. The
view adds what each line's quantity means (parts of a month for recurring charges) and the
tenant's account: what is still due (the receivable) and its prepaid credit.
"""

from __future__ import annotations

from collections import defaultdict
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from tracer.errors import NotFoundError

from tracer_registry.ledger.models import Account, Invoice, InvoiceLine
from tracer_registry.ledger.periods import parse_period
from tracer_registry.ledger.recurring import MONTH

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

RECURRING = ("install_period", "subscription")


def _line(line: InvoiceLine) -> dict[str, Any]:
    out = {"id": line.id, "kind": line.kind, "domain": line.domain,
           "currency": line.currency, "quantity": line.quantity,
           "unit_price_micros": line.unit_price_micros, "gross": line.gross, "tax": line.tax,
           "net": line.gross - line.tax, "refunded": line.refunded}
    if line.kind in RECURRING:
        months = Fraction(line.quantity, MONTH)
        out["months"] = f"{months.numerator}/{months.denominator}" \
            if months.denominator != 1 else str(months.numerator)
    return out


def _invoice(row: Invoice, lines: list[InvoiceLine]) -> dict[str, Any]:
    totals: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(
        ("gross", "tax", "net", "refunded"), 0))
    for line in lines:
        t = totals[line.currency]
        t["gross"] += line.gross
        t["tax"] += line.tax
        t["net"] += line.gross - line.tax
        t["refunded"] += line.refunded
    return {"id": row.id, "tenant": row.tenant_id, "period": row.period,
            "created_at": row.created_at.isoformat(),
            "lines": [_line(line) for line in lines if line.gross],
            "totals": {c: totals[c] for c in sorted(totals)}}


def tenant_account(s: Session, tenant_id: str) -> dict[str, dict[str, int]]:
    """{currency: {"due": receivable balance, "credit": prepaid credit}}."""
    out: dict[str, dict[str, int]] = defaultdict(lambda: {"due": 0, "credit": 0})
    for kind, currency, balance in s.execute(
            select(Account.kind, Account.currency, Account.balance)
            .where(Account.owner == tenant_id,
                   Account.kind.in_(("tenant_receivable", "tenant_credit")))):
        out[currency]["due" if kind == "tenant_receivable" else "credit"] = balance
    return {c: out[c] for c in sorted(out)}


def invoices(s: Session, tenant_id: str, period: str | None = None) -> dict[str, Any]:
    """A tenant's invoices (newest first), or the one of ``period`` (404 when none)."""
    query = select(Invoice).where(Invoice.tenant_id == tenant_id)
    if period is not None:
        query = query.where(Invoice.period == parse_period(period))
    rows = list(s.scalars(query.order_by(Invoice.period.desc())))
    if period is not None and not rows:
        raise NotFoundError(f"tenant {tenant_id!r} has no invoice for {period}")
    lines: dict[str, list[InvoiceLine]] = defaultdict(list)
    if rows:
        for line in s.scalars(select(InvoiceLine).where(
                InvoiceLine.invoice_id.in_([r.id for r in rows])).order_by(InvoiceLine.id)):
            lines[line.invoice_id].append(line)
    return {"tenant": tenant_id, "account": tenant_account(s, tenant_id),
            "invoices": [_invoice(r, lines[r.id]) for r in rows]}
