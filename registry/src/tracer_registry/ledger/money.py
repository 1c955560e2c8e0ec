"""Money arithmetic: integers only, one split function, cumulative refund rules.

Amounts are integer minor units of a currency (USD cents, JPY yen, KWD fils). Usage prices
below a minor unit are integer micro-units (1 major unit = 1_000_000 micros) and are rounded
to minor units once per rated line. Rates are integer basis points (3000 = 30 %).
"""

from __future__ import annotations

from dataclasses import dataclass

from tracer.errors import LedgerError, ValidationError

MICROS_PER_MAJOR = 1_000_000
BPS = 10_000

# ISO 4217 minor-unit exponents of the currencies the platform settles in.
EXPONENTS: dict[str, int] = {"USD": 2, "EUR": 2, "GBP": 2, "CHF": 2, "CAD": 2, "AUD": 2,
                             "SEK": 2, "JPY": 0, "KRW": 0, "CLP": 0, "KWD": 3, "BHD": 3,
                             "JOD": 3, "TND": 3}

SPLIT_RULE_VERSION = "split-v1"


def exponent(currency: str) -> int:
    try:
        return EXPONENTS[currency]
    except KeyError:
        raise ValidationError(f"currency {currency!r} is not supported (supported: "
                              f"{', '.join(sorted(EXPONENTS))})", field="currency") from None


def micros_to_minor(micros: int, currency: str) -> int:
    """Round an accrued micro-unit amount to minor units, half up, exactly once."""
    if micros < 0:
        raise LedgerError(f"a rated amount cannot be negative ({micros} micros)")
    per_minor = MICROS_PER_MAJOR // 10 ** exponent(currency)
    return (micros + per_minor // 2) // per_minor


def _check_amount(name: str, value: int) -> None:
    if type(value) is not int:  # bool and float are not money
        raise LedgerError(f"{name} must be an integer number of minor units, got {value!r}")
    if value < 0:
        raise LedgerError(f"{name} cannot be negative, got {value}")


def _check_bps(bps: int) -> None:
    if type(bps) is not int or not 0 <= bps <= BPS:
        raise LedgerError(f"a rate must be integer basis points in 0..10000, got {bps!r}")


@dataclass(frozen=True)
class Split:
    """One rated line: ``tax + fee + share == gross`` exactly."""

    gross: int
    tax: int
    fee: int
    share: int
    commission_bps: int
    rule_version: str

    @property
    def net(self) -> int:
        return self.gross - self.tax


def extract_tax(gross: int, tax_bps: int) -> tuple[int, int]:
    """Split a tax-inclusive gross into (net, tax); tax is never commission base."""
    _check_amount("gross", gross)
    if type(tax_bps) is not int or tax_bps < 0:
        raise LedgerError(f"a tax rate must be non-negative basis points, got {tax_bps!r}")
    net = gross * BPS // (BPS + tax_bps)
    return net, gross - net


def _split_v1(net: int, commission_bps: int) -> tuple[int, int]:
    fee = net * commission_bps // BPS
    return fee, net - fee  # the publisher gets the remainder unit


_RULES = {"split-v1": _split_v1}


def split(gross: int, commission_bps: int, *, tax_bps: int = 0,
          rule_version: str = SPLIT_RULE_VERSION) -> Split:
    """THE split: tax out first, then ``fee = floor(net * bps / 10000)``, share = the rest."""
    _check_amount("gross", gross)
    _check_bps(commission_bps)
    rule = _RULES.get(rule_version)
    if rule is None:
        raise LedgerError(f"unknown split rule {rule_version!r} (known: {', '.join(_RULES)})")
    net, tax = extract_tax(gross, tax_bps)
    fee, share = rule(net, commission_bps)
    return Split(gross, tax, fee, share, commission_bps, rule_version)


@dataclass(frozen=True)
class RefundPart:
    """What one refund returns from each side; the parts sum to the refund amount."""

    amount: int
    tax: int
    fee: int
    share: int


def _cumulative(part: int, refunded: int, whole: int) -> int:
    return 0 if whole == 0 else part * refunded // whole


def refund_part(line: Split, refunded_before: int, amount: int) -> RefundPart:
    """The slice of ``line`` a refund of ``amount`` (gross, tax-inclusive) returns.

    Cumulative, so rounding never drifts: tax refunded so far is ``floor(tax * R / gross)``,
    the net refunded so far is the rest of R, and the fee refunded so far is
    ``floor(fee * net_refunded / net)``. A full refund returns exactly tax, fee and share.
    """
    _check_amount("refund", amount)
    _check_amount("refunded so far", refunded_before)
    if amount == 0:
        raise LedgerError("a refund must be at least one minor unit")
    after = refunded_before + amount
    if after > line.gross:
        raise LedgerError(f"refund of {amount} exceeds what is left to refund "
                          f"({line.gross - refunded_before} of {line.gross})")

    def taken(refunded: int) -> tuple[int, int]:
        tax = _cumulative(line.tax, refunded, line.gross)
        fee = _cumulative(line.fee, refunded - tax, line.net)
        return tax, fee

    tax_before, fee_before = taken(refunded_before)
    tax_after, fee_after = taken(after)
    tax, fee = tax_after - tax_before, fee_after - fee_before
    return RefundPart(amount, tax, fee, amount - tax - fee)
