"""Publisher statements: frozen at period close, one per publisher and currency.

A statement lists every entry that moved the publisher's payable in the period (each line
points at its entry and transaction), its opening and closing balances and the totals in
between. It is stored with a SHA-256 of its canonical JSON and never recomputed; the closing
balance is checked against the balance rebuilt from entries before it is stored.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, case, func, insert, select
from tracer.errors import NotFoundError

from tracer_registry.ledger.errors import LedgerError
from tracer_registry.ledger.models import Account, Entry, Statement, Transaction
from tracer_registry.ledger.money import exponent

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

TOTALS = ("gross", "fees", "refunds", "chargebacks", "adjustments", "payouts")


def content_hash(body: dict[str, Any]) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def credit_signed():
    """An entry's amount as it moves a credit-normal balance (SQL expression)."""
    return case((Entry.side == "C", Entry.amount), else_=-Entry.amount)


def _bucket(kind: str) -> str:
    return {"refund": "refunds", "chargeback": "chargebacks", "payout": "payouts"}.get(
        kind, "adjustments")


def freeze_statements(s: Session, period: str, previous: str | None) -> int:
    """Freeze the statements of ``period`` (activity after ``previous``, the last closed)."""
    in_range = Entry.period <= period if previous is None else and_(
        Entry.period > previous, Entry.period <= period)
    rows = s.execute(
        select(Entry.id, Entry.side, Entry.amount, Account.id, Account.owner, Account.currency,
               Transaction.id, Transaction.kind, Transaction.domain, Transaction.line_id,
               Transaction.effective_at, Transaction.memo, Transaction.rule_version)
        .join(Account, Account.id == Entry.account_id)
        .join(Transaction, Transaction.id == Entry.transaction_id)
        .where(Account.kind == "publisher_payable", in_range)
        .order_by(Entry.id)).all()
    activity: dict[int, list] = defaultdict(list)
    for row in rows:
        activity[row[3]].append(row)
    openings: dict[tuple[str, str], int] = {}
    if previous is not None:
        for pub, cur, body in s.execute(select(Statement.publisher_id, Statement.currency,
                                               Statement.body)
                                        .where(Statement.period == previous)):
            openings[(pub, cur)] = body["closing"]
    rebuilt: dict[int, int] = dict(s.execute(
        select(Entry.account_id, func.sum(credit_signed()))
        .join(Account, Account.id == Entry.account_id)
        .where(Account.kind == "publisher_payable", Entry.period <= period)
        .group_by(Entry.account_id)).all())
    accounts = {a: (o, c) for a, o, c in s.execute(
        select(Account.id, Account.owner, Account.currency)
        .where(Account.kind == "publisher_payable"))}
    statements = []
    for account_id, (publisher, currency) in sorted(accounts.items()):
        opening = openings.get((publisher, currency), 0)
        lines = activity.get(account_id, [])
        if not lines and opening == 0:
            continue
        body = _body(publisher, currency, period, opening, lines)
        expected = int(rebuilt.get(account_id) or 0)
        if body["closing"] != expected:
            raise LedgerError(f"statement {publisher}/{currency}/{period} closes at "
                              f"{body['closing']} but the entries say {expected}")
        statements.append({"publisher_id": publisher, "currency": currency, "period": period,
                           "body": body, "content_hash": content_hash(body)})
    if statements:
        s.execute(insert(Statement), statements)
    return len(statements)


def _body(publisher: str, currency: str, period: str, opening: int, rows: list) -> dict:
    totals = dict.fromkeys(TOTALS, 0)
    lines, rules = [], set()
    for (entry_id, side, amount, _, _, _, tx_id, kind, domain, line_id, effective_at, memo,
         rule) in rows:
        signed = amount if side == "C" else -amount
        line = {"entry": entry_id, "transaction": tx_id, "kind": kind, "domain": domain,
                "line": line_id, "effective_at": effective_at.isoformat(), "amount": signed}
        if kind == "charge":
            totals["gross"] += memo["net"]
            totals["fees"] += memo["fee"]
            line.update(gross=memo["net"], fee=memo["fee"])
        else:
            bucket = _bucket(kind)
            totals[bucket] += signed if bucket == "adjustments" else -signed
        rules.add(rule)
        lines.append(line)
    closing = (opening + totals["gross"] - totals["fees"] - totals["refunds"]
               - totals["chargebacks"] + totals["adjustments"] - totals["payouts"])
    return {"publisher": publisher, "currency": currency, "exponent": exponent(currency),
            "period": period, "opening": opening, **totals, "closing": closing,
            "rule_versions": sorted(rules), "lines": lines}


def statement(s: Session, publisher: str, period: str, currency: str) -> Statement:
    row = s.scalar(select(Statement).where(Statement.publisher_id == publisher,
                                           Statement.period == period,
                                           Statement.currency == currency))
    if row is None:
        raise NotFoundError(f"no statement for publisher {publisher!r} in {period} ({currency})")
    return row


def statements_of(s: Session, publisher: str | None = None) -> list[Statement]:
    query = select(Statement).order_by(Statement.period, Statement.publisher_id,
                                       Statement.currency)
    if publisher is not None:
        query = query.where(Statement.publisher_id == publisher)
    return list(s.scalars(query))


def verify(row: Statement) -> bool:
    """True when the stored body still matches the hash it was frozen with."""
    return content_hash(row.body) == row.content_hash
