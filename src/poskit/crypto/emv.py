"""EMV card key derivation and application cryptograms (EMV 4.x Book 2, Annex A1).

These raw functions serve both sides: the HSM (ARQC verification, ARPC generation) and the
virtual EMV card, which must compute the same cryptograms.

* :func:`derive_icc_master_key`: option A (A1.4.1): Y = the 16 rightmost digits of PAN || PSN
  (left zero-padded); MK = TDES(IMK, Y) || TDES(IMK, Y XOR FF..FF), odd parity. Option B
  (A1.4.2, for PANs over 16 digits): Y = the first 16 decimal digits of SHA-1(PAN || PSN as
  BCD), topped up from its A-F digits mapped to 0-5; PANs of 16 digits or less use option A.
* :func:`derive_session_key`: common session key derivation (A1.3.1):
  SK = TDES(MK, ATC || F0 || 00*5) || TDES(MK, ATC || 0F || 00*5), odd parity; ``"none"``
  uses the card master key itself (as Visa CVN 10 does).
* :func:`generate_ac`: ISO 9797-1 MAC algorithm 3 with padding method 2 (0x80), 8 bytes.
* ARPC method 1: TDES(SK, ARQC XOR (ARC || 00*6)), 8 bytes. Method 2: the leftmost 4 bytes
  of MAC algorithm 3 (padding method 2) over ARQC || CSU || proprietary data.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Literal

from poskit.crypto._engine import BlockCipher
from poskit.crypto.des import adjust_odd_parity
from poskit.crypto.errors import InputError
from poskit.crypto.hexinput import parse_digits
from poskit.crypto.mac import RetailMac

__all__ = [
    "derive_icc_master_key",
    "derive_session_key",
    "generate_ac",
    "generate_arpc_method1",
    "generate_arpc_method2",
    "icc_master_key_with",
    "verify_arqc",
]

_FF8 = (1 << 64) - 1


def _check_double_key(key: bytes, argument: str) -> None:
    if len(key) != 16:
        raise InputError(argument, f"{len(key)} bytes, expected a double-length (16-byte) key")


def _option_b_digits(pan: str, psn: str) -> str:
    digits = pan + psn
    if len(digits) % 2:
        digits = "0" + digits
    hexed = hashlib.sha1(bytes.fromhex(digits)).hexdigest().upper()  # noqa: S324 - EMV A1.4.2
    decimal = [ch for ch in hexed if ch.isdigit()]
    if len(decimal) < 16:
        decimal += [str(int(ch, 16) - 10) for ch in hexed if not ch.isdigit()]
    return "".join(decimal[:16])


def derive_icc_master_key(imk: bytes, pan: str, psn: str, *, option: Literal["A", "B"] = "A") -> bytes:
    """The 16-byte ICC master key of a card from the issuer master key ``imk``."""
    _check_double_key(imk, "imk")
    return icc_master_key_with(BlockCipher(imk, "TDES", "imk"), pan, psn, option=option)


def icc_master_key_with(imk: BlockCipher, pan: str, psn: str, *, option: Literal["A", "B"] = "A") -> bytes:
    """:func:`derive_icc_master_key` with an already keyed IMK cipher (HSM fast path)."""
    parse_digits(pan, "pan", min_length=1, max_length=19)
    psn = psn or "00"
    parse_digits(psn, "psn", min_length=2, max_length=2)
    if option == "B" and len(pan) > 16:
        y = _option_b_digits(pan, psn)
    elif option in ("A", "B"):
        y = (pan + psn)[-16:].rjust(16, "0")
    else:
        raise InputError("option", f"{option!r}, expected 'A' or 'B'")
    left = int(y, 16)
    data = left.to_bytes(8, "big") + (left ^ _FF8).to_bytes(8, "big")
    return adjust_odd_parity(imk.encrypt(data))


def derive_session_key(icc_mk: bytes, atc: bytes, *, method: Literal["common", "none"] = "common") -> bytes:
    """The 16-byte AC session key for transaction counter ``atc`` (2 bytes)."""
    _check_double_key(icc_mk, "icc_mk")
    if len(atc) != 2:
        raise InputError("atc", f"{len(atc)} bytes, expected 2")
    if method == "none":
        return icc_mk
    if method != "common":
        raise InputError("method", f"{method!r}, expected 'common' or 'none'")
    data = atc + b"\xf0" + bytes(5) + atc + b"\x0f" + bytes(5)
    return adjust_odd_parity(BlockCipher(icc_mk, "TDES", "icc_mk").encrypt(data))


def generate_ac(session_key: bytes, data: bytes, *, padding: Literal[1, 2] = 2) -> bytes:
    """The 8-byte application cryptogram (ARQC/TC/AAC) over ``data``.

    ``padding`` 2 (0x80) is EMV's; some Visa CVNs pad with zeros (1).
    """
    _check_double_key(session_key, "session_key")
    return RetailMac(session_key, padding=padding).generate(data)


def verify_arqc(session_key: bytes, data: bytes, arqc: bytes, *, padding: Literal[1, 2] = 2) -> bool:
    """True if ``arqc`` is the cryptogram of ``data`` (constant-time compare)."""
    if len(arqc) != 8:
        return False
    return hmac.compare_digest(generate_ac(session_key, data, padding=padding), arqc)


def generate_arpc_method1(session_key: bytes, arqc: bytes, arc: bytes) -> bytes:
    """ARPC method 1 (8 bytes) for the 2-byte authorisation response code ``arc``."""
    _check_double_key(session_key, "session_key")
    if len(arqc) != 8:
        raise InputError("arqc", f"{len(arqc)} bytes, expected 8")
    if len(arc) != 2:
        raise InputError("arc", f"{len(arc)} bytes, expected 2")
    x = int.from_bytes(arqc, "big") ^ int.from_bytes(arc + bytes(6), "big")
    return BlockCipher(session_key, "TDES", "session_key").encrypt(x.to_bytes(8, "big"))


def generate_arpc_method2(session_key: bytes, arqc: bytes, csu: bytes, proprietary: bytes = b"") -> bytes:
    """ARPC method 2 (4 bytes) over the ARQC, 4-byte card status update and 0-8 bytes."""
    _check_double_key(session_key, "session_key")
    if len(arqc) != 8:
        raise InputError("arqc", f"{len(arqc)} bytes, expected 8")
    if len(csu) != 4:
        raise InputError("csu", f"{len(csu)} bytes, expected 4")
    if len(proprietary) > 8:
        raise InputError("proprietary", f"{len(proprietary)} bytes, expected 0 to 8")
    return RetailMac(session_key, padding=2).generate(arqc + csu + proprietary)[:4]
