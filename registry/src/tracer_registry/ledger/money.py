"""Money arithmetic: integers only, one split function, cumulative refund rules.

Amounts are integer minor units of a currency (USD cents, JPY yen, KWD fils). Usage prices
below a minor unit are integer micro-units (1 major unit = 1_000_000 micros) and are rounded
to minor units once per rated line. Rates are integer basis points (3000 = 30 %).
Amounts are bounded by ``MAX_AMOUNT``.
"""

from __future__ import annotations

from dataclasses import dataclass

from tracer.errors import ValidationError

from tracer_registry.ledger.errors import LedgerError

MICROS_PER_MAJOR = 1_000_000
BPS = 10_000

# ISO 4217 minor-unit exponents of the currencies the platform settles in.
EXPONENTS: dict[str, int] = {"USD": 2, "EUR": 2, "GBP": 2, "CHF": 2, "CAD": 2, "AUD": 2,
                             "SEK": 2, "JPY": 0, "KRW": 0, "CLP": 0, "KWD": 3, "BHD": 3,
                             "JOD": 3, "TND": 3}

SPLIT_RULE_VERSION = "split-v1"
# The largest amount the ledger keeps: 10^15 minor units, far below a BIGINT (9.2 x 10^18),
# so a sum of many lines, a product with a rate or a conversion cannot overflow a column.
MAX_AMOUNT = 10**15


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
    if value > MAX_AMOUNT:
        raise LedgerError(f"{name} of {value} is beyond the ledger's limit of {MAX_AMOUNT} "
                          "minor units")


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
    """What one refund returns from each side; the parts sum to the refund amount.

    ``share`` may be -1 on a rare partial refund (see ``refund_part``): then that refund
    gives the publisher one unit back instead of taking one.
    """

    amount: int
    tax: int
    fee: int
    share: int


def _cumulative(part: int, refunded: int, whole: int) -> int:
    return 0 if whole == 0 else part * refunded // whole


def refunded_so_far(line: Split, refunded: int) -> tuple[int, int]:
    """(tax, fee) returned once ``refunded`` of the line's gross has been refunded.

    LEDGER.md rule 10 as written: ``fee_refunded_so_far = floor(fee * refunded_so_far /
    gross)``, and the same for tax: ``floor(tax * refunded_so_far / gross)``. A line with no
    publisher share (first-party, the platform keeps 100 %) returns as fee all that is not
    tax, so no refund ever moves a share that was never paid.
    """
    tax = _cumulative(line.tax, refunded, line.gross)
    if line.share == 0:
        return tax, refunded - tax
    return tax, _cumulative(line.fee, refunded, line.gross)


def refund_part(line: Split, refunded_before: int, amount: int) -> RefundPart:
    """The slice of ``line`` a refund of ``amount`` (gross, tax-inclusive) returns.

    Cumulative, so rounding never drifts: each refund returns the difference of
    ``refunded_so_far`` after and before it, and the publisher's share is the rest of the
    amount. A full refund returns exactly tax, fee and share. Because tax and fee are
    floored separately, both can step up on the same unit, so a one-unit slice can return
    tax and fee of one unit each: the share part is then -1 (the publisher gets a unit
    back), and the cumulative share stays exact.
    """
    _check_amount("refund", amount)
    _check_amount("refunded so far", refunded_before)
    if amount == 0:
        raise LedgerError("a refund must be at least one minor unit")
    after = refunded_before + amount
    if after > line.gross:
        raise LedgerError(f"refund of {amount} exceeds what is left to refund "
                          f"({line.gross - refunded_before} of {line.gross})")
    tax_before, fee_before = refunded_so_far(line, refunded_before)
    tax_after, fee_after = refunded_so_far(line, after)
    tax, fee = tax_after - tax_before, fee_after - fee_before
    return RefundPart(amount, tax, fee, amount - tax - fee)
