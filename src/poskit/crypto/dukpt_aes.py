"""AES DUKPT (ANSI X9.24-3-2017): host derivation and the originating device.

The KSN is 12 bytes: the 8-byte initial key ID (4-byte BDK ID + 4-byte derivation ID) and a
32-bit transaction counter. Every derivation is AES-ECB under the deriving key of 16-byte
derivation data blocks, one per 128 bits of output::

    01 | block counter | key usage (2) | algorithm (2) | length in bits (2) | 8 bytes

where the last 8 bytes are the initial key ID for the initial key, and otherwise the derivation
ID followed by the counter. Algorithms: 0000 2-key TDES, 0001 3-key TDES, 0002 AES-128,
0003 AES-192, 0004 AES-256. Usages: see :class:`KeyUsage`. The host walks the counter's set bits
from the top (intermediate derivation keys, usage 8000) and derives the working key from the
last one. The device (:class:`AesDukptDevice`) keeps 32 registers, skips counters with more than
16 one bits and stops after ``FFFF0000``.

Working-key conventions used by poskit: PIN blocks are ISO 9564 format 4 under the
PIN-encryption key; request MACs are AES-CMAC under the MAC-generation key (the host derives the
same key to verify); response MACs use the MAC-verification usage.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Literal

from poskit.crypto._dukpt_state import FutureKeyRegisters, chain_key
from poskit.crypto._engine import BlockCipher
from poskit.crypto.errors import InputError

__all__ = [
    "COUNTER_BITS",
    "MAX_ONE_BITS",
    "AesDukptDevice",
    "KeyType",
    "KeyUsage",
    "derive_initial_key",
    "derive_intermediate_key",
    "derive_working_key",
    "ksn_counter",
    "ksn_initial_key_id",
    "ksn_with_counter",
    "working_key_from_intermediate",
]

COUNTER_BITS = 32
MAX_ONE_BITS = 16

KeyType = Literal["TDES2", "TDES3", "AES128", "AES192", "AES256"]

# algorithm indicator, length in bits
_KEY_TYPES: dict[str, tuple[int, int]] = {
    "TDES2": (0x0000, 128),
    "TDES3": (0x0001, 192),
    "AES128": (0x0002, 128),
    "AES192": (0x0003, 192),
    "AES256": (0x0004, 256),
}
_AES_TYPE_BY_LENGTH: dict[int, KeyType] = {16: "AES128", 24: "AES192", 32: "AES256"}


class KeyUsage(enum.IntEnum):
    """Key usage indicators of X9.24-3 derivation data."""

    KEY_ENCRYPTION = 0x0002
    PIN_ENCRYPTION = 0x1000
    MAC_GENERATION = 0x2000
    MAC_VERIFICATION = 0x2001
    MAC_BOTH = 0x2002
    DATA_ENCRYPT = 0x3000
    DATA_DECRYPT = 0x3001
    DATA_BOTH = 0x3002
    KEY_DERIVATION = 0x8000
    KEY_DERIVATION_INITIAL = 0x8001


def _key_type_of(key: bytes, argument: str) -> KeyType:
    try:
        return _AES_TYPE_BY_LENGTH[len(key)]
    except KeyError:
        raise InputError(argument, f"{len(key)} bytes, expected an AES key of 16, 24 or 32 bytes") from None


def _check_ksn(ksn: bytes) -> None:
    if len(ksn) != 12:
        raise InputError("ksn", f"{len(ksn)} bytes, expected a 12-byte AES DUKPT KSN")


def ksn_initial_key_id(ksn: bytes) -> bytes:
    """The 8-byte initial key ID of a KSN."""
    _check_ksn(ksn)
    return ksn[:8]


def ksn_counter(ksn: bytes) -> int:
    """The 32-bit transaction counter of a KSN."""
    _check_ksn(ksn)
    return int.from_bytes(ksn[8:], "big")


def ksn_with_counter(ksn: bytes, counter: int) -> bytes:
    """``ksn`` with its transaction counter replaced by ``counter``."""
    if not 0 <= counter <= 0xFFFFFFFF:
        raise InputError("counter", f"{counter:#x} does not fit 32 bits")
    return ksn_initial_key_id(ksn) + counter.to_bytes(4, "big")


def _derive(key: bytes, usage: int, key_type: KeyType, tail: bytes) -> bytes:
    algorithm, bits = _KEY_TYPES[key_type]
    blocks = (bits + 127) // 128
    head = usage.to_bytes(2, "big") + algorithm.to_bytes(2, "big") + bits.to_bytes(2, "big")
    data = b"".join(bytes((1, i)) + head + tail for i in range(1, blocks + 1))
    return BlockCipher(key, "AES").encrypt(data)[: bits // 8]


def derive_initial_key(bdk: bytes, initial_key_id: bytes) -> bytes:
    """The device's initial key from the BDK and its 8-byte initial key ID."""
    if len(initial_key_id) != 8:
        raise InputError("initial_key_id", f"{len(initial_key_id)} bytes, expected 8")
    key_type = _key_type_of(bdk, "bdk")
    return _derive(bdk, KeyUsage.KEY_DERIVATION_INITIAL, key_type, initial_key_id)


def _deriver(initial_key_id: bytes, key_type: KeyType) -> Callable[[bytes, int], bytes]:
    derivation_id = initial_key_id[4:]

    def derive(parent: bytes, counter: int) -> bytes:
        tail = derivation_id + counter.to_bytes(4, "big")
        return _derive(parent, KeyUsage.KEY_DERIVATION, key_type, tail)

    return derive


def derive_intermediate_key(key: bytes, ksn: bytes, *, source: Literal["bdk", "initial"] = "bdk") -> bytes:
    """The intermediate derivation key for ``ksn`` (from the BDK or the initial key)."""
    ikid = ksn_initial_key_id(ksn)
    key_type = _key_type_of(key, source)
    initial = derive_initial_key(key, ikid) if source == "bdk" else key
    return chain_key(initial, ksn_counter(ksn), COUNTER_BITS, _deriver(ikid, key_type))


def _check_strength(derivation_key: bytes, key_type: KeyType) -> None:
    # X9.24-3 forbids working keys stronger than the key they come from.
    strength = {"TDES2": 112, "TDES3": 112, "AES128": 128, "AES192": 192, "AES256": 256}
    if strength[key_type] > 8 * len(derivation_key):
        raise InputError("key_type", f"{key_type} is stronger than the {8 * len(derivation_key)}-bit BDK")


def working_key_from_intermediate(
    intermediate_key: bytes, ksn: bytes, usage: KeyUsage, key_type: KeyType = "AES128"
) -> bytes:
    """The working key of ``usage`` and ``key_type`` from an intermediate derivation key."""
    if key_type not in _KEY_TYPES:
        raise InputError("key_type", f"{key_type!r} is not a DUKPT key type")
    _key_type_of(intermediate_key, "intermediate_key")
    _check_strength(intermediate_key, key_type)
    ikid = ksn_initial_key_id(ksn)
    return _derive(intermediate_key, usage, key_type, ikid[4:] + ksn[8:])


def derive_working_key(
    key: bytes,
    ksn: bytes,
    usage: KeyUsage,
    key_type: KeyType = "AES128",
    *,
    source: Literal["bdk", "initial"] = "bdk",
) -> bytes:
    """The working key for ``ksn`` from the BDK (default) or the device's initial key."""
    intermediate = derive_intermediate_key(key, ksn, source=source)
    return working_key_from_intermediate(intermediate, ksn, usage, key_type)


class AesDukptDevice:
    """The originating device (PIN pad) side of AES DUKPT.

    :meth:`use` returns the KSN and intermediate derivation key of the next transaction (derive
    working keys with :func:`working_key_from_intermediate`) and advances the counter.
    """

    __slots__ = ("_ksn", "_state")

    _MAGIC = b"PKA1"

    def __init__(self, ksn: bytes, state: FutureKeyRegisters) -> None:
        self._ksn = ksn
        self._state = state

    def __repr__(self) -> str:
        return f"AesDukptDevice(ksn={self.ksn.hex().upper()})"

    @classmethod
    def from_initial_key(cls, initial_key: bytes, ksn: bytes) -> AesDukptDevice:
        """Load the initial key for ``ksn``; a non-zero counter resumes at that counter."""
        key_type = _key_type_of(initial_key, "initial_key")
        ikid = ksn_initial_key_id(ksn)
        state = FutureKeyRegisters.at_counter(
            initial_key,
            ksn_counter(ksn),
            scheme="AES",
            width=COUNTER_BITS,
            max_ones=MAX_ONE_BITS,
            derive=_deriver(ikid, key_type),
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
        """The next transaction's KSN and intermediate derivation key; the device moves on."""
        counter, key = self._state.current()
        self._state.advance()
        return ksn_with_counter(self._ksn, counter), key

    def to_bytes(self) -> bytes:
        """Serialised state (magic, key length, KSN, registers). Contains clear keys."""
        key_len = next((len(k) for k in self._state.registers if k is not None), 16)
        return self._MAGIC + bytes((key_len,)) + self._ksn + self._state.dump()

    @classmethod
    def from_bytes(cls, data: bytes) -> AesDukptDevice:
        """Rebuild a device from :meth:`to_bytes` output."""
        if data[:4] != cls._MAGIC or len(data) < 17 or data[4] not in _AES_TYPE_BY_LENGTH:
            raise InputError("state", "not an AES DUKPT device state")
        key_len = data[4]
        ksn = data[5:17]
        state = FutureKeyRegisters.load(
            data[17:],
            key_length=key_len,
            scheme="AES",
            width=COUNTER_BITS,
            max_ones=MAX_ONE_BITS,
            derive=_deriver(ksn[:8], _AES_TYPE_BY_LENGTH[key_len]),
        )
        return cls(ksn, state)
