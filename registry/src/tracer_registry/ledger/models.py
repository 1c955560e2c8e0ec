"""Ledger tables. Entries are append-only; everything else points at entries.

Accounts keep a stored balance in their normal direction (credit-normal accounts grow with
credits); it must always equal the balance rebuilt from entries. A CHECK refuses a negative
balance on accounts that must never go negative (tenant prepaid credit, money in transit).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column
from tracer.db import utcnow
from tracer.models import Base

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit identity.
BigId = BigInteger().with_variant(Integer(), "sqlite")



def table_of(model: type[Base]) -> Table:
    """A model's Core table, for executemany inserts and updates that skip the ORM's bulk
    path (``__table__`` is typed as any ``FromClause``)."""
    return cast("Table", model.__table__)

class PricePlanRow(Base):
    """The agreement for one third-party listing: prices and the commission rate."""

    __tablename__ = "ledger_price_plans"

    domain: Mapped[str] = mapped_column(String(128), primary_key=True)
    publisher_id: Mapped[str] = mapped_column(String(64), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    monthly_fee_minor: Mapped[int] = mapped_column(BigInteger)
    prediction_price_micros: Mapped[int] = mapped_column(BigInteger)
    commission_bps: Mapped[int] = mapped_column(Integer)
    rule_version: Mapped[str] = mapped_column(String(32))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class TaxRate(Base):
    """A tenant's tax-inclusive rate (VAT/GST), extracted before the split."""

    __tablename__ = "ledger_tax_rates"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tax_bps: Mapped[int] = mapped_column(Integer)


class PayoutThreshold(Base):
    __tablename__ = "ledger_payout_thresholds"

    publisher_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    minimum: Mapped[int] = mapped_column(BigInteger)


class Period(Base):
    __tablename__ = "ledger_periods"

    id: Mapped[str] = mapped_column(String(7), primary_key=True)  # YYYY-MM
    status: Mapped[str] = mapped_column(String(8), default="open")  # open | closed
    closed_at: Mapped[datetime | None]


class Account(Base):
    __tablename__ = "ledger_accounts"
    __table_args__ = (
        CheckConstraint("normal IN ('D', 'C')", name="ck_ledger_accounts_normal"),
        CheckConstraint("allow_negative OR balance >= 0", name="ck_ledger_accounts_negative"),
        # the target of the entries' (account, currency) key: one account, one currency
        UniqueConstraint("id", "currency", name="uq_ledger_accounts_id_currency"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    owner: Mapped[str] = mapped_column(String(64), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    normal: Mapped[str] = mapped_column(String(1))
    allow_negative: Mapped[bool] = mapped_column(Boolean)
    balance: Mapped[int] = mapped_column(BigInteger, default=0)


class Transaction(Base):
    __tablename__ = "ledger_transactions"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)  # the idempotency key
    kind: Mapped[str] = mapped_column(String(32), index=True)
    period: Mapped[str] = mapped_column(String(7), index=True)
    caused_by: Mapped[str] = mapped_column(String(200))
    source_event: Mapped[str] = mapped_column(String(200))
    rule_version: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    effective_at: Mapped[datetime]
    payload_hash: Mapped[str] = mapped_column(String(64))
    tenant_id: Mapped[str | None] = mapped_column(String(64))
    publisher_id: Mapped[str | None] = mapped_column(String(64), index=True)
    domain: Mapped[str | None] = mapped_column(String(128))
    line_id: Mapped[str | None] = mapped_column(String(300), index=True)
    memo: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    legs: Mapped[int | None] = mapped_column(Integer)  # how many entries it has (>= 2)


class Entry(Base):
    __tablename__ = "ledger_entries"
    __table_args__ = (
        CheckConstraint("amount > 0", name="ck_ledger_entries_amount"),
        CheckConstraint("side IN ('D', 'C')", name="ck_ledger_entries_side"),
        ForeignKeyConstraint(["account_id", "currency"],
                             ["ledger_accounts.id", "ledger_accounts.currency"],
                             name="fk_ledger_entries_account_currency"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    transaction_id: Mapped[str] = mapped_column(ForeignKey("ledger_transactions.id"),
                                                index=True)
    account_id: Mapped[int] = mapped_column(BigId, index=True)
    side: Mapped[str] = mapped_column(String(1))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    period: Mapped[str] = mapped_column(String(7), index=True)


class Invoice(Base):
    """A tenant's rated period; its existence marks the tenant rated for that period."""

    __tablename__ = "ledger_invoices"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)  # tenant/period
    tenant_id: Mapped[str] = mapped_column(String(64), index=True)
    period: Mapped[str] = mapped_column(String(7), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class UsageClaim(Base):
    """A usage event claimed by exactly one invoice (the idempotency claim of rating)."""

    __tablename__ = "ledger_usage_claims"

    event_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    invoice_id: Mapped[str] = mapped_column(String(200), index=True)


class InvoiceLine(Base):
    __tablename__ = "ledger_invoice_lines"
    __table_args__ = (
        CheckConstraint("tax + fee + share = gross", name="ck_ledger_lines_split"),
        CheckConstraint("refunded >= 0 AND refunded <= gross", name="ck_ledger_lines_refund"),
    )

    id: Mapped[str] = mapped_column(String(300), primary_key=True)  # tenant/period/kind/domain
    invoice_id: Mapped[str] = mapped_column(String(200), index=True)
    tenant_id: Mapped[str] = mapped_column(String(64), index=True)
    period: Mapped[str] = mapped_column(String(7), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    domain: Mapped[str | None] = mapped_column(String(128))
    publisher_id: Mapped[str | None] = mapped_column(String(64), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    quantity: Mapped[int] = mapped_column(BigInteger)
    unit_price_micros: Mapped[int] = mapped_column(BigInteger)
    accrued_micros: Mapped[int] = mapped_column(BigInteger)
    gross: Mapped[int] = mapped_column(BigInteger)
    tax: Mapped[int] = mapped_column(BigInteger)
    fee: Mapped[int] = mapped_column(BigInteger)
    share: Mapped[int] = mapped_column(BigInteger)
    commission_bps: Mapped[int] = mapped_column(Integer)
    rule_version: Mapped[str] = mapped_column(String(32))
    refunded: Mapped[int] = mapped_column(BigInteger, default=0)
    transaction_id: Mapped[str | None] = mapped_column(String(200))


class Refund(Base):
    """A refund, chargeback or chargeback reversal against one line (producer-made id)."""

    __tablename__ = "ledger_refunds"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    kind: Mapped[str] = mapped_column(String(24))  # refund | chargeback | chargeback_reversal
    line_id: Mapped[str] = mapped_column(ForeignKey("ledger_invoice_lines.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    reverses: Mapped[str | None] = mapped_column(String(200), unique=True)
    transaction_id: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Statement(Base):
    """A publisher's frozen statement for one period and currency."""

    __tablename__ = "ledger_statements"
    __table_args__ = (UniqueConstraint("publisher_id", "currency", "period"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    publisher_id: Mapped[str] = mapped_column(String(64), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    period: Mapped[str] = mapped_column(String(7), index=True)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    content_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Payout(Base):
    __tablename__ = "ledger_payouts"
    __table_args__ = (CheckConstraint("amount > 0", name="ck_ledger_payouts_amount"),)

    id: Mapped[str] = mapped_column(String(200), primary_key=True)  # publisher/currency/n
    publisher_id: Mapped[str] = mapped_column(String(64), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(8))  # pending | sent | failed
    entry_ids: Mapped[list[int]] = mapped_column(JSON)
    failure_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class TierChange(Base):
    """A tenant's move from one tier to another; subscriptions pro-rate by it."""

    __tablename__ = "ledger_tier_changes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime]
    tier_from: Mapped[str] = mapped_column(String(32))
    tier_to: Mapped[str] = mapped_column(String(32))
    caused_by: Mapped[str] = mapped_column(String(200))


class Payment(Base):
    """Money a tenant paid (the provider's payment id is the key): settles receivables."""

    __tablename__ = "ledger_payments"
    __table_args__ = (CheckConstraint("amount > 0 AND settled >= 0 AND credited >= 0 "
                                      "AND settled + credited = amount",
                                      name="ck_ledger_payments"),)

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[int] = mapped_column(BigInteger)
    received_at: Mapped[datetime]
    source: Mapped[str] = mapped_column(String(64))
    payload_hash: Mapped[str] = mapped_column(String(64))
    settled: Mapped[int] = mapped_column(BigInteger)  # against the receivable
    credited: Mapped[int] = mapped_column(BigInteger)  # beyond it: prepaid credit
    transaction_id: Mapped[str] = mapped_column(String(200))


class OperatorAudit(Base):
    """Who did what through an operator command or admin route."""

    __tablename__ = "ledger_operator_audit"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    operator: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(300))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
