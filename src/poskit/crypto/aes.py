"""AES (ECB, CBC) and AES-CMAC on top of ``cryptography``.

ECB is here on purpose: format 4 PIN blocks and keys under a KEK are single-block ECB.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.cmac import CMAC

from poskit.crypto.errors import InputError

__all__ = [
    "AES_KEY_LENGTHS",
    "aes_cmac",
    "check_aes_key",
    "decrypt_aes_cbc",
    "decrypt_aes_ecb",
    "encrypt_aes_cbc",
    "encrypt_aes_ecb",
]

AES_KEY_LENGTHS = (16, 24, 32)


def check_aes_key(key: bytes, argument: str = "key") -> bytes:
    """Return ``key`` if it is 16, 24 or 32 bytes long, else raise :class:`InputError`."""
    if len(key) not in AES_KEY_LENGTHS:
        raise InputError(argument, f"{len(key)} bytes, expected an AES key of 16, 24 or 32 bytes")
    return key


def _check_blocks(data: bytes, argument: str = "data") -> None:
    if len(data) % 16:
        raise InputError(argument, f"{len(data)} bytes, not a multiple of the 16-byte AES block")


def _check_iv(iv: bytes) -> None:
    if len(iv) != 16:
        raise InputError("iv", f"{len(iv)} bytes, expected 16")


def encrypt_aes_ecb(key: bytes, data: bytes) -> bytes:
    """AES-ECB encrypt ``data`` (a multiple of 16 bytes)."""
    _check_blocks(data)
    enc = Cipher(algorithms.AES(check_aes_key(key)), modes.ECB()).encryptor()  # noqa: S305
    return enc.update(data) + enc.finalize()


def decrypt_aes_ecb(key: bytes, data: bytes) -> bytes:
    """AES-ECB decrypt ``data`` (a multiple of 16 bytes)."""
    _check_blocks(data)
    dec = Cipher(algorithms.AES(check_aes_key(key)), modes.ECB()).decryptor()  # noqa: S305
    return dec.update(data) + dec.finalize()


def encrypt_aes_cbc(key: bytes, iv: bytes, data: bytes) -> bytes:
    """AES-CBC encrypt ``data`` (a multiple of 16 bytes) with a 16-byte ``iv``."""
    _check_blocks(data)
    _check_iv(iv)
    enc = Cipher(algorithms.AES(check_aes_key(key)), modes.CBC(iv)).encryptor()
    return enc.update(data) + enc.finalize()


def decrypt_aes_cbc(key: bytes, iv: bytes, data: bytes) -> bytes:
    """AES-CBC decrypt ``data`` (a multiple of 16 bytes) with a 16-byte ``iv``."""
    _check_blocks(data)
    _check_iv(iv)
    dec = Cipher(algorithms.AES(check_aes_key(key)), modes.CBC(iv)).decryptor()
    return dec.update(data) + dec.finalize()


def aes_cmac(key: bytes, data: bytes, *, length: int = 16) -> bytes:
    """AES-CMAC (NIST SP 800-38B) of ``data``, truncated to ``length`` bytes."""
    if not 1 <= length <= 16:
        raise InputError("length", f"{length}, expected 1 to 16")
    c = CMAC(algorithms.AES(check_aes_key(key)))
    c.update(data)
    return c.finalize()[:length]
