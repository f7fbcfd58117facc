"""Offline PIN data for VERIFY (EMV Book 3 §6.5.12, Book 2 §7).

* Plaintext PIN block (VERIFY P2=80): ``2N PPPP...`` padded with ``F`` to 8 bytes
  (control nibble 2, PIN length N, 4-12 digits).
* Enciphered PIN (VERIFY P2=88): ``7F || PIN block || ICC unpredictable number (from GET
  CHALLENGE) || random padding`` as long as the ICC (PIN encipherment) key modulus,
  enciphered with the card's public key. Only the card can decipher it.

In poskit the PIN digits go from the terminal's PIN pad straight into these blocks; the
kernel never stores them (this models the secure PIN-pad-to-card path).
"""

from __future__ import annotations

from collections.abc import Callable

from poskit.emv.certificates import RsaPrivateKey, RsaPublicKey, rsa_private, rsa_public

__all__ = [
    "OfflinePinError",
    "decipher_pin",
    "encipher_pin",
    "parse_plaintext_pin_block",
    "plaintext_pin_block",
]


class OfflinePinError(ValueError):
    """Malformed PIN or PIN block (the reason never contains PIN digits)."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"offline PIN: {reason}")
        self.reason = reason


def plaintext_pin_block(pin: str) -> bytes:
    if not pin.isdigit() or not 4 <= len(pin) <= 12:
        raise OfflinePinError(f"a PIN is 4 to 12 digits, got {len(pin)} characters")
    text = f"2{len(pin):X}{pin}".ljust(16, "F")
    return bytes.fromhex(text)


def parse_plaintext_pin_block(block: bytes) -> str:
    if len(block) != 8:
        raise OfflinePinError(f"PIN block of {len(block)} bytes, expected 8")
    text = block.hex().upper()
    if text[0] != "2":
        raise OfflinePinError(f"control field {text[0]}, expected 2")
    length = int(text[1], 16)
    if not 4 <= length <= 12:
        raise OfflinePinError(f"PIN length {length} outside 4-12")
    pin, pad = text[2 : 2 + length], text[2 + length :]
    if not pin.isdigit() or set(pad) - {"F"}:
        raise OfflinePinError("PIN digits or F padding malformed")
    return pin


def encipher_pin(pin: str, challenge: bytes, icc_key: RsaPublicKey, random: Callable[[int], bytes]) -> bytes:
    """The VERIFY P2=88 data: the PIN block enciphered under the ICC (PIN encipherment) key."""
    if len(challenge) != 8:
        raise OfflinePinError(f"ICC unpredictable number of {len(challenge)} bytes, expected 8")
    n = icc_key.length
    block = b"\x7f" + plaintext_pin_block(pin) + challenge + random(n - 17)
    return rsa_public(block, icc_key)


def decipher_pin(data: bytes, icc: RsaPrivateKey, challenge: bytes) -> str:
    """Card side: decipher VERIFY P2=88 data and check the header and the challenge."""
    if len(data) != icc.public.length:
        raise OfflinePinError(f"{len(data)} bytes, the ICC key modulus is {icc.public.length}")
    block = rsa_private(data, icc)
    if block[0] != 0x7F:
        raise OfflinePinError("deciphered data header is not 7F")
    if block[9:17] != challenge:
        raise OfflinePinError("ICC unpredictable number does not match the last GET CHALLENGE")
    return parse_plaintext_pin_block(block[1:9])
