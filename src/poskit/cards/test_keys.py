"""Published TEST issuer keys that personalise poskit's test-card book.

These values are public test data, exactly like the test PANs: anyone can compute
the cards' PVVs, CVVs and chip cryptograms from them. They exist so that the card
book is the same on every machine. The host's issuer simulator imports them into
its HSM once (as LMK-wrapped key blocks); no production system may ever use them.
"""

from __future__ import annotations

__all__ = [
    "TEST_CVK",
    "TEST_CVKS",
    "TEST_IMK_AC",
    "TEST_IMK_SMC",
    "TEST_IMK_SMI",
    "TEST_PVKI",
    "TEST_PVK_IBM3624",
    "TEST_PVK_VISA",
    "cvk_range",
]

#: Visa PVV generation key (double-length TDES, odd parity).
TEST_PVK_VISA = bytes.fromhex("58D691FBF7E5DA0725CB9D4C3D8C1CD9")
#: IBM 3624 PIN verification key.
TEST_PVK_IBM3624 = bytes.fromhex("7A076D020EF446B97902158923A2AE68")
#: Card verification key (CVK A || CVK B) of the default BIN range (the domestic cards).
TEST_CVK = bytes.fromhex("B63DB9945BC8A4F8B992FDAB6189D549")
#: CVK per BIN range (PAN prefix; "" is every other card), as issuers keep one per range.
TEST_CVKS = {
    "": TEST_CVK,
    "4": bytes.fromhex("0B26E9AE13983D43EF7F37671C9DE0BF"),
    "5": bytes.fromhex("269D628543E52F4A8A80FD8CF4EC6EBA"),
}
#: Issuer master key for application cryptograms (EMV option A derivation).
TEST_IMK_AC = bytes.fromhex("08231AC84A31BC8F7FF401F2E3613858")
#: Issuer master keys for secure messaging (integrity, confidentiality): issuer scripts.
TEST_IMK_SMI = bytes.fromhex("1A7CA273D6CD9EF7B5612FD9EF5E9E98")
TEST_IMK_SMC = bytes.fromhex("3837F4F1021CF7C137024032B576FB86")
#: PIN verification key index carried in track 2 discretionary data.
TEST_PVKI = "1"


def cvk_range(pan: str) -> str:
    """The BIN range (a key of :data:`TEST_CVKS`) whose CVK personalises ``pan``: longest prefix."""
    return max((r for r in TEST_CVKS if pan.startswith(r)), key=len)
