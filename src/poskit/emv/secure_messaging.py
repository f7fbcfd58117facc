"""Secure messaging for issuer script commands (EMV Book 2 §9, format 1 style).

An issuer script command (class ``84``) carries a MAC as its last 8 bytes:

    MAC = ISO 9797-1 alg. 3, padding method 2, under SK_SMI, over
          CLA INS P1 P2 Lc || ATC || Application Cryptogram (the ARQC) || command data

where Lc counts the data and the MAC, ATC and ARQC are those of the current transaction
(the card only accepts a script for the transaction it is in), and SK_SMI is the common
session key derived with the ATC from the card's ``MK-SMI`` (itself derived from
``IMK-SMI`` by option A). PIN CHANGE data is the new PIN as an ISO 9564 format 2 block
enciphered with TDES-ECB under SK_SMC (derived the same way from ``IMK-SMC``).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable

from poskit.crypto.des import decrypt_tdes_ecb, encrypt_tdes_ecb
from poskit.crypto.emv import derive_session_key, generate_ac
from poskit.emv.apdu import Apdu
from poskit.emv.offline_pin import parse_plaintext_pin_block, plaintext_pin_block

__all__ = [
    "INS_APPLICATION_BLOCK",
    "INS_APPLICATION_UNBLOCK",
    "INS_CARD_BLOCK",
    "INS_PIN_CHANGE_UNBLOCK",
    "INS_PUT_DATA",
    "MAC_LENGTH",
    "SCRIPT_CLA",
    "check_script_mac",
    "decipher_new_pin",
    "encipher_new_pin",
    "script_command",
    "script_command_with_mac",
    "script_mac",
    "script_mac_input",
    "sm_session_key",
]

MAC_LENGTH = 8
SCRIPT_CLA = 0x84
INS_APPLICATION_BLOCK = 0x1E
INS_APPLICATION_UNBLOCK = 0x18
INS_CARD_BLOCK = 0x16
INS_PIN_CHANGE_UNBLOCK = 0x24
INS_PUT_DATA = 0xDA


def sm_session_key(icc_sm_master_key: bytes, atc: bytes) -> bytes:
    """SK_SMI or SK_SMC for this ATC (common session key derivation)."""
    return derive_session_key(icc_sm_master_key, atc, method="common")


def script_mac_input(*, cla: int, ins: int, p1: int, p2: int, data: bytes, atc: bytes, arqc: bytes) -> bytes:
    """What the script MAC covers: the command header (Lc includes the MAC), ATC, ARQC, data."""
    lc = len(data) + MAC_LENGTH
    return bytes([cla, ins, p1, p2, lc]) + atc + arqc + data


def script_mac(
    session_key: bytes, *, cla: int, ins: int, p1: int, p2: int, data: bytes, atc: bytes, arqc: bytes
) -> bytes:
    mac_input = script_mac_input(cla=cla, ins=ins, p1=p1, p2=p2, data=data, atc=atc, arqc=arqc)
    return generate_ac(session_key, mac_input)[:MAC_LENGTH]


def script_command_with_mac(
    ins: int,
    p1: int,
    p2: int,
    data: bytes,
    *,
    mac: Callable[[bytes], bytes],
    atc: bytes,
    arqc: bytes,
    cla: int = SCRIPT_CLA,
) -> bytes:
    """A script command whose MAC is computed by ``mac`` (e.g. the host's HSM) over the MAC input."""
    value = mac(script_mac_input(cla=cla, ins=ins, p1=p1, p2=p2, data=data, atc=atc, arqc=arqc))[:MAC_LENGTH]
    return Apdu(cla, ins, p1, p2, data + value).to_bytes()


def script_command(
    ins: int,
    p1: int,
    p2: int,
    data: bytes,
    *,
    session_key: bytes,
    atc: bytes,
    arqc: bytes,
    cla: int = SCRIPT_CLA,
) -> bytes:
    """A complete script command APDU (for tag 86) with its MAC appended."""
    mac = script_mac(session_key, cla=cla, ins=ins, p1=p1, p2=p2, data=data, atc=atc, arqc=arqc)
    return Apdu(cla, ins, p1, p2, data + mac).to_bytes()


def check_script_mac(apdu: Apdu, *, session_key: bytes, atc: bytes, arqc: bytes) -> bytes | None:
    """Card side: the command data without the MAC if the MAC is right, else None."""
    if len(apdu.data) < MAC_LENGTH:
        return None
    data, mac = apdu.data[:-MAC_LENGTH], apdu.data[-MAC_LENGTH:]
    expected = script_mac(
        session_key, cla=apdu.cla, ins=apdu.ins, p1=apdu.p1, p2=apdu.p2, data=data, atc=atc, arqc=arqc
    )
    return data if hmac.compare_digest(mac, expected) else None


def encipher_new_pin(smc_session_key: bytes, pin: str) -> bytes:
    return encrypt_tdes_ecb(smc_session_key, plaintext_pin_block(pin))


def decipher_new_pin(smc_session_key: bytes, data: bytes) -> str:
    return parse_plaintext_pin_block(decrypt_tdes_ecb(smc_session_key, data))
