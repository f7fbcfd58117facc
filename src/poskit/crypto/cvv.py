"""Card verification values: CVV/CVC, CVV2, iCVV and Visa dCVV.

The Visa/Mastercard method: the digits ``PAN || expiry (YYMM) || service code`` are
right-padded with ``0`` to 32 digits and split into blocks A and B. With the double-length
card verification key K1K2: R = E_K1(A); R = E_K1(R XOR B); R = E_K1(D_K2(R)). The value is the
first digits of R's hex taken left to right as decimals, topped up from A-F minus 10.

* CVV (CVC1) uses the magnetic-stripe service code; CVV2 uses ``000``; iCVV (chip CVC) ``999``.
* dCVV (Visa contactless magstripe): the 4-digit ATC from the track replaces the first four
  PAN digits, the key is the card's unique derivation key (EMV option A of the issuer's
  MK-dCVV/MK-AC with PAN sequence 00), and the service code is that of the track.
"""

from __future__ import annotations

import hmac

from poskit.crypto._engine import BlockCipher
from poskit.crypto.errors import InputError
from poskit.crypto.hexinput import parse_digits
from poskit.crypto.pinverify import decimalize_pvv

__all__ = [
    "card_verification_value",
    "generate_cvv",
    "generate_cvv2",
    "generate_dcvv",
    "generate_icvv",
    "verify_cvv",
    "verify_dcvv",
]


def _cvk_halves(cvk: bytes) -> tuple[BlockCipher, BlockCipher]:
    if len(cvk) != 16:
        raise InputError("cvk", f"{len(cvk)} bytes, expected a 16-byte key (A and B)")
    return BlockCipher(cvk[:8], "TDES", "cvk"), BlockCipher(cvk, "TDES", "cvk")


def card_verification_value(cvk: bytes, digits: str, *, length: int = 3) -> str:
    """The Visa CVV algorithm over ``digits`` (at most 32), ``length`` decimal digits out."""
    if len(digits) > 32 or not digits.isdigit():
        raise InputError("data", "expected up to 32 decimal digits")
    if not 1 <= length <= 5:
        raise InputError("length", f"{length}, expected 1 to 5")
    block = bytes.fromhex(digits.ljust(32, "0"))
    key_a, key_ab = _cvk_halves(cvk)
    r = key_a.encrypt(block[:8])
    r = (int.from_bytes(r, "big") ^ int.from_bytes(block[8:], "big")).to_bytes(8, "big")
    # E_A, D_B, E_A on the XOR is one TDES-EDE encryption under A|B.
    r = key_ab.encrypt(r)
    return decimalize_pvv(r.hex().upper(), length)


def _inputs(pan: str, expiry: str, service_code: str) -> str:
    parse_digits(pan, "pan", min_length=12, max_length=19)
    parse_digits(expiry, "expiry", min_length=4, max_length=4)
    parse_digits(service_code, "service_code", min_length=3, max_length=3)
    return pan + expiry + service_code


def generate_cvv(cvk: bytes, pan: str, expiry: str, service_code: str) -> str:
    """The 3-digit CVV for ``pan``, ``expiry`` (YYMM) and ``service_code``."""
    return card_verification_value(cvk, _inputs(pan, expiry, service_code))


def generate_cvv2(cvk: bytes, pan: str, expiry: str) -> str:
    """The printed CVV2/CVC2: the CVV with service code 000."""
    return generate_cvv(cvk, pan, expiry, "000")


def generate_icvv(cvk: bytes, pan: str, expiry: str) -> str:
    """The chip iCVV (track 2 equivalent data): the CVV with service code 999."""
    return generate_cvv(cvk, pan, expiry, "999")


def verify_cvv(cvk: bytes, pan: str, expiry: str, service_code: str, cvv: str) -> bool:
    """True if ``cvv`` is the CVV for these inputs (constant-time compare)."""
    parse_digits(cvv, "cvv", min_length=3, max_length=3)
    expected = generate_cvv(cvk, pan, expiry, service_code)
    return hmac.compare_digest(expected.encode(), cvv.encode())


def generate_dcvv(udk: bytes, pan: str, expiry: str, service_code: str, atc: str) -> str:
    """The Visa dCVV: the ATC (4 digits as on the track) replaces the first 4 PAN digits."""
    parse_digits(atc, "atc", min_length=4, max_length=4)
    _inputs(pan, expiry, service_code)
    return card_verification_value(udk, atc + pan[4:] + expiry + service_code)


def verify_dcvv(udk: bytes, pan: str, expiry: str, service_code: str, atc: str, dcvv: str) -> bool:
    """True if ``dcvv`` is the dCVV for these inputs (constant-time compare)."""
    parse_digits(dcvv, "dcvv", min_length=3, max_length=3)
    expected = generate_dcvv(udk, pan, expiry, service_code, atc)
    return hmac.compare_digest(expected.encode(), dcvv.encode())
