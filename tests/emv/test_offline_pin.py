"""Offline PIN blocks: plaintext format and RSA encipherment for VERIFY."""

from __future__ import annotations

import pytest

from poskit.cards.icc.keys import icc_key
from poskit.emv.offline_pin import (
    OfflinePinError,
    decipher_pin,
    encipher_pin,
    parse_plaintext_pin_block,
    plaintext_pin_block,
)


def test_plaintext_block() -> None:
    """PIN 1234 becomes 24 1234 FF..FF (control 2, length 4)."""
    assert plaintext_pin_block("1234").hex().upper() == "241234FFFFFFFFFF"
    assert plaintext_pin_block("123456789012").hex().upper() == "2C123456789012FF"
    assert parse_plaintext_pin_block(bytes.fromhex("26123456FFFFFFFF")) == "123456"


@pytest.mark.parametrize(
    "block", ["141234FFFFFFFFFF", "231234FFFFFFFFFF", "24123AFFFFFFFFFF", "2412340FFFFFFFFF", "241234FF"]
)
def test_malformed_blocks(block: str) -> None:
    """Wrong control field, length, digits or padding are rejected."""
    with pytest.raises(OfflinePinError):
        parse_plaintext_pin_block(bytes.fromhex(block))


def test_bad_pins() -> None:
    """PINs must be 4-12 digits; the error message does not contain the PIN."""
    with pytest.raises(OfflinePinError) as info:
        plaintext_pin_block("123")
    assert "123" not in str(info.value).replace("4 to 12", "")


def test_encipher_and_decipher() -> None:
    """The enciphered PIN deciphers only with the same challenge."""
    challenge = bytes(range(8))
    data = encipher_pin("4321", challenge, icc_key().public, lambda n: b"\x5a" * n)
    assert len(data) == icc_key().public.length
    assert decipher_pin(data, icc_key(), challenge) == "4321"
    with pytest.raises(OfflinePinError, match="unpredictable number"):
        decipher_pin(data, icc_key(), bytes(8))
    with pytest.raises(OfflinePinError):
        encipher_pin("4321", b"\x00", icc_key().public, lambda n: bytes(n))
