"""The BIN table's issuer codes (field 44.1)."""

from __future__ import annotations

from poskit.cards.bins import lookup_bin


def test_issuer_code_is_the_institution_code_when_the_range_has_one() -> None:
    """An ICBC range answers ICBC's institution code, not the card's digits."""
    assert lookup_bin("6222021001123456789").issuer_code("6222021001123456789") == "01020000"


def test_issuer_code_falls_back_to_the_six_digit_iin() -> None:
    """A range without an institution code (a scheme's generic range, an unknown card) gives the IIN."""
    assert lookup_bin("4111111111111111").issuer_code("4111111111111111") == "411111"
    assert lookup_bin("9999990000000000").issuer_code("9999990000000000") == "999999"
