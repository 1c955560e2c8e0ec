"""Payment intake: money tenants paid settles their receivables and lands in platform cash.

A payment notice is provider-neutral (``PaymentNotice``): the id is the provider's payment
id (Stripe's ``pi_…``, a bank reference), so a provider webhook delivered twice records the
payment once; the same id with a different payload is refused. A payment settles what the
tenant owes in that currency; any excess becomes prepaid credit. Partial payments simply
leave the rest due. A currency the tenant was never billed in is refused: the ledger never
converts a tenant's payment on its own (an operator's FX conversion does that explicitly).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from tracer.errors import ConflictError, NotFoundError, ValidationError
from tracer.models import Tenant
from tracer.usage import instant

from tracer_registry.ledger.concurrency import write_lock
from tracer_registry.ledger.models import Account, Payment
from tracer_registry.ledger.money import MAX_AMOUNT, exponent
from tracer_registry.ledger.periods import open_period
from tracer_registry.ledger.postings import (
    Leg,
    Posting,
    platform,
    post,
    tenant_credit,
    tenant_receivable,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

PAYMENT_RULE = "payment-v1"


@dataclass(frozen=True)
class PaymentNotice:
    id: str
    tenant_id: str
    currency: str
    amount: int  # minor units
    received_at: datetime
    source: str = "manual"  # stripe | bank | manual …

    def digest(self) -> str:
        body = [self.tenant_id, self.currency, self.amount, instant(self.received_at),
                self.source]
        return hashlib.sha256(json.dumps(body).encode()).hexdigest()


def notice_from_json(body: Any) -> PaymentNotice:
    """A notice from a webhook-shaped JSON object (what ``POST /v1/payments`` takes)."""
    if not isinstance(body, dict):
        raise ValidationError("a payment notice is a JSON object", field="body")
    missing = [k for k in ("id", "tenant", "currency", "amount", "received_at")
               if k not in body]
    if missing:
        raise ValidationError(f"payment notice lacks {', '.join(missing)}", field=missing[0])
    try:
        received = datetime.fromisoformat(str(body["received_at"]).replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(f"received_at {body['received_at']!r}: an ISO 8601 instant",
                              field="received_at") from None
    return PaymentNotice(body["id"], body["tenant"], body["currency"], body["amount"],
                         received, str(body.get("source", "webhook")))


def _check(s: Session, notice: PaymentNotice) -> None:
    if type(notice.id) is not str or not 0 < len(notice.id) <= 200:
        raise ValidationError("a payment id is a string of 1 to 200 characters", field="id")
    if type(notice.amount) is not int or not 0 < notice.amount <= MAX_AMOUNT:
        raise ValidationError(f"payment {notice.id}: amount must be a whole number of minor "
                              f"units in 1..{MAX_AMOUNT}, got {notice.amount!r}",
                              field="amount")
    if notice.received_at.tzinfo is None:
        raise ValidationError(f"payment {notice.id}: received_at needs a timezone",
                              field="received_at")
    if not isinstance(notice.currency, str):
        raise ValidationError("currency must be an ISO 4217 code", field="currency")
    exponent(notice.currency)
    if s.get(Tenant, notice.tenant_id) is None:
        raise NotFoundError(f"payment {notice.id}: tenant {notice.tenant_id!r} does not exist")


def receive_payment(s: Session, notice: PaymentNotice, *, caused_by: str) -> Payment:
    """Record a payment in the caller's transaction (idempotent by ``notice.id``)."""
    _check(s, notice)
    write_lock(s)
    existing = s.get(Payment, notice.id)
    if existing is not None:
        if existing.payload_hash != notice.digest():
            raise ConflictError(f"payment {notice.id} was already recorded with a different "
                                "payload", payment=notice.id)
        return existing
    receivable = s.scalar(select(Account).where(
        Account.code == tenant_receivable(notice.tenant_id, notice.currency))
        .with_for_update())
    if receivable is None:
        raise ValidationError(f"payment {notice.id}: tenant {notice.tenant_id!r} was never "
                              f"billed in {notice.currency}", field="currency")
    settled = min(notice.amount, max(receivable.balance, 0))
    credited = notice.amount - settled
    legs = [Leg(platform("cash", notice.currency), "D", notice.amount)]
    if settled:
        legs.append(Leg(receivable.code, "C", settled))
    if credited:
        legs.append(Leg(tenant_credit(notice.tenant_id, notice.currency), "C", credited))
    tx_id = f"payment:{notice.id}"
    post(s, Posting(id=tx_id, kind="payment", legs=legs, effective_at=notice.received_at,
                    period=open_period(s, notice.received_at), caused_by=caused_by,
                    source_event=notice.id, rule_version=PAYMENT_RULE,
                    tenant_id=notice.tenant_id,
                    memo={"source": notice.source, "settled": settled,
                          "credited": credited}))
    row = Payment(id=notice.id, tenant_id=notice.tenant_id, currency=notice.currency,
                  amount=notice.amount, received_at=notice.received_at, source=notice.source,
                  payload_hash=notice.digest(), settled=settled, credited=credited,
                  transaction_id=tx_id)
    s.add(row)
    s.flush()
    return row
