"""TDES DUKPT (ANSI X9.24-1:2009, Annex A): host derivation and the originating device.

The key serial number (KSN) is 10 bytes: the initial KSN (59 bits) and a 21-bit transaction
counter. Host side: the IPEK is TDES(BDK, KSN') || TDES(BDK XOR C0C0C0C000000000C0C0C0C000000000,
KSN') with KSN' the leftmost 8 bytes of the KSN with its counter cleared; the transaction key
walks the counter's set bits from the top, each step the non-reversible key generation process
on the rightmost 8 KSN bytes with the bits so far. Working keys are variants of it:

==================  ====================================  ===============================
variant             mask on each 8-byte half              use
==================  ====================================  ===============================
PIN                 ``00000000000000FF``                  PIN blocks (format 0)
MAC request         ``000000000000FF00``                  X9.19 MAC of requests
MAC response        ``00000000FF000000``                  X9.19 MAC of responses
data request        ``0000000000FF0000`` + one-way step   TDES-CBC of request data
data response       ``000000FF00000000`` + one-way step   TDES-CBC of response data
==================  ====================================  ===============================

The data variants are also encrypted under themselves (each half), per X9.24-1:2009. The device
(:class:`TdesDukptDevice`) keeps 21 future-key registers, skips counters with more than 10 one
bits and stops after counter ``1FF800`` (1,048,575 keys), raising
:class:`~poskit.crypto.errors.DukptExhaustedError`.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Literal

from poskit.crypto._dukpt_state import FutureKeyRegisters, chain_key
from poskit.crypto._engine import BlockCipher
from poskit.crypto.des import encrypt_tdes_ecb
from poskit.crypto.errors import InputError
from poskit.crypto.mac import RetailMac

__all__ = [
    "KSN_COUNTER_BITS",
    "MAX_ONE_BITS",
    "DukptVariant",
    "TdesDukptDevice",
    "decrypt_data",
    "derive_ipek",
    "derive_transaction_key",
    "derive_working_key",
    "encrypt_data",
    "generate_mac",
    "ksn_counter",
    "ksn_with_counter",
    "variant_key",
]

KSN_COUNTER_BITS = 21
MAX_ONE_BITS = 10
_COUNTER_MASK = (1 << KSN_COUNTER_BITS) - 1
_KEY_MASK = bytes.fromhex("C0C0C0C000000000C0C0C0C000000000")
_KEY_MASK_INT = int.from_bytes(_KEY_MASK, "big")


class DukptVariant(enum.Enum):
    """The working-key variants of X9.24-1, with their 8-byte half masks."""

    PIN = 0x00000000000000FF
    MAC_REQUEST = 0x000000000000FF00
    MAC_RESPONSE = 0x00000000FF000000
    DATA_REQUEST = 0x0000000000FF0000
    DATA_RESPONSE = 0x000000FF00000000


def _check_ksn(ksn: bytes) -> int:
    if len(ksn) != 10:
        raise InputError("ksn", f"{len(ksn)} bytes, expected a 10-byte TDES DUKPT KSN")
    return int.from_bytes(ksn, "big")


def _check_bdk(key: bytes, argument: str) -> None:
    if len(key) != 16:
        raise InputError(argument, f"{len(key)} bytes, expected a double-length (16-byte) key")


def ksn_counter(ksn: bytes) -> int:
    """The 21-bit transaction counter of a KSN."""
    return _check_ksn(ksn) & _COUNTER_MASK


def ksn_with_counter(ksn: bytes, counter: int) -> bytes:
    """``ksn`` with its transaction counter replaced by ``counter``."""
    if not 0 <= counter <= _COUNTER_MASK:
        raise InputError("counter", f"{counter:#x} does not fit 21 bits")
    return ((_check_ksn(ksn) & ~_COUNTER_MASK) | counter).to_bytes(10, "big")


def derive_ipek(bdk: bytes, ksn: bytes) -> bytes:
    """The initial PIN encryption key (IPEK, initial key) of the device with this KSN."""
    _check_bdk(bdk, "bdk")
    masked = (_check_ksn(ksn) & ~_COUNTER_MASK).to_bytes(10, "big")[:8]
    left = encrypt_tdes_ecb(bdk, masked)
    right = encrypt_tdes_ecb(bytes(a ^ b for a, b in zip(bdk, _KEY_MASK, strict=True)), masked)
    return left + right


def _nrkgp(key: bytes, data: int) -> bytes:
    """The non-reversible key generation process on one 8-byte register value."""
    block = data.to_bytes(8, "big")
    shifted = (int.from_bytes(key, "big") ^ _KEY_MASK_INT).to_bytes(16, "big")
    halves = []
    for k in (shifted, key):
        right = int.from_bytes(k[8:], "big")
        x = (int.from_bytes(block, "big") ^ right).to_bytes(8, "big")
        e = int.from_bytes(BlockCipher(k[:8], "TDES").encrypt(x), "big")
        halves.append((e ^ right).to_bytes(8, "big"))
    return halves[0] + halves[1]


def _deriver(ksn: bytes) -> Callable[[bytes, int], bytes]:
    base = _check_ksn(ksn) & ((1 << 64) - 1) & ~_COUNTER_MASK

    def derive(parent: bytes, counter: int) -> bytes:
        return _nrkgp(parent, base | counter)

    return derive


def derive_transaction_key(key: bytes, ksn: bytes, *, source: Literal["bdk", "ipek"] = "bdk") -> bytes:
    """The transaction key for ``ksn`` from the BDK (default) or from the device's IPEK."""
    _check_bdk(key, source)
    ipek = derive_ipek(key, ksn) if source == "bdk" else key
    return chain_key(ipek, ksn_counter(ksn), KSN_COUNTER_BITS, _deriver(ksn))


def variant_key(transaction_key: bytes, variant: DukptVariant) -> bytes:
    """The working key of ``variant`` from a transaction key."""
    _check_bdk(transaction_key, "transaction_key")
    mask = (variant.value << 64) | variant.value
    key = (int.from_bytes(transaction_key, "big") ^ mask).to_bytes(16, "big")
    if variant in (DukptVariant.DATA_REQUEST, DukptVariant.DATA_RESPONSE):
        # X9.24-1:2009 one-way step: each half encrypted under the variant key itself.
        key = encrypt_tdes_ecb(key, key)
    return key


def derive_working_key(
    key: bytes,
    ksn: bytes,
    variant: DukptVariant,
    *,
    source: Literal["bdk", "ipek"] = "bdk",
) -> bytes:
    """The ``variant`` working key for ``ksn`` from the BDK (default) or the IPEK."""
    return variant_key(derive_transaction_key(key, ksn, source=source), variant)


def generate_mac(mac_key: bytes, data: bytes) -> bytes:
    """The DUKPT MAC: ANSI X9.19 with zero padding under a MAC-variant key (8 bytes)."""
    return RetailMac(mac_key, padding=1).generate(data)


def encrypt_data(data_key: bytes, data: bytes) -> bytes:
    """TDES-CBC with a zero IV over ``data`` zero-padded to 8 bytes (the DUKPT data method)."""
    padded = data + bytes(-len(data) % 8)
    return BlockCipher(data_key, "TDES").encrypt_cbc(bytes(8), padded)


def decrypt_data(data_key: bytes, data: bytes) -> bytes:
    """Decrypt :func:`encrypt_data` output (the zero padding is left in place)."""
    return BlockCipher(data_key, "TDES").decrypt_cbc(bytes(8), data)


class TdesDukptDevice:
    """The originating device (PIN pad) side of TDES DUKPT.

    :meth:`use` returns the KSN and transaction key of the next transaction and advances the
    counter; :meth:`to_bytes` / :meth:`from_bytes` persist the registers (the bytes hold clear
    keys: store them only wrapped, e.g. with :class:`poskit.crypto.pinpad.DukptPinPad`).
    """

    __slots__ = ("_ksn", "_state")

    _MAGIC = b"PKD1"

    def __init__(self, ksn: bytes, state: FutureKeyRegisters) -> None:
        self._ksn = ksn
        self._state = state

    def __repr__(self) -> str:
        return f"TdesDukptDevice(ksn={self.ksn.hex().upper()})"

    @classmethod
    def from_initial_key(cls, ipek: bytes, ksn: bytes) -> TdesDukptDevice:
        """Load the IPEK for ``ksn``; a non-zero counter resumes a device at that counter."""
        _check_bdk(ipek, "ipek")
        state = FutureKeyRegisters.at_counter(
            ipek,
            ksn_counter(ksn),
            scheme="TDES",
            width=KSN_COUNTER_BITS,
            max_ones=MAX_ONE_BITS,
            derive=_deriver(ksn),
        )
        return cls(ksn_with_counter(ksn, 0), state)

    @property
    def counter(self) -> int:
        """The counter the next transaction will use (after skipping)."""
        return self._state.current()[0]

    @property
    def ksn(self) -> bytes:
        """The KSN the next transaction will carry."""
        return ksn_with_counter(self._ksn, self._state.current()[0])

    def use(self) -> tuple[bytes, bytes]:
        """The next transaction's KSN and transaction key; the device then moves on."""
        counter, key = self._state.current()
        self._state.advance()
        return ksn_with_counter(self._ksn, counter), key

    def to_bytes(self) -> bytes:
        """Serialised state (magic, KSN with zero counter, registers). Contains clear keys."""
        return self._MAGIC + self._ksn + self._state.dump()

    @classmethod
    def from_bytes(cls, data: bytes) -> TdesDukptDevice:
        """Rebuild a device from :meth:`to_bytes` output."""
        if data[:4] != cls._MAGIC or len(data) < 14:
            raise InputError("state", "not a TDES DUKPT device state")
        ksn = data[4:14]
        state = FutureKeyRegisters.load(
            data[14:],
            key_length=16,
            scheme="TDES",
            width=KSN_COUNTER_BITS,
            max_ones=MAX_ONE_BITS,
            derive=_deriver(ksn),
        )
        return cls(ksn, state)
