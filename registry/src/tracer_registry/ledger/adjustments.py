"""Corrections after a charge: refunds, chargebacks and their reversal, credits, adjustments.

Nothing is ever edited: each correction is a new transaction. Refunds and chargebacks take
back tax, fee and publisher share cumulatively (``money.refund_part``), so several partial
refunds add up to exactly the line; a chargeback reversal gives back the same amount at the
line's current cumulative position. Every call carries an id made by its producer (the
payment processor's refund id, the dispute id) and is idempotent by it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select
from tracer.db import utcnow
from tracer.errors import NotFoundError

from tracer_registry.ledger.concurrency import write_lock
from tracer_registry.ledger.errors import LedgerError
from tracer_registry.ledger.models import InvoiceLine, Refund
from tracer_registry.ledger.money import (
    MICROS_PER_MAJOR,
    RefundPart,
    Split,
    exponent,
    refund_part,
)
from tracer_registry.ledger.periods import open_period
from tracer_registry.ledger.postings import (
    Leg,
    Posting,
    platform,
    post,
    publisher_payable,
    tenant_credit,
    tenant_receivable,
)

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.orm import Session

ADJUSTMENT_RULE = "adjust-v1"


def _line_split(line: InvoiceLine) -> Split:
    return Split(line.gross, line.tax, line.fee, line.share, line.commission_bps,
                 line.rule_version)


def _legs(line: InvoiceLine, part: RefundPart, taking_back: bool) -> list[Leg]:
    """Refund legs mirror the charge: credit the tenant, debit tax, revenue and payable."""
    back, forth = ("D", "C") if taking_back else ("C", "D")
    legs = [Leg(tenant_receivable(line.tenant_id, line.currency), forth, part.amount)]
    if part.tax:
        legs.append(Leg(platform("tax", line.currency), back, part.tax))
    if part.fee:
        legs.append(Leg(platform("revenue", line.currency), back, part.fee))
    if part.share and line.publisher_id is not None:  # -1 on a rare slice: the publisher
        # gets that unit back (money.py); only a plan's listing has a publisher and a share
        legs.append(Leg(publisher_payable(line.publisher_id, line.currency),
                        back if part.share > 0 else forth, abs(part.share)))
    return legs


def _locked_line(s: Session, line_id: str) -> InvoiceLine:
    write_lock(s)
    line = s.scalar(select(InvoiceLine).where(InvoiceLine.id == line_id).with_for_update())
    if line is None:
        raise NotFoundError(f"invoice line {line_id!r} does not exist")
    return line


def _replayed(s: Session, refund_id: str, kind: str, line_id: str, amount: int) -> bool:
    existing = s.get(Refund, refund_id)
    if existing is None:
        return False
    if (existing.kind, existing.line_id, existing.amount) != (kind, line_id, amount):
        raise LedgerError(f"{kind} {refund_id} was already recorded with a different payload "
                          f"({existing.kind} of {existing.amount} on {existing.line_id})")
    return True


def refund(s: Session, refund_id: str, line_id: str, amount: int, *, caused_by: str,
           kind: str = "refund", effective_at: datetime | None = None) -> Refund:
    """Refund (or charge back) ``amount`` of a line's gross; returns the refund record."""
    if kind not in ("refund", "chargeback"):
        raise LedgerError(f"unknown refund kind {kind!r}")
    line = _locked_line(s, line_id)  # first the lock, then the replay check: no races
    if _replayed(s, refund_id, kind, line_id, amount):
        return s.get_one(Refund, refund_id)
    part = refund_part(_line_split(line), line.refunded, amount)
    effective_at = effective_at or utcnow()
    tx_id = f"{kind}:{refund_id}"
    post(s, Posting(id=tx_id, kind=kind, legs=_legs(line, part, True),
                    effective_at=effective_at, period=open_period(s, effective_at),
                    caused_by=caused_by, source_event=refund_id, rule_version=line.rule_version,
                    tenant_id=line.tenant_id, publisher_id=line.publisher_id,
                    domain=line.domain, line_id=line.id,
                    memo={"amount": amount, "tax": part.tax, "fee": part.fee,
                          "share": part.share, "refunded_before": line.refunded}))
    line.refunded += amount
    record = Refund(id=refund_id, kind=kind, line_id=line_id, amount=amount,
                    transaction_id=tx_id)
    s.add(record)
    s.flush()
    return record


def reverse_chargeback(s: Session, reversal_id: str, chargeback_id: str, *, caused_by: str,
                       effective_at: datetime | None = None) -> Refund:
    """A won dispute: the charged-back amount comes back to the line, split as it went."""
    chargeback = s.get(Refund, chargeback_id)
    if chargeback is None or chargeback.kind != "chargeback":
        raise NotFoundError(f"chargeback {chargeback_id!r} does not exist")
    line = _locked_line(s, chargeback.line_id)
    existing = s.get(Refund, reversal_id)
    if existing is not None:
        if existing.reverses != chargeback_id:
            raise LedgerError(f"reversal {reversal_id} already reverses {existing.reverses}")
        return existing
    already = s.scalar(select(Refund).where(Refund.reverses == chargeback_id))
    if already is not None:
        raise LedgerError(f"chargeback {chargeback_id} was already reversed by {already.id}")
    before = line.refunded - chargeback.amount
    if before < 0:  # pragma: no cover - refunded always includes the chargeback
        raise LedgerError(f"line {line.id} has less refunded than the chargeback")
    # the slice between (refunded - amount) and refunded: cumulative rounding stays exact
    part = refund_part(_line_split(line), before, chargeback.amount)
    effective_at = effective_at or utcnow()
    tx_id = f"chargeback_reversal:{reversal_id}"
    post(s, Posting(id=tx_id, kind="chargeback_reversal", legs=_legs(line, part, False),
                    effective_at=effective_at, period=open_period(s, effective_at),
                    caused_by=caused_by, source_event=reversal_id,
                    rule_version=line.rule_version, tenant_id=line.tenant_id,
                    publisher_id=line.publisher_id, domain=line.domain, line_id=line.id,
                    memo={"amount": chargeback.amount, "tax": part.tax, "fee": part.fee,
                          "share": part.share, "reverses": chargeback_id}))
    line.refunded = before
    record = Refund(id=reversal_id, kind="chargeback_reversal", line_id=line.id,
                    amount=chargeback.amount, reverses=chargeback_id, transaction_id=tx_id)
    s.add(record)
    s.flush()
    return record


def _simple(s: Session, tx_id: str, kind: str, legs: list[Leg], *, caused_by: str,
            source: str, effective_at: datetime | None, memo: dict, **who) -> str:
    effective_at = effective_at or utcnow()
    post(s, Posting(id=tx_id, kind=kind, legs=legs, effective_at=effective_at,
                    period=open_period(s, effective_at), caused_by=caused_by,
                    source_event=source, rule_version=ADJUSTMENT_RULE, memo=memo, **who))
    return tx_id


def _positive(amount: int, what: str) -> None:
    if type(amount) is not int or amount <= 0:
        raise LedgerError(f"{what} must be a positive integer of minor units, got {amount!r}")


def grant_credit(s: Session, credit_id: str, tenant_id: str, currency: str, amount: int, *,
                 caused_by: str, reason: str, effective_at: datetime | None = None) -> str:
    """Prepaid or promotional credit a tenant can spend on invoices."""
    _positive(amount, "a credit")
    return _simple(s, f"credit:{credit_id}", "credit",
                   [Leg(platform("promotions", currency), "D", amount),
                    Leg(tenant_credit(tenant_id, currency), "C", amount)],
                   caused_by=caused_by, source=credit_id, effective_at=effective_at,
                   memo={"reason": reason}, tenant_id=tenant_id)


def apply_credit(s: Session, application_id: str, tenant_id: str, currency: str, amount: int,
                 *, caused_by: str, effective_at: datetime | None = None) -> str:
    """Pay part of a tenant's receivable from its credit; refused if the credit is short."""
    _positive(amount, "an applied credit")
    return _simple(s, f"credit_applied:{application_id}", "credit_applied",
                   [Leg(tenant_credit(tenant_id, currency), "D", amount),
                    Leg(tenant_receivable(tenant_id, currency), "C", amount)],
                   caused_by=caused_by, source=application_id, effective_at=effective_at,
                   memo={}, tenant_id=tenant_id)


def adjust_publisher(s: Session, adjustment_id: str, publisher_id: str, currency: str,
                     amount: int, *, caused_by: str, reason: str,
                     effective_at: datetime | None = None) -> str:
    """A manual correction of a publisher's earnings (positive pays more, negative less)."""
    if type(amount) is not int or amount == 0:
        raise LedgerError(f"an adjustment must be a non-zero integer, got {amount!r}")
    side = "C" if amount > 0 else "D"
    other = "D" if amount > 0 else "C"
    return _simple(s, f"adjustment:{adjustment_id}", "adjustment",
                   [Leg(publisher_payable(publisher_id, currency), side, abs(amount)),
                    Leg(platform("revenue", currency), other, abs(amount))],
                   caused_by=caused_by, source=adjustment_id, effective_at=effective_at,
                   memo={"reason": reason}, publisher_id=publisher_id)


def convert(s: Session, conversion_id: str, *, debit: str, credit: str, amount: int,
            rate_micros: int, source: str, caused_by: str,
            effective_at: datetime | None = None) -> str:
    """Move ``amount`` out of account ``credit`` into account ``debit`` in another currency.

    Each currency balances through its FX account; the rate (micro-units of the target per
    unit of the source) and where it came from are recorded on the transaction.
    """
    _positive(amount, "a conversion")
    _positive(rate_micros, "an FX rate")
    from_currency, to_currency = credit.rsplit(":", 1)[1], debit.rsplit(":", 1)[1]
    if from_currency == to_currency:
        raise LedgerError("a conversion needs two currencies; move same-currency money "
                          "with one transaction")
    # rate is per major unit; floor in the platform's favour, recorded with the rate
    converted = (amount * rate_micros * 10 ** exponent(to_currency)
                 // (MICROS_PER_MAJOR * 10 ** exponent(from_currency)))
    _positive(converted, "the converted amount")
    return _simple(s, f"fx:{conversion_id}", "fx",
                   [Leg(platform("fx", from_currency), "D", amount),
                    Leg(credit, "C", amount),
                    Leg(debit, "D", converted),
                    Leg(platform("fx", to_currency), "C", converted)],
                   caused_by=caused_by, source=conversion_id, effective_at=effective_at,
                   memo={"rate_micros": rate_micros, "rate_source": source,
                         "from": [from_currency, amount], "to": [to_currency, converted]})


__all__ = ["adjust_publisher", "apply_credit", "convert", "grant_credit",
           "refund", "reverse_chargeback"]
