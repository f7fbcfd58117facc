"""Issuer PIN verification: IBM 3624 natural PIN + offset, and Visa PVV.

IBM 3624
    The validation data (16 hex digits) is encrypted under the PIN verification key (PVK);
    each hex digit of the result is mapped through the decimalization table (default
    ``0123456789012345``) and the first N digits form the *natural PIN*. The *offset* stored by
    the issuer is the digit-wise (PIN - natural PIN) mod 10, N = PIN length.

    Validation data: there is no single standard. poskit's default is the 12 rightmost PAN
    digits before the check digit (the same digits as the format 0 account field), padded on
    the right with ``F`` to 16 hex digits. Pass ``validation_data`` to use your issuer's rule.

Visa PVV
    The transformed security parameter (TSP) is the 11 rightmost PAN digits excluding the check
    digit, the 1-digit PVK index (PVKI) and the first 4 PIN digits. It is TDES-encrypted under
    the PVK; the PVV is the first 4 decimal digits of the result's hex, topped up (if fewer
    than 4) from its A-F digits minus 10.
"""

from __future__ import annotations

import hmac

from poskit.crypto._engine import BlockCipher
from poskit.crypto.errors import InputError
from poskit.crypto.hexinput import parse_digits, parse_hex

__all__ = [
    "DEFAULT_DECIMALIZATION",
    "decimalize_pvv",
    "generate_ibm3624_offset",
    "generate_pvv",
    "ibm3624_natural_pin",
    "ibm3624_validation_data",
    "pvv_tsp",
    "verify_ibm3624_offset",
    "verify_pvv",
]

DEFAULT_DECIMALIZATION = "0123456789012345"


def _check_table(decimalization: str) -> str:
    parse_digits(decimalization, "decimalization", min_length=16, max_length=16)
    return decimalization


def ibm3624_validation_data(pan: str) -> str:
    """poskit's default IBM 3624 validation data: 12 PAN digits before the check digit + FFFF."""
    parse_digits(pan, "pan", min_length=13, max_length=19)
    return pan[-13:-1] + "FFFF"


def _cipher(pvk: bytes | BlockCipher) -> BlockCipher:
    return pvk if isinstance(pvk, BlockCipher) else BlockCipher(pvk, "TDES", "pvk")


def ibm3624_natural_pin(
    pvk: bytes | BlockCipher,
    validation_data: str,
    pin_length: int,
    *,
    decimalization: str = DEFAULT_DECIMALIZATION,
) -> str:
    """The IBM 3624 natural (intermediate) PIN of ``pin_length`` digits."""
    if not 4 <= pin_length <= 12:
        raise InputError("pin_length", f"{pin_length}, expected 4 to 12")
    table = _check_table(decimalization)
    block = parse_hex(validation_data.ljust(16, "F"), "validation_data", lengths=(8,))
    hexed = _cipher(pvk).encrypt(block).hex().upper()
    return "".join(table[int(ch, 16)] for ch in hexed[:pin_length])


def generate_ibm3624_offset(
    pvk: bytes | BlockCipher,
    pin: str,
    *,
    pan: str | None = None,
    validation_data: str | None = None,
    decimalization: str = DEFAULT_DECIMALIZATION,
) -> str:
    """The IBM 3624 offset that turns the natural PIN into ``pin`` (as long as ``pin``)."""
    parse_digits(pin, "pin", min_length=4, max_length=12)
    natural = ibm3624_natural_pin(
        pvk, _validation(pan, validation_data), len(pin), decimalization=decimalization
    )
    return "".join(str((int(p) - int(n)) % 10) for p, n in zip(pin, natural, strict=True))


def verify_ibm3624_offset(
    pvk: bytes | BlockCipher,
    pin: str,
    offset: str,
    *,
    pan: str | None = None,
    validation_data: str | None = None,
    decimalization: str = DEFAULT_DECIMALIZATION,
) -> bool:
    """True if ``pin`` matches the natural PIN plus ``offset`` (constant-time compare)."""
    parse_digits(offset, "offset", min_length=4, max_length=12)
    if len(pin) != len(offset) or not pin.isdigit():
        return False
    expected = generate_ibm3624_offset(
        pvk, pin, pan=pan, validation_data=validation_data, decimalization=decimalization
    )
    return hmac.compare_digest(expected.encode(), offset.encode())


def _validation(pan: str | None, validation_data: str | None) -> str:
    if validation_data is not None:
        return validation_data
    if pan is None:
        raise InputError("pan", "required when no validation_data is given")
    return ibm3624_validation_data(pan)


def pvv_tsp(pan: str, pvki: str, pin: str) -> str:
    """The Visa PVV transformed security parameter: 11 PAN digits + PVKI + 4 PIN digits."""
    parse_digits(pan, "pan", min_length=12, max_length=19)
    parse_digits(pvki, "pvki", min_length=1, max_length=1)
    parse_digits(pin, "pin", min_length=4, max_length=12)
    return pan[-12:-1] + pvki + pin[:4]


def decimalize_pvv(hexed: str, count: int = 4) -> str:
    """Visa decimalization: decimal digits left to right, then A-F minus 10, first ``count``."""
    digits = [ch for ch in hexed if ch.isdigit()]
    if len(digits) < count:
        digits += [str(int(ch, 16) - 10) for ch in hexed if not ch.isdigit()]
    return "".join(digits[:count])


def generate_pvv(pvk: bytes | BlockCipher, pin: str, *, pan: str, pvki: str) -> str:
    """The 4-digit Visa PIN verification value of ``pin``."""
    tsp = bytes.fromhex(pvv_tsp(pan, pvki, pin))
    return decimalize_pvv(_cipher(pvk).encrypt(tsp).hex().upper())


def verify_pvv(pvk: bytes | BlockCipher, pin: str, pvv: str, *, pan: str, pvki: str) -> bool:
    """True if ``pvv`` is the PVV of ``pin`` (constant-time compare)."""
    parse_digits(pvv, "pvv", min_length=4, max_length=4)
    if not pin.isdigit() or not 4 <= len(pin) <= 12:
        return False
    return hmac.compare_digest(generate_pvv(pvk, pin, pan=pan, pvki=pvki).encode(), pvv.encode())
