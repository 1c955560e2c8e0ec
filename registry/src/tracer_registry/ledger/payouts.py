"""Payouts: pay publishers what closed periods earned them, when above their threshold.

A payout moves the available balance from the publisher's payable to money in transit
(one transaction, with the payout row, committed before anything leaves), hands the
transfer to the payout rail, and then records it as sent. The rail is idempotent by payout
id, so a crash anywhere in between is repaired by running payouts again: pending payouts
are re-sent (a no-op when the rail already has them) and settled once. A failed payout
(a bank return) re-credits the publisher; a return that matches no payout goes to suspense.

Publishers are paid in batches (``BATCH`` accounts): one transaction opens the batch's
payouts (accounts locked in id order, balances, thresholds and covered entries read with
one query each), the rail gets the batch in one append, one transaction marks it sent.

Available balance = credits from closed periods + every debit + re-credited failed payouts:
earnings of the open period wait for its statement; refunds count at once, so a refund
after a payout leaves the payable negative and later earnings net it out.
"""

from __future__ import annotations

from collections import defaultdict
from functools import partial
from typing import TYPE_CHECKING

from sqlalchemy import insert, or_, select
from tracer.db import utcnow
from tracer.errors import NotFoundError

from tracer_registry.ledger import crashpoints
from tracer_registry.ledger.concurrency import run_in_transaction, write_lock
from tracer_registry.ledger.errors import LedgerError
from tracer_registry.ledger.models import Account, Entry, Payout, Period, Transaction, table_of
from tracer_registry.ledger.periods import open_period
from tracer_registry.ledger.plans import payout_thresholds
from tracer_registry.ledger.postings import (
    Leg,
    Posting,
    platform,
    post,
    post_many,
    publisher_payable,
)
from tracer_registry.ledger.rail import FileRail
from tracer_registry.ledger.statements import credit_signed

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from sqlalchemy.orm import Session
    from tracer.settings import Settings

PAYOUT_RULE = "payout-v1"
BATCH = 500

__all__ = ["FileRail", "available", "bank_return", "fail_payout", "run_payouts"]


def _available_entries(s: Session, account_ids: list[int]) -> dict[int, tuple[int, list[int]]]:
    """{account: (available balance, the entries it is made of)}."""
    closed = select(Period.id).where(Period.status == "closed")
    found: dict[int, tuple[int, list[int]]] = {a: (0, []) for a in account_ids}
    for start in range(0, len(account_ids), 5000):
        rows = s.execute(select(Entry.account_id, Entry.id, credit_signed())
                         .join(Transaction, Transaction.id == Entry.transaction_id)
                         .where(Entry.account_id.in_(account_ids[start:start + 5000]),
                                or_(Entry.period.in_(closed), Entry.side == "D",
                                    Transaction.kind == "payout_failed"))
                         .order_by(Entry.id)).all()
        for account_id, entry_id, amount in rows:
            total, entries = found[account_id]
            entries.append(entry_id)
            found[account_id] = (total + amount, entries)
    return found


def available(s: Session, publisher_id: str, currency: str) -> int:
    account = s.scalar(select(Account.id).where(
        Account.code == publisher_payable(publisher_id, currency)))
    return 0 if account is None else _available_entries(s, [account])[account][0]


def _open_payouts(s: Session, account_ids: list[int], *, caused_by: str,
                  now: datetime) -> list[str]:
    """Open the payouts of these accounts (those strictly above their threshold)."""
    write_lock(s)
    accounts = list(s.scalars(select(Account).where(Account.id.in_(account_ids))
                              .order_by(Account.id).with_for_update()))
    balances = _available_entries(s, [a.id for a in accounts])
    owners = sorted({a.owner for a in accounts})
    thresholds = payout_thresholds(s, [(a.owner, a.currency) for a in accounts])
    covered: dict[tuple[str, str], set[int]] = defaultdict(set)
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for owner, currency, status, ids in s.execute(
            select(Payout.publisher_id, Payout.currency, Payout.status, Payout.entry_ids)
            .where(Payout.publisher_id.in_(owners))):
        counts[(owner, currency)] += 1
        if status != "failed":
            covered[(owner, currency)].update(ids)
    postings, rows, period = [], [], None
    for account in accounts:
        key = (account.owner, account.currency)
        amount, entries = balances[account.id]
        if amount <= 0 or amount <= thresholds[key]:
            continue  # carried forward: a payout needs a balance strictly above the threshold
        period = period or open_period(s, now)
        payout_id = f"{account.owner}/{account.currency}/{counts[key] + 1}"
        postings.append(Posting(
            id=f"payout:{payout_id}", kind="payout",
            legs=[Leg(account.code, "D", amount),
                  Leg(platform("in_transit", account.currency), "C", amount)],
            effective_at=now, period=period, caused_by=caused_by, source_event=payout_id,
            rule_version=PAYOUT_RULE, publisher_id=account.owner))
        rows.append({"id": payout_id, "publisher_id": account.owner,
                     "currency": account.currency, "amount": amount, "status": "pending",
                     "entry_ids": [e for e in entries if e not in covered[key]],
                     "created_at": now, "updated_at": now})
    if postings:
        post_many(s, postings)
        s.execute(insert(table_of(Payout)), rows)
    return [str(r["id"]) for r in rows]


def _settle(settings: Settings, rail: FileRail, payout_ids: list[str], caused_by: str) -> None:
    if not payout_ids:
        return
    payouts = run_in_transaction(settings, lambda s: list(s.scalars(
        select(Payout).where(Payout.id.in_(payout_ids)).order_by(Payout.id))))
    rail.send_many(payouts)
    crashpoints.reached("payout.after_send_before_settle")

    def mark_sent(s: Session) -> None:
        write_lock(s)
        rows = list(s.scalars(select(Payout).where(Payout.id.in_(payout_ids),
                                                   Payout.status == "pending")
                              .order_by(Payout.id).with_for_update()))
        if not rows:
            return
        now = utcnow()
        period = open_period(s, now)
        post_many(s, [Posting(id=f"payout_sent:{row.id}", kind="payout_sent",
                              legs=[Leg(platform("in_transit", row.currency), "D", row.amount),
                                    Leg(platform("cash", row.currency), "C", row.amount)],
                              effective_at=now, period=period, caused_by=caused_by,
                              source_event=row.id, rule_version=PAYOUT_RULE,
                              publisher_id=row.publisher_id) for row in rows])
        for row in rows:
            row.status, row.updated_at = "sent", now

    run_in_transaction(settings, mark_sent)


def run_payouts(settings: Settings, *, caused_by: str, rail: FileRail | None = None,
                progress: Callable[[int], None] | None = None,
                now: datetime | None = None, batch: int = BATCH) -> list[str]:
    """Resume pending payouts, then pay every publisher strictly above its threshold.

    ``now`` is when the payouts are effective (default: the current time).
    """
    rail = rail or FileRail.for_settings(settings)
    pending = run_in_transaction(settings, lambda s: list(s.scalars(
        select(Payout.id).where(Payout.status == "pending").order_by(Payout.id))))
    for start in range(0, len(pending), batch):
        _settle(settings, rail, pending[start:start + batch], caused_by)
    accounts = run_in_transaction(settings, lambda s: list(s.scalars(
        select(Account.id).where(Account.kind == "publisher_payable").order_by(Account.id))))
    paid = []
    for start in range(0, len(accounts), batch):
        group = accounts[start:start + batch]
        opened = run_in_transaction(settings, partial(
            _open_payouts, account_ids=group, caused_by=caused_by, now=now or utcnow()))
        if progress is not None:
            progress(len(group))
        if not opened:
            continue
        crashpoints.reached("payout.after_debit_before_send")
        _settle(settings, rail, opened, caused_by)
        paid.extend(opened)
    return paid
def fail_payout(s: Session, payout_id: str, *, reason: str, caused_by: str) -> Payout:
    """The transfer bounced: the money comes back to the publisher's payable."""
    write_lock(s)
    payout = s.scalar(select(Payout).where(Payout.id == payout_id).with_for_update())
    if payout is None:
        raise NotFoundError(f"payout {payout_id!r} does not exist")
    if payout.status == "failed":
        return payout
    source = "cash" if payout.status == "sent" else "in_transit"
    now = utcnow()
    post(s, Posting(id=f"payout_failed:{payout_id}", kind="payout_failed",
                    legs=[Leg(platform(source, payout.currency), "D", payout.amount),
                          Leg(publisher_payable(payout.publisher_id, payout.currency), "C",
                              payout.amount)],
                    effective_at=now, period=open_period(s, now), caused_by=caused_by,
                    source_event=payout_id, rule_version=PAYOUT_RULE,
                    publisher_id=payout.publisher_id, memo={"reason": reason}))
    payout.status, payout.failure_reason, payout.updated_at = "failed", reason, now
    s.flush()
    return payout


def bank_return(s: Session, return_id: str, *, reference: str, currency: str, amount: int,
                caused_by: str) -> str:
    """Money the bank sent back: fails the matching payout, or goes to suspense."""
    payout = s.get(Payout, reference)
    if (payout is not None and payout.status == "sent" and payout.currency == currency
            and payout.amount == amount):
        fail_payout(s, reference, reason=f"bank return {return_id}", caused_by=caused_by)
        return "payout_failed"
    if type(amount) is not int or amount <= 0:
        raise LedgerError(f"a bank return must be a positive amount, got {amount!r}")
    now = utcnow()
    post(s, Posting(id=f"suspense:{return_id}", kind="suspense",
                    legs=[Leg(platform("cash", currency), "D", amount),
                          Leg(platform("suspense", currency), "C", amount)],
                    effective_at=now, period=open_period(s, now), caused_by=caused_by,
                    source_event=return_id, rule_version=PAYOUT_RULE,
                    memo={"reference": reference, "why": "matches no sent payout"}))
    return "suspense"
