"""Hex and digit argument parsing: one-line errors naming the argument, never the value."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from poskit.crypto.errors import InputError
from poskit.crypto.hexinput import parse_digits, parse_hex, parse_key


def test_odd_number_of_digits() -> None:
    """An odd number of hex digits is reported exactly like the CLI prints it."""
    with pytest.raises(InputError) as exc:
        parse_hex("ABC", "--key")
    assert str(exc.value) == "--key: odd number of hex digits"


def test_non_hex_character_position() -> None:
    """A non-hex character is reported with its 1-based position, not the value."""
    with pytest.raises(InputError) as exc:
        parse_hex("0123456789ABCDEG", "--key")
    assert str(exc.value) == "--key: not a hex digit at position 16"
    assert "0123" not in str(exc.value)


def test_separators_ignored_and_length_checked() -> None:
    """Spaces, colons and dashes are ignored; a wrong length names the expected ones."""
    assert parse_hex("01 23:45-67", "--data") == bytes.fromhex("01234567")
    with pytest.raises(InputError, match=r"^--key: 4 bytes, expected 8 or 16$"):
        parse_hex("01234567", "--key", lengths=(16, 8))


def test_parse_key_parity() -> None:
    """parse_key checks DES parity only when asked."""
    assert parse_key("0023456789ABCDEF", "--key") == bytes.fromhex("0023456789ABCDEF")
    with pytest.raises(InputError, match="odd parity"):
        parse_key("0023456789ABCDEF", "--key", parity="check")
    with pytest.raises(InputError, match=r"^--key: 8 bytes"):
        parse_key("0123456789ABCDEF", "--key", algorithm="AES")


def test_parse_digits() -> None:
    """Digits are checked for characters and length."""
    assert parse_digits("1234", "--pin", min_length=4, max_length=12) == "1234"
    with pytest.raises(InputError, match=r"^--pin: not a digit at position 2$"):
        parse_digits("1x34", "--pin")
    with pytest.raises(InputError, match=r"^--pin: 3 digits, expected 4 to 12$"):
        parse_digits("123", "--pin", min_length=4, max_length=12)


@settings(max_examples=100)
@given(st.binary(max_size=40))
def test_hex_round_trip(data: bytes) -> None:
    """Any bytes survive a hex round trip in upper or lower case."""
    assert parse_hex(data.hex(), "x") == data
    assert parse_hex(data.hex().upper(), "x") == data
