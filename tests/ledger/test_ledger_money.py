"""The split and the cumulative refund rules, over every currency exponent and 1..10^13."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tracer_registry.ledger.errors import LedgerError
from tracer_registry.ledger.money import (
    SPLIT_RULE_VERSION,
    exponent,
    micros_to_minor,
    refund_part,
    split,
)

AMOUNTS = st.integers(min_value=1, max_value=10**13)
RATES = st.integers(min_value=0, max_value=10_000)
TAXES = st.sampled_from([0, 0, 500, 1_900, 2_000, 2_500])
CURRENCIES = st.sampled_from(["JPY", "USD", "KWD"])  # exponents 0, 2, 3


@given(gross=AMOUNTS, bps=RATES, tax_bps=TAXES)
def test_split_parts_sum_to_gross_and_publisher_gets_the_remainder(gross, bps, tax_bps):
    cut = split(gross, bps, tax_bps=tax_bps)
    assert cut.tax + cut.fee + cut.share == gross
    assert cut.fee == cut.net * bps // 10_000
    assert cut.share == cut.net - cut.fee
    assert cut.rule_version == SPLIT_RULE_VERSION
    assert cut.tax >= 0 and 0 <= cut.fee <= cut.net


def test_seventy_thirty_of_one_cent_gives_the_publisher_the_cent():
    assert (split(1, 3000).fee, split(1, 3000).share) == (0, 1)
    assert (split(10, 3000).fee, split(10, 3000).share) == (3, 7)
    assert (split(333, 3000).fee, split(333, 3000).share) == (99, 234)
    assert (split(10**13, 3000).fee, split(10**13, 3000).share) == (3 * 10**12, 7 * 10**12)


def test_tax_is_extracted_before_the_split():
    cut = split(12_000, 3000, tax_bps=2_000)  # 120.00 incl. 20 % VAT
    assert (cut.tax, cut.net, cut.fee, cut.share) == (2_000, 10_000, 3_000, 7_000)


@given(micros=st.integers(min_value=0, max_value=10**19), currency=CURRENCIES)
def test_micros_round_half_up_once_per_line(micros, currency):
    per_minor = 10 ** (6 - exponent(currency))
    minor = micros_to_minor(micros, currency)
    assert abs(minor * per_minor - micros) <= per_minor // 2
    assert (minor * per_minor - micros) != -(per_minor // 2) or per_minor == 1


@settings(max_examples=400)
@given(gross=AMOUNTS | st.integers(min_value=1, max_value=50), bps=RATES, tax_bps=TAXES,
       currency=CURRENCIES,
       cuts=st.lists(st.integers(min_value=1, max_value=10**4), min_size=1, max_size=8))
def test_partial_refunds_follow_ledger_md_rule_10_as_written(gross, bps, tax_bps, currency,
                                                             cuts):
    """After every refund: fee refunded so far == floor(fee * refunded so far / gross)."""
    exponent(currency)  # every exponent: amounts are minor units whatever the currency
    line = split(gross, bps, tax_bps=tax_bps)
    weights = sum(cuts)
    refunded = tax = fee = share = 0
    for i, weight in enumerate(cuts):
        amount = gross - refunded if i == len(cuts) - 1 else gross * weight // weights
        amount = min(amount, gross - refunded)
        if amount == 0:
            continue
        part = refund_part(line, refunded, amount)
        assert part.tax + part.fee + part.share == amount
        assert min(part.tax, part.fee) >= 0 and part.share >= -1
        refunded += amount
        tax, fee, share = tax + part.tax, fee + part.fee, share + part.share
        assert tax == line.tax * refunded // line.gross  # the written formula, for tax
        if line.share:
            assert fee == line.fee * refunded // line.gross  # the written formula, for fee
        else:  # 100 % to the platform: everything but tax is fee
            assert fee == refunded - tax
    assert (refunded, tax, fee, share) == (gross, line.tax, line.fee, line.share)


def test_rule_10_with_tax_differs_from_the_net_based_formula_and_follows_ledger_md():
    line = split(100, 3_000, tax_bps=2_000)  # $1.00 incl. 20 % VAT
    assert (line.tax, line.fee, line.share) == (17, 24, 59)
    net_based = 24 * (4 - 17 * 4 // 100) // 83  # floor(fee * net refunded / net)
    assert net_based == 1
    assert refund_part(line, 0, 4).fee == 24 * 4 // 100 == 0  # LEDGER.md: fee * R / gross


def test_a_one_unit_slice_can_give_the_publisher_a_unit_back():
    line = split(3, 5_000, tax_bps=5_000)
    assert (line.tax, line.fee, line.share) == (1, 1, 1)
    parts = [refund_part(line, r, 1) for r in range(3)]
    assert [(p.tax, p.fee, p.share) for p in parts] == [(0, 0, 1), (0, 0, 1), (1, 1, -1)]


def test_amounts_beyond_the_ledgers_limit_are_refused_in_one_line():
    with pytest.raises(LedgerError, match="beyond the ledger's limit") as caught:
        split(10**19, 3000)
    assert "\n" not in str(caught.value)


@given(gross=AMOUNTS, bps=RATES)
def test_full_refund_returns_exactly_the_fee(gross, bps):
    line = split(gross, bps)
    part = refund_part(line, 0, gross)
    assert (part.fee, part.share) == (line.fee, line.share)


@given(gross=AMOUNTS, bps=RATES, extra=st.integers(min_value=1, max_value=10**6))
def test_refund_beyond_what_was_charged_is_refused(gross, bps, extra):
    with pytest.raises(LedgerError, match="exceeds what is left"):
        refund_part(split(gross, bps), 0, gross + extra)


def test_money_refuses_floats_and_unknown_rules():
    with pytest.raises(LedgerError, match="integer"):
        split(10.5, 3000)
    with pytest.raises(LedgerError, match="basis points"):
        split(100, 10_001)
    with pytest.raises(LedgerError, match="unknown split rule"):
        split(100, 3000, rule_version="split-v0")
