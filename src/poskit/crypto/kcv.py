"""Key check values (KCV): short public fingerprints that let people compare keys.

* TDES (and single DES): the leftmost bytes of the key encrypting eight zero bytes
  (ANSI X9.24-1, the classic "encrypt zeros" KCV; CUPS sign-on uses 4 of them).
* AES: the leftmost bytes of AES-CMAC over one block of zeros (the X9.24-1:2017 / TR-31
  practice). The older "AES-ECB of zeros" check value is deliberately not the default.
* SM4: SM4-ECB of sixteen zero bytes, as Chinese HSMs print it.
* HMAC keys: the leftmost bytes of HMAC-SHA256 over the empty message.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Literal

from poskit.crypto._engine import BlockCipher
from poskit.crypto.aes import aes_cmac
from poskit.crypto.errors import InputError

__all__ = ["KcvAlgorithm", "kcv"]

KcvAlgorithm = Literal["TDES", "AES", "SM4", "HMAC"]


def kcv(key: bytes, *, algorithm: KcvAlgorithm = "TDES", length: int = 3) -> bytes:
    """The ``length``-byte key check value of ``key`` (see the module notes per algorithm)."""
    if algorithm == "HMAC":
        if not 1 <= length <= 32:
            raise InputError("length", f"{length}, expected 1 to 32")
        return hmac.new(key, b"", hashlib.sha256).digest()[:length]
    if algorithm == "AES":
        if not 1 <= length <= 16:
            raise InputError("length", f"{length}, expected 1 to 16")
        return aes_cmac(key, bytes(16))[:length]
    cipher = BlockCipher(key, algorithm)
    if not 1 <= length <= cipher.block_size:
        raise InputError("length", f"{length}, expected 1 to {cipher.block_size}")
    return cipher.encrypt(bytes(cipher.block_size))[:length]
