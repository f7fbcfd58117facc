"""ISO 9564-1 PIN blocks: formats 0, 1 and 3 (8 bytes, for TDES) and 4 (16 bytes, for AES).

Clear blocks are built and parsed here; encryption under a PIN key happens in the HSM, which is
the only place a clear PIN should travel to. Format summary (hex nibbles):

* Format 0 (ANSI X9.8): PIN field ``0 N P..P F..F`` XOR account field ``0000`` + the 12 rightmost
  PAN digits excluding the check digit. ``06126CD6EEDCBA98`` is PIN 123456 with PAN
  6225880112345678, the UnionPay reference example.
* Format 1: ``1 N P..P`` + transaction-unique fill (random hex here); no PAN.
* Format 3: as format 0, but the fill is random nibbles A-F.
* Format 4 (ISO 9564-1:2017): a 16-byte PIN field ``4 N P..P A..A`` + 8 random bytes, and a
  16-byte PAN field ``M`` + PAN (M = PAN length - 12, at least 12 digits, left zero-filled)
  + zeros. Encipherment: A = E(PIN field); B = A XOR PAN field; block = E(B).

Decoding validates the control nibble, the PIN length (4 to 12), the PIN digits and the fill,
raising :class:`~poskit.crypto.errors.PinBlockFormatError` with the reason (never the PIN).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Literal

from poskit.crypto._engine import BlockCipher
from poskit.crypto.errors import InputError, PinBlockFormatError
from poskit.crypto.hexinput import parse_digits

__all__ = [
    "PinBlockFormat",
    "decipher_pinblock_iso4",
    "decode_iso4_pin_field",
    "decode_pinblock",
    "encipher_pinblock_iso4",
    "encode_iso4_pan_field",
    "encode_iso4_pin_field",
    "encode_pinblock",
    "pan_field",
]

PinBlockFormat = Literal[0, 1, 3, 4]
RandomSource = Callable[[int], bytes]

_HEX_UPPER = "0123456789ABCDEF"


def _check_pin(pin: str) -> str:
    return parse_digits(pin, "pin", min_length=4, max_length=12)


def _check_pan(pan: str) -> str:
    return parse_digits(pan, "pan", min_length=2, max_length=19)


def pan_field(pan: str) -> bytes:
    """The 8-byte account field of formats 0 and 3: ``0000`` + 12 PAN digits before the check."""
    digits = _check_pan(pan)[:-1][-12:].rjust(12, "0")
    return bytes.fromhex("0000" + digits)


def _random_nibbles(random: RandomSource, count: int, alphabet: str) -> str:
    # One random byte per nibble, reduced to the alphabet; bias is irrelevant for PIN fill.
    return "".join(alphabet[b % len(alphabet)] for b in random(count))


def _pin_field(fmt: int, pin: str, fill: str) -> bytes:
    return bytes.fromhex(f"{fmt}{len(pin):X}{pin}{fill}")


def encode_pinblock(
    pin: str,
    pan: str | None,
    *,
    fmt: Literal[0, 1, 3],
    random: RandomSource = os.urandom,
) -> bytes:
    """The clear 8-byte PIN block of ``pin`` in format 0, 1 or 3 (``pan`` unused for format 1)."""
    pin = _check_pin(pin)
    fill_len = 14 - len(pin)
    if fmt == 0:
        field = _pin_field(0, pin, "F" * fill_len)
    elif fmt == 1:
        return _pin_field(1, pin, _random_nibbles(random, fill_len, _HEX_UPPER))
    elif fmt == 3:
        field = _pin_field(3, pin, _random_nibbles(random, fill_len, "ABCDEF"))
    else:
        raise InputError("fmt", f"format {fmt} is not an 8-byte clear PIN block (use 0, 1 or 3)")
    if pan is None:
        raise InputError("pan", f"required for PIN block format {fmt}")
    account = pan_field(pan)
    return (int.from_bytes(field, "big") ^ int.from_bytes(account, "big")).to_bytes(8, "big")


def decode_pinblock(block: bytes, pan: str | None, *, fmt: Literal[0, 1, 3]) -> str:
    """The PIN in a clear format 0, 1 or 3 block; :class:`PinBlockFormatError` if malformed."""
    if fmt not in (0, 1, 3):
        raise InputError("fmt", f"format {fmt} is not an 8-byte clear PIN block (use 0, 1 or 3)")
    if len(block) != 8:
        raise PinBlockFormatError(fmt, f"{len(block)} bytes, expected 8")
    if fmt == 1:
        field = block
    else:
        if pan is None:
            raise InputError("pan", f"required for PIN block format {fmt}")
        account = pan_field(pan)
        field = (int.from_bytes(block, "big") ^ int.from_bytes(account, "big")).to_bytes(8, "big")
    text = field.hex().upper()
    pin = _parse_pin_nibbles(fmt, text)
    rest = text[2 + len(pin) :]
    if fmt == 0 and rest != "F" * len(rest):
        raise PinBlockFormatError(0, "fill is not all F")
    if fmt == 3 and any(ch not in "ABCDEF" for ch in rest):
        raise PinBlockFormatError(3, "fill is not in A-F")
    return pin


def _parse_pin_nibbles(fmt: int, text: str) -> str:
    if text[0] != str(fmt):
        raise PinBlockFormatError(fmt, f"control field is {text[0]}, expected {fmt}")
    length = int(text[1], 16)
    if not 4 <= length <= 12:
        raise PinBlockFormatError(fmt, f"PIN length {length} outside 4 to 12")
    pin = text[2 : 2 + length]
    if not pin.isdigit():
        raise PinBlockFormatError(fmt, "PIN field holds a non-decimal digit")
    return pin


def encode_iso4_pin_field(pin: str, *, random: RandomSource = os.urandom) -> bytes:
    """The 16-byte plaintext PIN field of format 4 (``4 N PIN A-fill`` + 8 random bytes)."""
    pin = _check_pin(pin)
    head = bytes.fromhex(f"4{len(pin):X}{pin}" + "A" * (14 - len(pin)))
    tail = random(8)
    if len(tail) != 8:
        raise InputError("random", f"returned {len(tail)} bytes, expected 8")
    return head + tail


def encode_iso4_pan_field(pan: str) -> bytes:
    """The 16-byte plaintext PAN field of format 4."""
    pan = _check_pan(pan)
    m = max(len(pan) - 12, 0)
    digits = f"{m:X}" + pan.rjust(12, "0")
    return bytes.fromhex(digits.ljust(32, "0"))


def decode_iso4_pin_field(field: bytes) -> str:
    """The PIN in a deciphered format 4 PIN field; :class:`PinBlockFormatError` if malformed."""
    if len(field) != 16:
        raise PinBlockFormatError(4, f"{len(field)} bytes, expected 16")
    text = field[:8].hex().upper()
    pin = _parse_pin_nibbles(4, text)
    rest = text[2 + len(pin) :]
    if rest != "A" * len(rest):
        raise PinBlockFormatError(4, "fill is not all A")
    return pin


def encipher_pinblock_iso4(key: bytes, pin: str, pan: str, *, random: RandomSource = os.urandom) -> bytes:
    """The enciphered 16-byte format 4 PIN block under AES ``key``."""
    cipher = BlockCipher(key, "AES")
    return _encipher_iso4(cipher, encode_iso4_pin_field(pin, random=random), pan)


def decipher_pinblock_iso4(key: bytes, block: bytes, pan: str) -> str:
    """The PIN in an enciphered format 4 PIN block under AES ``key``."""
    return _decipher_iso4(BlockCipher(key, "AES"), block, pan)


def _encipher_iso4(cipher: BlockCipher, pin_field_: bytes, pan: str) -> bytes:
    account = int.from_bytes(encode_iso4_pan_field(pan), "big")
    a = int.from_bytes(cipher.encrypt(pin_field_), "big")
    return cipher.encrypt((a ^ account).to_bytes(16, "big"))


def _decipher_iso4(cipher: BlockCipher, block: bytes, pan: str) -> str:
    if len(block) != 16:
        raise PinBlockFormatError(4, f"{len(block)} bytes, expected 16")
    account = int.from_bytes(encode_iso4_pan_field(pan), "big")
    b = int.from_bytes(cipher.decrypt(block), "big")
    return decode_iso4_pin_field(cipher.decrypt((b ^ account).to_bytes(16, "big")))
