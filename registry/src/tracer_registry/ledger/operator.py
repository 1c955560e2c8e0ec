"""Operator actions on the books: credits, chargeback reversals, adjustments, FX, bank
returns, tax rates and payout thresholds, each audited with the operator's identity.

One table of actions serves both ``tracer payouts admin ACTION key=value …`` and
``POST /v1/admin/ledger/{action}`` (admin keys only). Parameters are checked against the
action's list before anything is written; the action and its audit row commit together, so
a refused request changes nothing and every change names who made it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from tracer.db import utcnow
from tracer.errors import ValidationError

from tracer_registry.ledger import adjustments, payouts, plans
from tracer_registry.ledger.models import OperatorAudit

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.orm import Session

INTEGERS = {"amount", "rate_micros", "tax_bps", "minimum"}


def _credit(s, p, who):
    return adjustments.grant_credit(s, p["id"], p["tenant"], p["currency"], p["amount"],
                                    caused_by=who, reason=p["reason"])


def _apply_credit(s, p, who):
    return adjustments.apply_credit(s, p["id"], p["tenant"], p["currency"], p["amount"],
                                    caused_by=who)


def _adjust(s, p, who):
    return adjustments.adjust_publisher(s, p["id"], p["publisher"], p["currency"],
                                        p["amount"], caused_by=who, reason=p["reason"])


def _reverse(s, p, who):
    return adjustments.reverse_chargeback(s, p["id"], p["chargeback"], caused_by=who).id


def _fx(s, p, who):
    return adjustments.convert(s, p["id"], debit=p["debit"], credit=p["credit"],
                               amount=p["amount"], rate_micros=p["rate_micros"],
                               source=p["source"], caused_by=who)


def _bank_return(s, p, who):
    return payouts.bank_return(s, p["id"], reference=p["reference"], currency=p["currency"],
                               amount=p["amount"], caused_by=who)


def _tax_rate(s, p, who):
    plans.set_tax_rate(s, p["tenant"], p["tax_bps"])
    return f"tax rate of {p['tenant']}: {p['tax_bps']} bps"


def _threshold(s, p, who):
    plans.set_payout_threshold(s, p["publisher"], p["currency"], p["minimum"])
    return f"payout threshold of {p['publisher']} in {p['currency']}: {p['minimum']}"


ACTIONS: dict[str, tuple[Callable[[Session, dict, str], Any], tuple[str, ...]]] = {
    "credit": (_credit, ("id", "tenant", "currency", "amount", "reason")),
    "apply-credit": (_apply_credit, ("id", "tenant", "currency", "amount")),
    "adjust": (_adjust, ("id", "publisher", "currency", "amount", "reason")),
    "reverse-chargeback": (_reverse, ("id", "chargeback")),
    "fx": (_fx, ("id", "debit", "credit", "amount", "rate_micros", "source")),
    "bank-return": (_bank_return, ("id", "reference", "currency", "amount")),
    "tax-rate": (_tax_rate, ("tenant", "tax_bps")),
    "threshold": (_threshold, ("publisher", "currency", "minimum")),
}


def _checked(action: str, params: dict[str, Any]) -> dict[str, Any]:
    if action not in ACTIONS:
        raise ValidationError(f"unknown ledger action {action!r} (actions: "
                              f"{', '.join(ACTIONS)})", field="action")
    wanted = ACTIONS[action][1]
    missing = [k for k in wanted if k not in params]
    extra = sorted(set(params) - set(wanted))
    if missing or extra:
        raise ValidationError(f"{action} takes {', '.join(wanted)}"
                              + (f"; missing {', '.join(missing)}" if missing else "")
                              + (f"; unknown {', '.join(extra)}" if extra else ""),
                              field=(missing or extra)[0])
    out = {}
    for key, value in params.items():
        if key in INTEGERS:
            if isinstance(value, str) and value.lstrip("-").isdigit():
                value = int(value)
            if type(value) is not int:
                raise ValidationError(f"{action}: {key} must be a whole number, got {value!r}",
                                      field=key)
        elif type(value) is not str or not value:
            raise ValidationError(f"{action}: {key} must be a non-empty string", field=key)
        out[key] = value
    return out


def perform(s: Session, action: str, params: dict[str, Any], *, operator: str) -> str:
    """Run an operator action in the caller's transaction, audited; returns its result."""
    if not operator:
        raise ValidationError("an operator action needs the operator's identity",
                              field="operator")
    checked = _checked(action, params)
    result = str(ACTIONS[action][0](s, checked, f"operator:{operator}"))
    s.add(OperatorAudit(at=utcnow(), operator=operator, action=action,
                        target=str(checked.get("id") or checked.get("tenant")
                                   or checked.get("publisher")),
                        detail={"params": checked, "result": result}))
    s.flush()
    return result


def audit_log(s: Session, limit: int = 200) -> list[dict[str, Any]]:
    return [{"at": r.at.isoformat(), "operator": r.operator, "action": r.action,
             "target": r.target, "detail": r.detail}
            for r in s.scalars(select(OperatorAudit).order_by(OperatorAudit.id.desc())
                               .limit(limit))]
