"""The e-signature feature code (特征码) from F15 and F37."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from poskit.terminal.signature.feature_code import FeatureCodeError, feature_code


def test_worked_example_by_hand() -> None:
    """F15 0315, F37 123456789012 gives 0505060D08020206, worked out byte by byte."""
    # data = "0315" + "123456789012" = "03151234" | "56789012"
    #   '0' 0x30 ^ '5' 0x35 = 0x05     '1' 0x31 ^ '9' 0x39 = 0x08
    #   '3' 0x33 ^ '6' 0x36 = 0x05     '2' 0x32 ^ '0' 0x30 = 0x02
    #   '1' 0x31 ^ '7' 0x37 = 0x06     '3' 0x33 ^ '1' 0x31 = 0x02
    #   '5' 0x35 ^ '8' 0x38 = 0x0D     '4' 0x34 ^ '2' 0x32 = 0x06
    assert feature_code("0315", "123456789012") == "0505060D08020206"


def test_bytes_are_zero_padded() -> None:
    """Equal digits XOR to 00 and still take two hex digits (unlike a bare %X)."""
    # "12310000" ^ "00000001": 1^0=01 2^0=02 3^0=03 1^0=01 0^0=00 0^0=00 0^0=00 0^1=01
    assert feature_code("1231", "000000000001") == "0102030100000001"


def test_letters_in_the_rrn() -> None:
    """An alphanumeric RRN gives bytes above 0x0F in uppercase hex."""
    # "0101ABCD" ^ "EF123456": '0'^'E'=0x30^0x45=0x75 '1'^'F'=0x31^0x46=0x77 '0'^'1'=0x01
    # '1'^'2'=0x03 'A'^'3'=0x41^0x33=0x72 'B'^'4'=0x42^0x34=0x76 'C'^'5'=0x43^0x35=0x76
    # 'D'^'6'=0x44^0x36=0x72
    assert feature_code("0101", "ABCDEF123456") == "7577010372767672"


def test_leap_day_is_a_valid_settlement_date() -> None:
    """F15 has no year, so 0229 is accepted."""
    assert len(feature_code("0229", "000000000000")) == 16


@settings(max_examples=100)
@given(
    st.dates().map(lambda d: d.strftime("%m%d")),
    st.text(
        alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", min_size=12, max_size=12
    ),
)
def test_code_xors_the_two_halves(settlement_date: str, rrn: str) -> None:
    """The code is 16 uppercase hex digits and XORed with bytes 8..15 gives bytes 0..7."""
    code = feature_code(settlement_date, rrn)
    assert len(code) == 16 and code == code.upper()
    data = (settlement_date + rrn).encode("ascii")
    assert bytes(b ^ data[8 + i] for i, b in enumerate(bytes.fromhex(code))) == data[:8]


@pytest.mark.parametrize(
    ("settlement_date", "rrn", "field"),
    [
        ("1301", "123456789012", "settlement_date"),
        ("0230", "123456789012", "settlement_date"),
        ("0431", "123456789012", "settlement_date"),
        ("0000", "123456789012", "settlement_date"),
        ("12a1", "123456789012", "settlement_date"),
        ("315", "123456789012", "settlement_date"),
        ("\uff10\uff13\uff11\uff15", "123456789012", "settlement_date"),
        ("0315", "12345678901", "rrn"),
        ("0315", "1234567890123", "rrn"),
        ("0315", "12345 789012", "rrn"),
        ("0315", "12345678901\u00e9", "rrn"),
    ],
)
def test_invalid_inputs_are_refused(settlement_date: str, rrn: str, field: str) -> None:
    """Dates that are not MMDD calendar days and RRNs that are not an12 raise FeatureCodeError."""
    with pytest.raises(FeatureCodeError) as caught:
        feature_code(settlement_date, rrn)
    assert caught.value.field == field
    assert isinstance(caught.value, ValueError)
