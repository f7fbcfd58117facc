"""Issuer script secure messaging: the MAC matches pyemv's command MAC."""

from __future__ import annotations

from pyemv import sm as pyemv_sm

from poskit.emv.apdu import Apdu
from poskit.emv.secure_messaging import (
    check_script_mac,
    decipher_new_pin,
    encipher_new_pin,
    script_command,
    script_mac,
)

SK = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
ATC = b"\x00\x05"
ARQC = bytes.fromhex("1122334455667788")


def test_mac_matches_pyemv() -> None:
    """MAC over header || ATC || ARQC || data equals pyemv.sm.generate_command_mac."""
    mac = script_mac(SK, cla=0x84, ins=0x24, p1=0, p2=0, data=b"", atc=ATC, arqc=ARQC)
    oracle = pyemv_sm.generate_command_mac(SK, bytes([0x84, 0x24, 0, 0, 8]) + ATC + ARQC)
    assert mac == oracle


def test_command_and_check() -> None:
    """A built command passes the card's check; a changed byte does not."""
    raw = script_command(0xDA, 0x9F, 0x14, b"\x05", session_key=SK, atc=ATC, arqc=ARQC)
    apdu = Apdu.parse(raw)
    assert apdu.cla == 0x84 and len(apdu.data) == 9
    assert check_script_mac(apdu, session_key=SK, atc=ATC, arqc=ARQC) == b"\x05"
    bad = Apdu(apdu.cla, apdu.ins, apdu.p1, apdu.p2, b"\x06" + apdu.data[1:])
    assert check_script_mac(bad, session_key=SK, atc=ATC, arqc=ARQC) is None
    assert check_script_mac(apdu, session_key=SK, atc=b"\x00\x06", arqc=ARQC) is None


def test_new_pin_encipherment() -> None:
    """The new PIN block round-trips under the SMC session key."""
    data = encipher_new_pin(SK, "2468")
    assert len(data) == 8
    assert decipher_new_pin(SK, data) == "2468"
