"""Block-cipher contexts that keep their key schedule, for microsecond PIN and MAC operations.

Creating a ``cryptography`` encryptor re-runs the key schedule (about 4 us for TDES). The
objects here build their contexts once and reuse them: an ECB context can take any number of
whole blocks, and a CBC context can be rewound to a zero IV by XOR-ing the previous chaining
block into the next message's first block. A lock guards each context, since they hold state.
"""

from __future__ import annotations

import threading
from typing import Literal

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.ciphers import (
    BlockCipherAlgorithm,
    Cipher,
    CipherContext,
    algorithms,
    modes,
)

from poskit.crypto.aes import check_aes_key
from poskit.crypto.des import tdes_algorithm
from poskit.crypto.errors import InputError, UnsupportedAlgorithmError

__all__ = ["SM4_AVAILABLE", "BlockAlgorithm", "BlockCipher", "CbcChain", "block_algorithm"]

BlockAlgorithm = Literal["TDES", "AES", "SM4"]


def _probe_sm4() -> bool:
    sm4 = getattr(algorithms, "SM4", None)
    if sm4 is None:
        return False
    try:
        Cipher(sm4(bytes(16)), modes.ECB()).encryptor()  # noqa: S305 - a probe only
    except UnsupportedAlgorithm:
        return False
    return True


SM4_AVAILABLE = _probe_sm4()


def block_algorithm(key: bytes, algorithm: BlockAlgorithm, argument: str = "key") -> BlockCipherAlgorithm:
    """The ``cryptography`` algorithm object for ``key``, validating its length."""
    if algorithm == "TDES":
        return tdes_algorithm(key, argument)
    if algorithm == "AES":
        return algorithms.AES(check_aes_key(key, argument))
    if algorithm == "SM4":
        if not SM4_AVAILABLE:
            raise UnsupportedAlgorithmError("SM4")
        if len(key) != 16:
            raise InputError(argument, f"{len(key)} bytes, expected a 16-byte SM4 key")
        return algorithms.SM4(key)
    raise InputError("algorithm", f"unknown block cipher {algorithm!r}")


class BlockCipher:
    """ECB encryption and decryption of whole blocks with contexts built once."""

    __slots__ = ("_alg", "_dec", "_ecb", "_enc", "_lock", "algorithm", "block_size")

    def __init__(self, key: bytes, algorithm: BlockAlgorithm, argument: str = "key") -> None:
        self.algorithm = algorithm
        self._alg = block_algorithm(key, algorithm, argument)
        self.block_size = self._alg.block_size // 8
        self._ecb = Cipher(self._alg, modes.ECB())  # noqa: S305 - payment key/PIN blocks are ECB
        # Contexts are built on first use: many keys (session keys) only ever encrypt.
        self._enc: CipherContext | None = None
        self._dec: CipherContext | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"BlockCipher({self.algorithm})"

    def _check(self, data: bytes, argument: str) -> None:
        if len(data) % self.block_size:
            raise InputError(
                argument,
                f"{len(data)} bytes, not a multiple of the {self.block_size}-byte block",
            )

    def encrypt(self, data: bytes) -> bytes:
        """ECB-encrypt whole blocks."""
        self._check(data, "data")
        with self._lock:
            enc = self._enc
            if enc is None:
                enc = self._enc = self._ecb.encryptor()
            return enc.update(data)

    def decrypt(self, data: bytes) -> bytes:
        """ECB-decrypt whole blocks."""
        self._check(data, "data")
        with self._lock:
            dec = self._dec
            if dec is None:
                dec = self._dec = self._ecb.decryptor()
            return dec.update(data)

    def encrypt_cbc(self, iv: bytes, data: bytes) -> bytes:
        """CBC-encrypt whole blocks (a fresh context: the IV differs per call)."""
        self._check(data, "data")
        self._check_iv(iv)
        enc = Cipher(self._alg, modes.CBC(iv)).encryptor()
        return enc.update(data) + enc.finalize()

    def decrypt_cbc(self, iv: bytes, data: bytes) -> bytes:
        """CBC-decrypt whole blocks."""
        self._check(data, "data")
        self._check_iv(iv)
        dec = Cipher(self._alg, modes.CBC(iv)).decryptor()
        return dec.update(data) + dec.finalize()

    def _check_iv(self, iv: bytes) -> None:
        if len(iv) != self.block_size:
            raise InputError("iv", f"{len(iv)} bytes, expected {self.block_size}")

    def chain(self) -> CbcChain:
        """A reusable CBC-MAC chain under this key."""
        return CbcChain(self._alg)


class CbcChain:
    """The last block of CBC encryption from a zero IV (a CBC-MAC), reusing one context.

    After a message, the context's chaining value is its last output block ``C``. Encrypting
    the next message with its first block XOR-ed with ``C`` gives exactly what a fresh context
    with a zero IV would, so the key schedule is never rebuilt.
    """

    __slots__ = ("_enc", "_last", "_lock", "block_size")

    def __init__(self, alg: BlockCipherAlgorithm) -> None:
        self.block_size = alg.block_size // 8
        self._enc: CipherContext = Cipher(alg, modes.CBC(bytes(self.block_size))).encryptor()
        self._last = 0
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return "CbcChain()"

    def last_block(self, padded: bytes) -> bytes:
        """CBC-MAC of ``padded`` (whole blocks, at least one) from a zero IV."""
        bs = self.block_size
        if not padded or len(padded) % bs:
            raise InputError("data", f"{len(padded)} bytes, not a whole number of blocks")
        with self._lock:
            if self._last:
                first = (int.from_bytes(padded[:bs], "big") ^ self._last).to_bytes(bs, "big")
                padded = first + padded[bs:]
            out = self._enc.update(padded)
            last = out[-bs:]
            self._last = int.from_bytes(last, "big")
        return last
