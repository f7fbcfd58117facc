"""Message authentication codes used on payment messages, as reusable calculators.

* ``cups-ecb`` (:class:`CupsEcbMac`): the UnionPay POS "ECB" MAC. Pad the MAB with zeros to
  8 bytes, XOR all blocks, take the 16-character uppercase hex of the result, encrypt its first
  8 characters, XOR with the last 8, encrypt again; the MAC is the first 8 hex characters of
  that (8 ASCII bytes, as carried in field 64). A double-length MAK with equal halves behaves
  as single DES.
* ``x919`` (:class:`RetailMac`): ISO 9797-1 MAC algorithm 3 / ANSI X9.19 retail MAC: single-DES
  CBC under K1, then decrypt under K2 and encrypt under K1 on the last block.
* ``iso9797-1`` (:class:`CbcMac`): ISO 9797-1 MAC algorithm 1, a plain CBC-MAC under the whole
  key (TDES, AES or SM4).
* ``cmac`` (:class:`Cmac`): CMAC (ISO 9797-1:2011 algorithm 5, NIST SP 800-38B) with AES or TDES.
* ``sm4-ecb``: the 国密 form of the UnionPay MAC, see :class:`poskit.crypto.sm4.Sm4EcbMac`.

Each calculator keeps its key schedule and cipher contexts, so one MAC over a ~150-byte message
costs a few microseconds. ``verify`` compares in constant time and accepts a MAC truncated to
4 bytes or more (the leftmost bytes), as HSM "verify MAC" commands do.
"""

from __future__ import annotations

import hmac
from typing import Literal, Protocol

from cryptography.hazmat.primitives.cmac import CMAC

from poskit.crypto._engine import BlockAlgorithm, BlockCipher, CbcChain, block_algorithm
from poskit.crypto.errors import InputError

__all__ = [
    "CbcMac",
    "Cmac",
    "CupsEcbMac",
    "MacAlgorithm",
    "MacCalculator",
    "RetailMac",
    "cbc_mac",
    "cmac",
    "cups_ecb_mac",
    "mac_calculator",
    "pad_iso9797_1",
    "pad_iso9797_2",
    "retail_mac",
]

MacAlgorithm = Literal["cups-ecb", "x919", "iso9797-1", "cmac", "sm4-ecb"]
Padding = Literal[1, 2]

_MIN_VERIFY_LENGTH = 4


def pad_iso9797_1(data: bytes, block_size: int = 8) -> bytes:
    """ISO 9797-1 padding method 1: zero bytes up to a whole block (one block if empty)."""
    if not data:
        return bytes(block_size)
    return data + bytes(-len(data) % block_size)


def pad_iso9797_2(data: bytes, block_size: int = 8) -> bytes:
    """ISO 9797-1 padding method 2: a 0x80 byte, then zero bytes up to a whole block."""
    data = data + b"\x80"
    return data + bytes(-len(data) % block_size)


def _pad(data: bytes, padding: int, block_size: int) -> bytes:
    if padding == 1:
        return pad_iso9797_1(data, block_size)
    if padding == 2:
        return pad_iso9797_2(data, block_size)
    raise InputError("padding", f"method {padding}, expected 1 or 2")


def _check_length(length: int, maximum: int) -> int:
    if not 1 <= length <= maximum:
        raise InputError("length", f"{length}, expected 1 to {maximum}")
    return length


class MacCalculator(Protocol):
    """What every MAC calculator offers."""

    algorithm: str
    length: int

    def generate(self, data: bytes) -> bytes:
        """The MAC of ``data``."""
        ...

    def verify(self, data: bytes, mac: bytes) -> bool:
        """True if ``mac`` (the leftmost 4 bytes or more) is the MAC of ``data``."""
        ...


class _Calculator:
    algorithm = ""
    length = 8

    def generate(self, data: bytes) -> bytes:  # pragma: no cover - overridden
        raise NotImplementedError

    def verify(self, data: bytes, mac: bytes) -> bool:
        if not _MIN_VERIFY_LENGTH <= len(mac) <= self.length:
            return False
        return hmac.compare_digest(self.generate(data)[: len(mac)], mac)

    def __repr__(self) -> str:
        # Never show the key: only what kind of calculator this is.
        return f"{type(self).__name__}(algorithm={self.algorithm!r}, length={self.length})"


_MASK64 = (1 << 64) - 1
_MASK128 = (1 << 128) - 1


def _xor_fold(data: bytes, block_size: int) -> int:
    """XOR of all ``block_size`` blocks of ``data`` (zero-padded), as an integer."""
    pad = -len(data) % block_size
    x = int.from_bytes(data, "big") << (8 * pad)
    bits = 8 * block_size
    mask = _MASK64 if block_size == 8 else _MASK128
    r = 0
    while x:
        r ^= x & mask
        x >>= bits
    return r


class _XorThenEncryptMac(_Calculator):
    """The UnionPay XOR-fold, hex-expand, encrypt/XOR/encrypt construction (DES or SM4)."""

    _ascii_output = True

    def __init__(self, key: bytes, algorithm: BlockAlgorithm) -> None:
        self._cipher = BlockCipher(key, algorithm)
        self._bs = self._cipher.block_size

    def generate(self, data: bytes) -> bytes:
        bs = self._bs
        folded = _xor_fold(data, bs)
        hexed = f"{folded:0{2 * bs}X}".encode("ascii")
        e1 = self._cipher.encrypt(hexed[:bs])
        t = int.from_bytes(e1, "big") ^ int.from_bytes(hexed[bs:], "big")
        e2 = self._cipher.encrypt(t.to_bytes(bs, "big"))
        if self._ascii_output:
            return e2.hex().upper()[:8].encode("ascii")
        return e2[:8]


class CupsEcbMac(_XorThenEncryptMac):
    """UnionPay POS ECB MAC (8 ASCII hex characters) under an 8/16/24-byte DES MAK."""

    algorithm = "cups-ecb"

    def __init__(self, key: bytes) -> None:
        super().__init__(key, "TDES")


class RetailMac(_Calculator):
    """ISO 9797-1 MAC algorithm 3 (ANSI X9.19) under a double-length key K1K2.

    An 8-byte key gives K2 = K1, which is the single-DES CBC-MAC of ANSI X9.9.
    """

    algorithm = "x919"

    def __init__(self, key: bytes, *, padding: Padding = 1, length: int = 8) -> None:
        if len(key) not in (8, 16):
            raise InputError("key", f"{len(key)} bytes, expected 8 or 16 for a retail MAC")
        k1 = key[:8]
        k2 = key[8:] or k1
        self.padding = padding
        _pad(b"", padding, 8)  # validates the padding method early
        self.length = _check_length(length, 8)
        self._chain = CbcChain(block_algorithm(k1, "TDES"))
        # E_K1(D_K2(E_K1(x))) is TDES-EDE under K1K2K1: one context does the output transform.
        self._final = BlockCipher(k1 + k2, "TDES")

    def generate(self, data: bytes) -> bytes:
        padded = _pad(data, self.padding, 8)
        if len(padded) == 8:
            return self._final.encrypt(padded)[: self.length]
        chained = int.from_bytes(self._chain.last_block(padded[:-8]), "big")
        last = (chained ^ int.from_bytes(padded[-8:], "big")).to_bytes(8, "big")
        return self._final.encrypt(last)[: self.length]


class CbcMac(_Calculator):
    """ISO 9797-1 MAC algorithm 1: CBC-MAC under the whole key (TDES, AES or SM4)."""

    algorithm = "iso9797-1"

    def __init__(
        self,
        key: bytes,
        *,
        algorithm: BlockAlgorithm = "TDES",
        padding: Padding = 1,
        length: int | None = None,
    ) -> None:
        self._chain = CbcChain(block_algorithm(key, algorithm))
        self._bs = self._chain.block_size
        self.padding = padding
        _pad(b"", padding, self._bs)
        self.length = _check_length(self._bs if length is None else length, self._bs)

    def generate(self, data: bytes) -> bytes:
        return self._chain.last_block(_pad(data, self.padding, self._bs))[: self.length]


class Cmac(_Calculator):
    """CMAC with AES or TDES; the pristine context is copied per message."""

    algorithm = "cmac"

    def __init__(self, key: bytes, *, algorithm: BlockAlgorithm = "AES", length: int | None = None) -> None:
        if algorithm not in ("AES", "TDES"):
            raise InputError("algorithm", f"{algorithm}, CMAC needs AES or TDES")
        alg = block_algorithm(key, algorithm)
        bs = alg.block_size // 8
        self.length = _check_length(bs if length is None else length, bs)
        self._template = CMAC(alg)

    def generate(self, data: bytes) -> bytes:
        c = self._template.copy()
        c.update(data)
        return c.finalize()[: self.length]


def mac_calculator(
    key: bytes,
    algorithm: MacAlgorithm,
    *,
    padding: Padding = 1,
    length: int | None = None,
    cipher: BlockAlgorithm | None = None,
) -> MacCalculator:
    """A calculator for ``algorithm`` under ``key``.

    ``padding`` applies to ``x919`` and ``iso9797-1``; ``cipher`` picks the block cipher of
    ``iso9797-1`` (TDES by default) and ``cmac`` (AES by default).
    """
    if algorithm == "cups-ecb":
        return CupsEcbMac(key)
    if algorithm == "x919":
        return RetailMac(key, padding=padding, length=8 if length is None else length)
    if algorithm == "iso9797-1":
        return CbcMac(key, algorithm=cipher or "TDES", padding=padding, length=length)
    if algorithm == "cmac":
        return Cmac(key, algorithm=cipher or "AES", length=length)
    if algorithm == "sm4-ecb":
        from poskit.crypto.sm4 import Sm4EcbMac

        return Sm4EcbMac(key)
    raise InputError("algorithm", f"unknown MAC algorithm {algorithm!r}")


def cups_ecb_mac(key: bytes, data: bytes) -> bytes:
    """The UnionPay POS ECB MAC of ``data`` (8 ASCII bytes)."""
    return CupsEcbMac(key).generate(data)


def retail_mac(key: bytes, data: bytes, *, padding: Padding = 1, length: int = 8) -> bytes:
    """ISO 9797-1 algorithm 3 / ANSI X9.19 MAC of ``data``."""
    return RetailMac(key, padding=padding, length=length).generate(data)


def cbc_mac(
    key: bytes,
    data: bytes,
    *,
    algorithm: BlockAlgorithm = "TDES",
    padding: Padding = 1,
    length: int | None = None,
) -> bytes:
    """ISO 9797-1 algorithm 1 (CBC-MAC) of ``data``."""
    return CbcMac(key, algorithm=algorithm, padding=padding, length=length).generate(data)


def cmac(key: bytes, data: bytes, *, algorithm: BlockAlgorithm = "AES", length: int | None = None) -> bytes:
    """CMAC of ``data`` under an AES or TDES key."""
    return Cmac(key, algorithm=algorithm, length=length).generate(data)
