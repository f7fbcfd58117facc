"""ISO 9564 PIN blocks: the UnionPay reference example, the X9.24-3 format 4 example, psec."""

from __future__ import annotations

import psec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from poskit.crypto.errors import InputError, PinBlockFormatError
from poskit.crypto.pinblock import (
    decipher_pinblock_iso4,
    decode_iso4_pin_field,
    decode_pinblock,
    encipher_pinblock_iso4,
    encode_iso4_pan_field,
    encode_iso4_pin_field,
    encode_pinblock,
)

H = bytes.fromhex
pins = st.text("0123456789", min_size=4, max_size=12)
pans = st.text("0123456789", min_size=13, max_size=19)


def test_format0_reference_example() -> None:
    """PIN 123456 with PAN 6225880112345678 gives 06126CD6EEDCBA98 (UnionPay reference)."""
    block = encode_pinblock("123456", "6225880112345678", fmt=0)
    assert block == H("06126CD6EEDCBA98")
    assert decode_pinblock(block, "6225880112345678", fmt=0) == "123456"


def test_format4_x9_24_3_example() -> None:
    """PIN 1234, PAN 4111111111111111 under AF8C..93FB gives A912..2D15 (X9.24-3 supplement)."""
    fixed = H("2F69ADDE2E9E7ACE")
    assert encode_iso4_pin_field("1234", random=lambda n: fixed) == H("441234AAAAAAAAAA2F69ADDE2E9E7ACE")
    assert encode_iso4_pan_field("4111111111111111") == H("44111111111111111000000000000000")
    key = H("AF8CB133A78F8DC2D1359F18527593FB")
    block = encipher_pinblock_iso4(key, "1234", "4111111111111111", random=lambda n: fixed)
    assert block == H("A912150391AB65A67E52883D81CE2D15")
    second = encipher_pinblock_iso4(
        H("D30BDC73EC9714B000BEC66BDB7B6D09"), "1234", "4111111111111111", random=lambda n: fixed
    )
    assert second == H("52A00503BD34BA1383F6A7EE9FE2547F")
    assert decipher_pinblock_iso4(key, block, "4111111111111111") == "1234"


def test_format4_short_pan_field() -> None:
    """A PAN shorter than 12 digits is left-filled with zeros and M is 0."""
    assert encode_iso4_pan_field("12345") == H("00000000123450000000000000000000")


@settings(max_examples=100, deadline=None)
@given(pin=pins, pan=pans)
def test_format0_matches_psec(pin: str, pan: str) -> None:
    """Format 0 encode/decode agrees with psec."""
    block = encode_pinblock(pin, pan, fmt=0)
    assert block == psec.pinblock.encode_pinblock_iso_0(pin, pan)
    assert decode_pinblock(block, pan, fmt=0) == pin


@settings(max_examples=100, deadline=None)
@given(pin=pins, pan=pans, seed=st.binary(min_size=16, max_size=16))
def test_format3_round_trip_and_psec_decode(pin: str, pan: str, seed: bytes) -> None:
    """Format 3 blocks (random A-F fill) decode here and in psec."""
    block = encode_pinblock(pin, pan, fmt=3, random=lambda n: seed[:n])
    assert decode_pinblock(block, pan, fmt=3) == pin
    assert psec.pinblock.decode_pinblock_iso_3(block, pan) == pin
    assert decode_pinblock(psec.pinblock.encode_pinblock_iso_3(pin, pan), pan, fmt=3) == pin


@settings(max_examples=60, deadline=None)
@given(pin=pins, seed=st.binary(min_size=16, max_size=16))
def test_format1_round_trip(pin: str, seed: bytes) -> None:
    """Format 1 needs no PAN and round-trips."""
    block = encode_pinblock(pin, None, fmt=1, random=lambda n: seed[:n])
    assert block.hex()[0] == "1"
    assert decode_pinblock(block, None, fmt=1) == pin


@settings(max_examples=60, deadline=None)
@given(pin=pins, pan=pans, key=st.binary(min_size=16, max_size=16))
def test_format4_cross_psec(pin: str, pan: str, key: bytes) -> None:
    """Format 4 blocks enciphered here decipher in psec, and the other way round."""
    assert psec.pinblock.decipher_pinblock_iso_4(key, encipher_pinblock_iso4(key, pin, pan), pan) == pin
    assert decipher_pinblock_iso4(key, psec.pinblock.encipher_pinblock_iso_4(key, pin, pan), pan) == pin


@pytest.mark.parametrize(
    ("clear_field", "reason"),
    [
        ("16123456FFFFFFFF", "control field is 1, expected 0"),
        ("03123FFFFFFFFFFF", "PIN length 3 outside 4 to 12"),
        ("0D123456789012FF", "PIN length 13 outside 4 to 12"),
        ("04123AFFFFFFFFFF", "non-decimal digit"),
        ("041234FFFFFFFFFE", "fill is not all F"),
    ],
)
def test_format0_decode_errors(clear_field: str, reason: str) -> None:
    """Malformed format 0 blocks raise PinBlockFormatError (ISO response 99) with the reason."""
    pan = "6225880112345678"
    account = int("0000588011234567", 16)
    block = (int(clear_field, 16) ^ account).to_bytes(8, "big")
    with pytest.raises(PinBlockFormatError, match=reason) as exc:
        decode_pinblock(block, pan, fmt=0)
    assert exc.value.response_code == "99"
    assert "123456" not in str(exc.value)


def test_format3_fill_checked() -> None:
    """Format 3 fill outside A-F is rejected."""
    block = (int("3412340000000000", 16) ^ int("0000588011234567", 16)).to_bytes(8, "big")
    with pytest.raises(PinBlockFormatError, match="A-F"):
        decode_pinblock(block, "6225880112345678", fmt=3)


def test_format4_pin_field_errors() -> None:
    """Format 4 PIN fields with a wrong control, length or fill are rejected."""
    with pytest.raises(PinBlockFormatError, match="control"):
        decode_iso4_pin_field(H("341234AAAAAAAAAA") + bytes(8))
    with pytest.raises(PinBlockFormatError, match="fill"):
        decode_iso4_pin_field(H("441234AAAAAAAAAB") + bytes(8))
    with pytest.raises(PinBlockFormatError, match="16"):
        decode_iso4_pin_field(bytes(8))


def test_bad_pin_input() -> None:
    """A PIN with a letter or a wrong length is an InputError that does not echo it."""
    with pytest.raises(InputError, match=r"^pin: not a digit at position 3$"):
        encode_pinblock("12a4", "6225880112345678", fmt=0)
    with pytest.raises(InputError, match=r"^pin: 13 digits"):
        encode_pinblock("1" * 13, "6225880112345678", fmt=0)


def test_pan_required_for_format0() -> None:
    """Formats 0 and 3 need a PAN."""
    with pytest.raises(InputError, match=r"^pan: required"):
        encode_pinblock("1234", None, fmt=0)
