"""DES and Triple DES (TDEA) on top of ``cryptography``.

Keys are 8 (single DES), 16 (double-length, K1K2K1) or 24 bytes (triple-length). They are
always expanded to 24 bytes before they reach ``cryptography``, whose decrepit ``TripleDES``
is used, so that no deprecation warning fires for 2-key TDES. A single-length key expanded to
K1K1K1 computes plain DES, which is how payment HSMs treat 8-byte keys. ECB is used on
purpose: keys under a KEK, PIN blocks and check values are single blocks defined that way.
"""

from __future__ import annotations

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, modes

from poskit.crypto.errors import InputError

__all__ = [
    "TDES_KEY_LENGTHS",
    "adjust_odd_parity",
    "check_tdes_key",
    "decrypt_tdes_cbc",
    "decrypt_tdes_ecb",
    "encrypt_tdes_cbc",
    "encrypt_tdes_ecb",
    "expand_tdes_key",
    "has_odd_parity",
    "tdes_algorithm",
]

TDES_KEY_LENGTHS = (8, 16, 24)

# Odd-parity version of every byte value: keep the 7 key bits, set bit 0 so the count is odd.
_ODD_PARITY = bytes((b & 0xFE) | ((bin(b & 0xFE).count("1") + 1) % 2) for b in range(256))


def adjust_odd_parity(key: bytes) -> bytes:
    """Return ``key`` with the low bit of every byte set for odd parity (as DES keys expect)."""
    return key.translate(_ODD_PARITY)


def has_odd_parity(key: bytes) -> bool:
    """True when every byte of ``key`` has an odd number of one bits."""
    return key.translate(_ODD_PARITY) == key


def check_tdes_key(key: bytes, argument: str = "key") -> bytes:
    """Return ``key`` if it is 8, 16 or 24 bytes long, else raise :class:`InputError`."""
    if len(key) not in TDES_KEY_LENGTHS:
        raise InputError(argument, f"{len(key)} bytes, expected a DES key of 8, 16 or 24 bytes")
    return key


def expand_tdes_key(key: bytes, argument: str = "key") -> bytes:
    """Expand an 8/16/24-byte DES key to the 24-byte K1K2K3 form ``cryptography`` wants."""
    n = len(check_tdes_key(key, argument))
    if n == 24:
        return key
    if n == 16:
        return key + key[:8]
    return key * 3


def tdes_algorithm(key: bytes, argument: str = "key") -> TripleDES:
    """The ``cryptography`` algorithm object for ``key`` (expanded to 24 bytes)."""
    return TripleDES(expand_tdes_key(key, argument))


def _check_blocks(data: bytes, argument: str = "data") -> None:
    if len(data) % 8:
        raise InputError(argument, f"{len(data)} bytes, not a multiple of the 8-byte DES block")


def encrypt_tdes_ecb(key: bytes, data: bytes) -> bytes:
    """TDES-ECB encrypt ``data`` (a multiple of 8 bytes) under ``key``."""
    _check_blocks(data)
    enc = Cipher(tdes_algorithm(key), modes.ECB()).encryptor()  # noqa: S305
    return enc.update(data) + enc.finalize()


def decrypt_tdes_ecb(key: bytes, data: bytes) -> bytes:
    """TDES-ECB decrypt ``data`` (a multiple of 8 bytes) under ``key``."""
    _check_blocks(data)
    dec = Cipher(tdes_algorithm(key), modes.ECB()).decryptor()  # noqa: S305
    return dec.update(data) + dec.finalize()


def encrypt_tdes_cbc(key: bytes, iv: bytes, data: bytes) -> bytes:
    """TDES-CBC encrypt ``data`` (a multiple of 8 bytes) with an 8-byte ``iv``."""
    _check_blocks(data)
    if len(iv) != 8:
        raise InputError("iv", f"{len(iv)} bytes, expected 8")
    enc = Cipher(tdes_algorithm(key), modes.CBC(iv)).encryptor()
    return enc.update(data) + enc.finalize()


def decrypt_tdes_cbc(key: bytes, iv: bytes, data: bytes) -> bytes:
    """TDES-CBC decrypt ``data`` (a multiple of 8 bytes) with an 8-byte ``iv``."""
    _check_blocks(data)
    if len(iv) != 8:
        raise InputError("iv", f"{len(iv)} bytes, expected 8")
    dec = Cipher(tdes_algorithm(key), modes.CBC(iv)).decryptor()
    return dec.update(data) + dec.finalize()
