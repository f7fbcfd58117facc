"""Amounts: integer minor units, parsing, formatting, allocation."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from poskit.money import Amount, AmountError, CurrencyError, currency, parse_amount


def test_currency_lookup_by_alpha_and_numeric() -> None:
    """CNY, 156 and "156" all name the yuan with two decimals; NGN is 566; JPY has none."""
    assert currency("CNY") == currency(156) == currency("156")
    assert currency("CNY").numeric == "156" and currency("CNY").exponent == 2
    assert currency("ngn").numeric == "566"
    assert currency("JPY").exponent == 0


def test_unknown_currency_is_a_clear_error() -> None:
    """An unknown code raises CurrencyError naming it."""
    with pytest.raises(CurrencyError, match="XYZ"):
        currency("XYZ")


@pytest.mark.parametrize(("text", "minor"), [("12.5", 1250), ("0.01", 1), ("1000", 100000), (" 7.00 ", 700)])
def test_parse_major_units(text: str, minor: int) -> None:
    """Operator input in major units becomes exact minor units."""
    assert parse_amount(text) == minor


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("1.234", "decimal places"),
        ("-5", "expected digits"),
        ("abc", "expected digits"),
        ("", "expected digits"),
    ],
)
def test_parse_rejects_bad_input(text: str, reason: str) -> None:
    """Bad amounts raise AmountError with the reason."""
    with pytest.raises(AmountError, match=reason):
        parse_amount(text)


def test_field4_round_trip_and_formatting() -> None:
    """Field 4 is 12 digits of minor units; display uses Babel per locale."""
    amount = Amount.parse("1234.5", "CNY")
    assert amount.to_field4() == "000000123450"
    assert Amount.from_field4("000000123450", "156") == amount
    assert amount.format("zh_CN") == "¥1,234.50"
    assert amount.grouped() == "1,234.50"
    assert Amount.of(5, "JPY").plain() == "5"


def test_mixed_currency_arithmetic_is_refused() -> None:
    """Adding CNY to NGN raises instead of silently mixing."""
    with pytest.raises(CurrencyError):
        _ = Amount.of(1, "CNY") + Amount.of(1, "NGN")


def test_percent_rounds_half_up_to_minor_units() -> None:
    """0.60% of 1,234.50 is 7.407 -> 7.41."""
    assert Amount.parse("1234.50", "CNY").percent(Decimal("0.60")).minor == 741


@given(
    st.integers(min_value=0, max_value=10**12),
    st.lists(st.integers(0, 100), min_size=1, max_size=8).filter(lambda w: sum(w) > 0),
)
def test_allocation_sums_to_the_whole(minor: int, weights: list[int]) -> None:
    """Largest-remainder allocation never creates or loses a minor unit."""
    parts = Amount.of(minor, "CNY").allocate(weights)
    assert sum(p.minor for p in parts) == minor
    assert all(p.minor >= 0 for p in parts)
