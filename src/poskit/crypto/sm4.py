"""SM4 (GB/T 32907, the Chinese national block cipher) and the 国密 POS MAC.

SM4 comes from ``cryptography`` when its OpenSSL provides it; :data:`SM4_AVAILABLE` says
whether it does, and every function raises
:class:`~poskit.crypto.errors.UnsupportedAlgorithmError` when it does not.

The SM4 POS MAC (:class:`Sm4EcbMac`) is the UnionPay ECB MAC with 16-byte blocks: zero-pad,
XOR all 16-byte blocks, hex-expand to 32 characters, SM4-encrypt the first 16, XOR with the
last 16, SM4-encrypt again, and keep the first 8 bytes of the result. Public descriptions keep
8 bytes of the binary result here (the DES variant keeps 8 hex characters); acquirers vary,
so check it against your host.
"""

from __future__ import annotations

from poskit.crypto._engine import SM4_AVAILABLE, BlockCipher
from poskit.crypto.mac import _XorThenEncryptMac

__all__ = [
    "SM4_AVAILABLE",
    "Sm4EcbMac",
    "decrypt_sm4_cbc",
    "decrypt_sm4_ecb",
    "encrypt_sm4_cbc",
    "encrypt_sm4_ecb",
    "sm4_ecb_mac",
]


def encrypt_sm4_ecb(key: bytes, data: bytes) -> bytes:
    """SM4-ECB encrypt ``data`` (a multiple of 16 bytes)."""
    return BlockCipher(key, "SM4").encrypt(data)


def decrypt_sm4_ecb(key: bytes, data: bytes) -> bytes:
    """SM4-ECB decrypt ``data`` (a multiple of 16 bytes)."""
    return BlockCipher(key, "SM4").decrypt(data)


def encrypt_sm4_cbc(key: bytes, iv: bytes, data: bytes) -> bytes:
    """SM4-CBC encrypt ``data`` (a multiple of 16 bytes) with a 16-byte ``iv``."""
    return BlockCipher(key, "SM4").encrypt_cbc(iv, data)


def decrypt_sm4_cbc(key: bytes, iv: bytes, data: bytes) -> bytes:
    """SM4-CBC decrypt ``data`` (a multiple of 16 bytes) with a 16-byte ``iv``."""
    return BlockCipher(key, "SM4").decrypt_cbc(iv, data)


class Sm4EcbMac(_XorThenEncryptMac):
    """The UnionPay ECB MAC construction over SM4 (8-byte result)."""

    algorithm = "sm4-ecb"
    _ascii_output = False

    def __init__(self, key: bytes) -> None:
        super().__init__(key, "SM4")


def sm4_ecb_mac(key: bytes, data: bytes) -> bytes:
    """The SM4 POS MAC of ``data`` (8 bytes)."""
    return Sm4EcbMac(key).generate(data)
