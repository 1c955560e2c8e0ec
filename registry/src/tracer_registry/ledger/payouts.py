"""Payouts: pay publishers what closed periods earned them, at least their threshold.

A payout moves the available balance from the publisher's payable to money in transit
(one transaction, with the payout row, committed before anything leaves), hands the
transfer to the payout rail, and then records it as sent. The rail is idempotent by payout
id, so a crash anywhere in between is repaired by running payouts again: pending payouts
are re-sent (a no-op when the rail already has them) and settled once. A failed payout
(a bank return) re-credits the publisher; a return that matches no payout goes to suspense.

Available balance = credits from closed periods + every debit + re-credited failed payouts:
earnings of the open period wait for its statement; refunds count at once, so a refund
after a payout leaves the payable negative and later earnings net it out.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session
from tracer.db import utcnow
from tracer.errors import LedgerError, NotFoundError
from tracer.settings import Settings

from tracer_registry.ledger import crashpoints
from tracer_registry.ledger.concurrency import run_in_transaction, write_lock
from tracer_registry.ledger.models import Account, Entry, Payout, Period, Transaction
from tracer_registry.ledger.periods import open_period
from tracer_registry.ledger.plans import payout_threshold
from tracer_registry.ledger.postings import Leg, Posting, platform, post, publisher_payable
from tracer_registry.ledger.statements import credit_signed

PAYOUT_RULE = "payout-v1"


class FileRail:
    """The payout rail: an append-only transfer file (a bank batch), idempotent by id."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @classmethod
    def for_settings(cls, settings: Settings) -> FileRail:
        return cls(settings.home / "payouts" / "transfers.jsonl")

    def transfers(self) -> list[dict]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines() if line]

    def send(self, payout: Payout) -> bool:
        """Hand a transfer to the rail; False when the rail already has it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            handle.seek(0)
            if any(json.loads(line)["payout"] == payout.id for line in handle if line.strip()):
                return False
            handle.write(json.dumps({"payout": payout.id, "publisher": payout.publisher_id,
                                     "currency": payout.currency,
                                     "amount": payout.amount}) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
            return True


def _available_entries(s: Session, account_id: int) -> tuple[int, list[int]]:
    closed = select(Period.id).where(Period.status == "closed")
    rows = s.execute(select(Entry.id, credit_signed())
                     .join(Transaction, Transaction.id == Entry.transaction_id)
                     .where(Entry.account_id == account_id,
                            or_(Entry.period.in_(closed), Entry.side == "D",
                                Transaction.kind == "payout_failed"))).all()
    return sum(amount for _, amount in rows), [entry for entry, _ in rows]


def available(s: Session, publisher_id: str, currency: str) -> int:
    account = s.scalar(select(Account.id).where(
        Account.code == publisher_payable(publisher_id, currency)))
    return 0 if account is None else _available_entries(s, account)[0]


def _open_payout(s: Session, account_id: int, *, caused_by: str,
                 now: datetime) -> str | None:
    write_lock(s)
    account = s.scalar(select(Account).where(Account.id == account_id).with_for_update())
    amount, entries = _available_entries(s, account_id)
    if amount <= 0 or amount < payout_threshold(s, account.owner, account.currency):
        return None  # carried forward
    covered: set[int] = set()
    for ids in s.scalars(select(Payout.entry_ids).where(
            Payout.publisher_id == account.owner, Payout.currency == account.currency,
            Payout.status != "failed")):
        covered.update(ids)
    count = s.scalar(select(func.count()).select_from(Payout).where(
        Payout.publisher_id == account.owner, Payout.currency == account.currency))
    payout_id = f"{account.owner}/{account.currency}/{count + 1}"
    post(s, Posting(id=f"payout:{payout_id}", kind="payout",
                    legs=[Leg(account.code, "D", amount),
                          Leg(platform("in_transit", account.currency), "C", amount)],
                    effective_at=now, period=open_period(s, now), caused_by=caused_by,
                    source_event=payout_id, rule_version=PAYOUT_RULE,
                    publisher_id=account.owner))
    s.add(Payout(id=payout_id, publisher_id=account.owner, currency=account.currency,
                 amount=amount, status="pending",
                 entry_ids=sorted(e for e in entries if e not in covered)))
    s.flush()
    return payout_id


def _settle(settings: Settings, rail: FileRail, payout_id: str, caused_by: str) -> None:
    payout = run_in_transaction(settings, lambda s: s.get(Payout, payout_id))
    rail.send(payout)
    crashpoints.reached("payout.after_send_before_settle")

    def mark_sent(s: Session) -> None:
        write_lock(s)
        row = s.scalar(select(Payout).where(Payout.id == payout_id).with_for_update())
        if row.status != "pending":
            return
        now = utcnow()
        post(s, Posting(id=f"payout_sent:{payout_id}", kind="payout_sent",
                        legs=[Leg(platform("in_transit", row.currency), "D", row.amount),
                              Leg(platform("cash", row.currency), "C", row.amount)],
                        effective_at=now, period=open_period(s, now), caused_by=caused_by,
                        source_event=payout_id, rule_version=PAYOUT_RULE,
                        publisher_id=row.publisher_id))
        row.status, row.updated_at = "sent", now

    run_in_transaction(settings, mark_sent)


def run_payouts(settings: Settings, *, caused_by: str, rail: FileRail | None = None,
                progress: Callable[[int], None] | None = None,
                now: datetime | None = None) -> list[str]:
    """Resume pending payouts, then pay every publisher at or above its threshold.

    ``now`` is when the payouts are effective (default: the current time).
    """
    rail = rail or FileRail.for_settings(settings)
    pending = run_in_transaction(settings, lambda s: list(s.scalars(
        select(Payout.id).where(Payout.status == "pending").order_by(Payout.id))))
    for payout_id in pending:
        _settle(settings, rail, payout_id, caused_by)
    accounts = run_in_transaction(settings, lambda s: list(s.scalars(
        select(Account.id).where(Account.kind == "publisher_payable").order_by(Account.id))))
    paid = []
    for account_id in accounts:
        payout_id = run_in_transaction(settings, lambda s, a=account_id: _open_payout(
            s, a, caused_by=caused_by, now=now or utcnow()))
        if progress is not None:
            progress(1)
        if payout_id is None:
            continue
        crashpoints.reached("payout.after_debit_before_send")
        _settle(settings, rail, payout_id, caused_by)
        paid.append(payout_id)
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
