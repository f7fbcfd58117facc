"""The key usages the software HSM knows, and what each one may be used for.

Usages and modes of use are TR-31 / ANSI X9.143 values. The table below is poskit's policy:

=====  ==========================================  ================  =========  =======
usage  meaning                                     algorithms        modes      default
=====  ==========================================  ================  =========  =======
B0     base derivation key (DUKPT BDK)             TDES, AES         X          X
B1     DUKPT initial key (IPEK / IK)               TDES, AES         X          X
C0     card verification key (CVV, CVV2, iCVV)     TDES              C G V      C
D0     data encryption (track data, PANs at rest)  TDES, AES, SM4    B E D      B
E0     EMV issuer master key: cryptograms          TDES              X          X
E1     EMV issuer master key: SM confidentiality   TDES              X          X
E2     EMV issuer master key: SM integrity         TDES              X          X
E6     EMV issuer master key: other (dCVV)         TDES              X          X
K0     key encryption key (TMK, ZMK)               TDES, AES, SM4    B E D      B
K1     TR-31 key block protection key              TDES, AES         B E D      B
M0     MAC key, ISO 16609 (TDES)                   TDES, SM4         C G V      C
M1     MAC key, ISO 9797-1 algorithm 1             TDES, SM4         C G V      C
M3     MAC key, ISO 9797-1 algorithm 3 (X9.19)     TDES, SM4         C G V      C
M6     MAC key, CMAC (ISO 9797-1:2011 alg. 5)      TDES, AES         C G V      C
M7     HMAC key (keyed PAN fingerprints)           HMAC              C G V      C
P0     PIN encryption (TPK, ZPK, PIK)              TDES, AES         B E D      B
V1     PIN verification key, IBM 3624              TDES              C G V      C
V2     PIN verification key, Visa PVV              TDES              C G V      C
=====  ==========================================  ================  =========  =======

Modes: B encrypt and decrypt, E encrypt only, D decrypt only, C generate and verify, G generate
only, V verify only, X key derivation only. M0, M1 and M3 form one family of block-cipher MAC
keys: UnionPay terminals apply the ECB MAC or X9.19 with the same MAK, so the MAC algorithm is
chosen per call and must fit the key's algorithm. SM4 is written ``4`` in key block headers
(TR-31 reserves numeric values for proprietary use).

Other rules of :class:`~poskit.crypto.hsm.SoftHSM`: the MAC algorithm ``cmac`` needs an M6 key,
``cups-ecb``/``x919``/``iso9797-1`` a TDES M0/M1/M3 key, ``sm4-ecb`` an SM4 one. ECB import and
export under a KEK need K0; TR-31 import/export K0 or K1. Keys marked exportable (``E``) or
sensitive (``S``) may leave the HSM under a KEK, as TR-31 or by transfer to another HSM; ``N``
keys never do (LMK re-wrapping is not an export). ARQC/ARPC need E0; dCVV E0 or E6; DUKPT host
operations a B0 BDK; a DUKPT PIN pad loads only a B1 initial key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from poskit.crypto.errors import InputError

__all__ = [
    "ALGORITHM_CODES",
    "USAGES",
    "Algorithm",
    "UsagePolicy",
    "algorithm_from_code",
    "check_key_length",
    "describe_usage",
]

Algorithm = Literal["TDES", "AES", "SM4", "HMAC"]

ALGORITHM_CODES: dict[str, str] = {"TDES": "T", "AES": "A", "SM4": "4", "HMAC": "H"}
_FROM_CODE: dict[str, Algorithm] = {"T": "TDES", "D": "TDES", "A": "AES", "4": "SM4", "H": "HMAC"}

_LENGTHS: dict[str, tuple[int, ...]] = {
    "TDES": (8, 16, 24),
    "AES": (16, 24, 32),
    "SM4": (16,),
    "HMAC": tuple(range(16, 65)),
}


@dataclass(frozen=True)
class UsagePolicy:
    """What a key usage allows."""

    usage: str
    meaning: str
    algorithms: frozenset[str]
    modes: frozenset[str]
    default_mode: str


def _p(usage: str, meaning: str, algorithms: str, modes: str, default: str) -> UsagePolicy:
    return UsagePolicy(usage, meaning, frozenset(algorithms.split()), frozenset(modes), default)


USAGES: dict[str, UsagePolicy] = {
    p.usage: p
    for p in (
        _p("B0", "base derivation key", "TDES AES", "X", "X"),
        _p("B1", "DUKPT initial key", "TDES AES", "X", "X"),
        _p("C0", "card verification key", "TDES", "CGV", "C"),
        _p("D0", "data encryption key", "TDES AES SM4", "BED", "B"),
        _p("E0", "EMV issuer master key for cryptograms", "TDES", "X", "X"),
        _p("E1", "EMV issuer master key for SM confidentiality", "TDES", "X", "X"),
        _p("E2", "EMV issuer master key for SM integrity", "TDES", "X", "X"),
        _p("E6", "EMV issuer master key, other", "TDES", "X", "X"),
        _p("K0", "key encryption key", "TDES AES SM4", "BED", "B"),
        _p("K1", "TR-31 key block protection key", "TDES AES", "BED", "B"),
        _p("M0", "ISO 16609 MAC key", "TDES SM4", "CGV", "C"),
        _p("M1", "ISO 9797-1 algorithm 1 MAC key", "TDES SM4", "CGV", "C"),
        _p("M3", "ISO 9797-1 algorithm 3 (X9.19) MAC key", "TDES SM4", "CGV", "C"),
        _p("M6", "CMAC key", "TDES AES", "CGV", "C"),
        _p("M7", "HMAC key", "HMAC", "CGV", "C"),
        _p("P0", "PIN encryption key", "TDES AES", "BED", "B"),
        _p("V1", "IBM 3624 PIN verification key", "TDES", "CGV", "C"),
        _p("V2", "Visa PVV PIN verification key", "TDES", "CGV", "C"),
    )
}


def describe_usage(usage: str) -> str:
    """``"P0 (PIN encryption key)"``, or the bare code for an unknown usage."""
    policy = USAGES.get(usage)
    return f"{usage} ({policy.meaning})" if policy else usage


def algorithm_from_code(code: str) -> Algorithm:
    """The algorithm name of a key block algorithm code (T, D, A, 4, H)."""
    try:
        return _FROM_CODE[code]
    except KeyError:
        raise InputError("algorithm", f"key block algorithm {code!r} is not supported") from None


def check_key_length(algorithm: str, length: int, argument: str = "length") -> None:
    """Raise :class:`InputError` if ``length`` bytes is not a valid key for ``algorithm``."""
    allowed = _LENGTHS.get(algorithm)
    if allowed is None:
        raise InputError("algorithm", f"{algorithm!r}, expected TDES, AES, SM4 or HMAC")
    if length not in allowed:
        shown = "16 to 64" if algorithm == "HMAC" else ", ".join(str(n) for n in allowed)
        raise InputError(argument, f"{length} bytes is not a {algorithm} key ({shown})")
