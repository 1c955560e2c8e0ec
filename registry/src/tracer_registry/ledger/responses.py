"""Response bodies of the ledger routes (payouts in ``api.py``, invoices and payments in
``billing_api.py``): each route returns through one of these, so FastAPI checks every answer
and the OpenAPI document says what it holds. Amounts are integers in minor units (see
``LEDGER.md``). ``extra="allow"`` keeps fields a later version adds."""

from __future__ import annotations

from typing import Any

from pydantic import Field
from tracer.api.responses import Out


class StatementSummary(Out):
    publisher: str
    period: str
    currency: str
    closing: int
    content_hash: str


class StatementOut(Out):
    statement: dict[str, Any] = Field(description="The closed statement's body.")
    content_hash: str
    hash_verified: bool


class BalanceOut(Out):
    publisher: str
    currency: str
    balance: int
    available: int = Field(description="What the next payout run may pay out.")


class ReportRow(Out):
    period: str
    currency: str
    billed: int
    tax: int
    tax_returned: int
    commission: int
    first_party: int
    publisher_share: int
    refunds: int
    chargebacks: int
    chargeback_reversals: int
    fees_returned: int
    platform_revenue: int


class AccountLine(Out):
    account: str
    opening: int
    activity: int
    payouts: int
    closing: int
    closing_from: str
    holds: bool


class CurrencyBlock(Out):
    currency: str
    accounts: list[AccountLine]
    debits: int
    credits: int
    net: int
    nets_to_zero: bool


class PeriodBlock(Out):
    period: str
    currencies: list[CurrencyBlock]


class Reconciliation(Out):
    periods: list[PeriodBlock]
    mismatches: list[dict[str, Any]]
    incomplete_transactions: list[Any]
    suspense: list[dict[str, Any]]
    nets_to_zero: bool
    balances_match: bool
    every_account_holds: bool
    statements_intact: bool
    transactions_complete: bool
    ok: bool = Field(description="Every check above holds.")


class ClosedPeriod(Out):
    period: str
    tenants_rated: int
    statements: int


class PayoutRun(Out):
    payouts: list[str] = Field(description="The ids of the payouts made.")


class InvoiceLine(Out):
    id: str
    kind: str
    domain: str | None
    currency: str
    quantity: int
    unit_price_micros: int
    gross: int
    tax: int
    net: int
    refunded: int


class Invoice(Out):
    id: str
    tenant: str
    period: str
    created_at: str
    lines: list[InvoiceLine]
    totals: dict[str, dict[str, int]] = Field(
        description="Per currency: gross, tax, net, refunded.")


class Invoices(Out):
    tenant: str
    account: dict[str, dict[str, int]] = Field(
        description="Per currency: due (receivable) and prepaid credit.")
    invoices: list[Invoice]


class PaymentOut(Out):
    id: str
    tenant: str
    currency: str
    amount: int
    settled: int
    credited: int


class OperatorResult(Out):
    action: str
    result: str


class AuditEntry(Out):
    at: str
    operator: str
    action: str
    target: Any
    detail: Any
