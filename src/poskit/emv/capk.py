"""Certification authority public keys (CAPK) held by the terminal (EMV Book 2 §11.2).

The terminal looks a key up by the RID (first five bytes of the AID) and the CA public key
index the card names in tag ``8F``. A TMS downloads the real list; poskit ships one
**public test** key, the test certification authority that signs the issuer certificates
of the test-card book (its private half is in ``poskit/cards/icc/data/test_ca_f1.pem``).
It is registered under index ``F1`` for each scheme RID used by the card book. Never load
it on a terminal that reads real cards.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable, Iterator, Mapping

from poskit.emv.certificates import RsaPublicKey

__all__ = [
    "RID_BRANDS",
    "RID_MASTERCARD",
    "RID_UNIONPAY",
    "RID_VERVE",
    "RID_VISA",
    "TEST_CA_EXPONENT",
    "TEST_CA_INDEX",
    "TEST_CA_MODULUS",
    "CaKeyStore",
    "CaPublicKey",
    "CapkError",
    "load_test_ca_store",
]

RID_UNIONPAY = "A000000333"
RID_VISA = "A000000003"
RID_MASTERCARD = "A000000004"
RID_VERVE = "A000000371"

#: RID -> card brand (the scheme name used by :mod:`poskit.cards.bins`).
RID_BRANDS: Mapping[str, str] = {
    RID_UNIONPAY: "unionpay",
    RID_VISA: "visa",
    RID_MASTERCARD: "mastercard",
    RID_VERVE: "verve",
    "A000000025": "amex",
    "A000000065": "jcb",
}

TEST_CA_INDEX = 0xF1
TEST_CA_EXPONENT = 3
#: 1408-bit modulus of poskit's public test CA (published test data, like the test PANs).
TEST_CA_MODULUS = int(
    "B7D815319BC84D620AD29B62B66AF347A845091396BFB52E205A62956C92713B"
    "DEFA0B344499241BBAD8129C713ED0058E9078B6D663BAD599E1998FD149DD7F"
    "F6B986D3D0912F434E333E3361BB28BA591B5D3933A409DD66D604DF9883EF15"
    "C81970601757456CD3D9FD31E261BC9B32911FA14E9F89EDECE709687C982B8D"
    "3EB5B28DBE1521E19BDCD1EDA064591E01BBEC43B60DE23420A5196F2E5C8964"
    "162F1BD13FD197378A9006D210CCF2CD",
    16,
)


class CapkError(ValueError):
    """A CA public key entry that is malformed or fails its checksum."""

    def __init__(self, rid: str, index: int, reason: str) -> None:
        super().__init__(f"CA public key {rid}/{index:02X}: {reason}")
        self.rid = rid
        self.index = index
        self.reason = reason


@dataclasses.dataclass(frozen=True, slots=True)
class CaPublicKey:
    rid: str  # 10 hex digits
    index: int
    key: RsaPublicKey
    expiry: str = "311231"  # YYMMDD

    def __post_init__(self) -> None:
        if len(self.rid) != 10:
            raise CapkError(self.rid, self.index, "RID must be 10 hex digits")

    @property
    def checksum(self) -> bytes:
        """SHA-1 over RID || index || modulus || exponent, as TMS CAPK files carry it."""
        data = (
            bytes.fromhex(self.rid) + bytes([self.index]) + self.key.modulus_bytes + self.key.exponent_bytes
        )
        return hashlib.sha1(data, usedforsecurity=False).digest()

    def verify_checksum(self, checksum: bytes) -> None:
        if checksum != self.checksum:
            raise CapkError(self.rid, self.index, "checksum does not match the key")


class CaKeyStore(Mapping[tuple[str, int], CaPublicKey]):
    """CA public keys by (RID, index)."""

    def __init__(self, keys: Iterable[CaPublicKey] = ()) -> None:
        self._keys: dict[tuple[str, int], CaPublicKey] = {}
        for key in keys:
            self.add(key)

    def add(self, key: CaPublicKey) -> None:
        self._keys[(key.rid.upper(), key.index)] = key

    def lookup(self, rid: str, index: int) -> CaPublicKey | None:
        return self._keys.get((rid.upper(), index))

    def __getitem__(self, item: tuple[str, int]) -> CaPublicKey:
        return self._keys[(item[0].upper(), item[1])]

    def __iter__(self) -> Iterator[tuple[str, int]]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def __repr__(self) -> str:
        names = ", ".join(f"{rid}/{index:02X}" for rid, index in self._keys)
        return f"CaKeyStore({names})"


def load_test_ca_store() -> CaKeyStore:
    """The public test CA key under index F1 for the UnionPay, Visa, Mastercard and Verve RIDs."""
    key = RsaPublicKey(TEST_CA_MODULUS, TEST_CA_EXPONENT)
    return CaKeyStore(
        CaPublicKey(rid, TEST_CA_INDEX, key) for rid in (RID_UNIONPAY, RID_VISA, RID_MASTERCARD, RID_VERVE)
    )
