"""Each APDU command against the virtual card, with the status words real cards return."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from poskit.cards.icc import ATR, ApplicationState, CardState, VirtualCard, virtual_card
from poskit.cards.icc.keys import icc_key
from poskit.cards.icc.profiles import CDOL1
from poskit.cards.test_keys import TEST_IMK_AC, TEST_IMK_SMI
from poskit.crypto.emv import generate_ac
from poskit.emv import apdu, issuer
from poskit.emv.certificates import recover_dynamic_data
from poskit.emv.cryptogram import Cvr, IssuerApplicationData, arqc_input
from poskit.emv.dol import build_dol_data, split_dol_data
from poskit.emv.offline_pin import encipher_pin, plaintext_pin_block
from poskit.emv.tlv import decode, decode_flat, flatten
from poskit.emv.transport import IccTransportError

Session = Any

TERMINAL = {
    "9F02": bytes.fromhex("000000001000"),
    "9F03": bytes(6),
    "9F1A": bytes.fromhex("0156"),
    "95": bytes(5),
    "5F2A": bytes.fromhex("0156"),
    "9A": bytes.fromhex("250501"),
    "9C": b"\x00",
    "9F37": bytes.fromhex("CAFEBABE"),
    "9F35": b"\x22",
    "9F34": bytes.fromhex("1F0302"),
    "9F66": bytes.fromhex("34000080"),
    "8A": b"00",
}


def _ready(
    session: Callable[..., Session], card: str = "unionpay-debit", aid: str = "A000000333010101"
) -> Session:
    s = session(card)
    assert s.send(apdu.select(bytes.fromhex(aid))).ok
    assert s.send(apdu.get_processing_options(_pdol_data(s, aid))).ok
    return s


def _pdol_data(s: Session, aid: str) -> bytes:
    fci = decode_flat(s.send(apdu.select(bytes.fromhex(aid))).data)
    return build_dol_data(fci["9F38"], TERMINAL) if "9F38" in fci else b""


def _first_ac(s: Session, kind: str = "ARQC", *, cda: bool = False) -> dict[str, bytes]:
    response = s.send(apdu.generate_ac(kind, build_dol_data(CDOL1, TERMINAL), cda=cda))  # type: ignore[arg-type]
    assert response.ok, response.meaning
    item = decode(response.data)[0]
    if item.tag == "80":
        v = item.value
        return {"9F27": v[:1], "9F36": v[1:3], "9F26": v[3:11], "9F10": v[11:]}
    return flatten(item.children)


# SELECT -----------------------------------------------------------------------------------


def test_select_pse_and_directory(session: Callable[..., Session]) -> None:
    """The PSE FCI names the directory SFI; its record lists both applications."""
    s = session("unionpay-credit")
    assert s.atr == ATR
    response = s.send(apdu.select(b"1PAY.SYS.DDF01"))
    assert response.ok and decode_flat(response.data)["88"] == b"\x01"
    record = s.send(apdu.read_record(1, 1))
    aids = [flatten(e.children)["4F"].hex().upper() for e in decode(record.data)[0].children]
    assert aids == ["A000000333010101", "A000000333010102"]
    assert s.send(apdu.read_record(1, 2)).sw == 0x6A83


def test_select_ppse_only_contactless(session: Callable[..., Session]) -> None:
    """PPSE answers on the contactless interface; PSE only on the contact one."""
    s = session("unionpay-debit", "contactless")
    response = s.send(apdu.select(b"2PAY.SYS.DDF01"))
    assert response.ok and "BF0C" in {t.tag for t in decode(response.data)[0].children[1].children}
    assert s.send(apdu.select(b"1PAY.SYS.DDF01")).sw == 0x6A82
    assert session("unionpay-debit").send(apdu.select(b"2PAY.SYS.DDF01")).sw == 0x6A82
    assert session("quickpass-phone", "contactless").send(apdu.select(b"1PAY.SYS.DDF01")).sw == 0x6A82


def test_partial_selection(session: Callable[..., Session]) -> None:
    """A partial AID selects the first match, P2=02 the next, then 6A82."""
    s = session("unionpay-credit")
    rid = bytes.fromhex("A000000333")
    first = decode_flat(s.send(apdu.select(rid)).data)["84"]
    second = decode_flat(s.send(apdu.select(rid, next_occurrence=True)).data)["84"]
    assert (first.hex().upper(), second.hex().upper()) == ("A000000333010101", "A000000333010102")
    assert s.send(apdu.select(rid, next_occurrence=True)).sw == 0x6A82
    assert s.send(apdu.select(bytes.fromhex("A0000000031010"))).sw == 0x6A82
    assert s.send(apdu.Apdu(0, 0xA4, 0x00, 0x00, b"\x3f\x00")).sw == 0x6A86


def test_select_blocked(session: Callable[..., Session]) -> None:
    """A blocked application answers 6283 with its FCI; a blocked card 6A81."""
    card = virtual_card(
        "unionpay-debit", state=CardState({"A000000333010101": ApplicationState(blocked=True)})
    )
    response = session(card).send(apdu.select(bytes.fromhex("A000000333010101")))
    assert response.sw == 0x6283 and decode(response.data)[0].tag == "6F"
    card = virtual_card("unionpay-debit", state=CardState(card_blocked=True))
    assert session(card).send(apdu.select(b"1PAY.SYS.DDF01")).sw == 0x6A81


# GET PROCESSING OPTIONS -------------------------------------------------------------------


def test_gpo_formats(session: Callable[..., Session]) -> None:
    """Format 1 (80: AIP || AFL) and format 2 (77) responses; the ATC increases."""
    s = session("unionpay-debit")
    s.send(apdu.select(bytes.fromhex("A000000333010101")))
    response = s.send(apdu.get_processing_options(b""))
    item = decode(response.data)[0]
    assert item.tag == "80" and item.value[:2] == bytes.fromhex("7C00")
    s = session("unionpay-credit")
    s.send(apdu.select(bytes.fromhex("A000000333010102")))
    response = s.send(apdu.get_processing_options(_pdol_data(s, "A000000333010102")))
    values = decode_flat(response.data)
    assert values["82"] == bytes.fromhex("7D00") and len(values["94"]) == 12
    assert s.card.state.applications["A000000333010102"].atc == 1


def test_gpo_errors(session: Callable[..., Session]) -> None:
    """GPO without selection, twice, with a wrong PDOL length or a bad template fails."""
    s = session("unionpay-debit")
    assert s.send(apdu.get_processing_options(b"")).sw == 0x6985
    s.send(apdu.select(bytes.fromhex("A000000333010101")))
    assert s.send(apdu.get_processing_options(b"\x01")).sw == 0x6700
    assert s.send(apdu.Apdu(0x80, 0xA8, 0, 0, b"\x84\x00", le=0)).sw == 0x6A80
    assert s.send(apdu.Apdu(0x80, 0xA8, 1, 0, b"\x83\x00", le=0)).sw == 0x6A86
    assert s.send(apdu.get_processing_options(b"")).ok
    assert s.send(apdu.get_processing_options(b"")).sw == 0x6985


def test_quick_gpo_returns_arqc(session: Callable[..., Session]) -> None:
    """On contactless the GPO response carries the ARQC over the PDOL data."""
    s = session("unionpay-debit", "contactless")
    s.send(apdu.select(b"2PAY.SYS.DDF01"))
    pdol_data = _pdol_data(s, "A000000333010101")
    values = decode_flat(s.send(apdu.get_processing_options(pdol_data)).data)
    assert values["9F27"] == b"\x80" and values["9F6C"] == bytes.fromhex("8000")
    fci = decode_flat(s.send(apdu.select(bytes.fromhex("A000000333010101"))).data)
    tags = {**split_dol_data(fci["9F38"], pdol_data), **values}
    check = issuer.verify_arqc(imk_ac=TEST_IMK_AC, pan="6222021001123456789", psn="01", icc=tags)
    assert check.ok
    s = session("unionpay-debit", "contactless")
    s.send(apdu.select(bytes.fromhex("A000000333010101")))
    no_qpboc = build_dol_data(fci["9F38"], {**TERMINAL, "9F66": bytes(4)})
    assert s.send(apdu.get_processing_options(no_qpboc)).sw == 0x6985


# READ RECORD / GET DATA -------------------------------------------------------------------


def test_read_record(session: Callable[..., Session]) -> None:
    """Records answer as 70 templates; missing ones 6A83; bad P2 6A86."""
    s = _ready(session)
    record = s.send(apdu.read_record(2, 1))
    assert decode(record.data)[0].tag == "70"
    assert "5A" in decode_flat(record.data)
    assert s.send(apdu.read_record(2, 9)).sw == 0x6A83
    assert s.send(apdu.Apdu(0, 0xB2, 1, 0x10, le=0)).sw == 0x6A86


def test_get_data(session: Callable[..., Session]) -> None:
    """GET DATA gives ATC, PIN try counter, last online ATC and log format; else 6A88."""
    s = _ready(session)
    assert decode_flat(s.send(apdu.get_data("9F36")).data)["9F36"] == b"\x00\x01"
    assert decode_flat(s.send(apdu.get_data("9F17")).data)["9F17"] == b"\x03"
    assert decode_flat(s.send(apdu.get_data("9F13")).data)["9F13"] == b"\x00\x00"
    assert "9F4F" in decode_flat(s.send(apdu.get_data("9F4F")).data)
    assert s.send(apdu.get_data("9F99")).sw == 0x6A88


# VERIFY / GET CHALLENGE -------------------------------------------------------------------


def test_verify_plaintext_counts_down_and_blocks(session: Callable[..., Session]) -> None:
    """Wrong PINs give 63C2, 63C1, 63C0, then 6983; the right PIN resets the counter."""
    s = _ready(session, "mastercard-credit", "A0000000041010")
    assert s.send(apdu.verify(plaintext_pin_block("0000"), enciphered=False)).sw == 0x63C2
    assert s.send(apdu.verify(plaintext_pin_block("4321"), enciphered=False)).ok
    statuses = [s.send(apdu.verify(plaintext_pin_block("0000"), enciphered=False)).sw for _ in range(4)]
    assert statuses == [0x63C2, 0x63C1, 0x63C0, 0x6983]
    assert s.send(apdu.verify(plaintext_pin_block("4321"), enciphered=False)).sw == 0x6983
    assert s.send(apdu.verify(b"\x24\x12", enciphered=False)).sw == 0x6700
    assert s.send(apdu.Apdu(0, 0x20, 0, 0x81, plaintext_pin_block("1234"))).sw == 0x6A86


def test_verify_enciphered(session: Callable[..., Session]) -> None:
    """Enciphered PIN needs a fresh GET CHALLENGE; a reused challenge is refused (6984)."""
    s = _ready(session, "visa-credit", "A0000000031010")
    challenge = s.send(apdu.get_challenge()).data
    assert len(challenge) == 8
    data = encipher_pin("1234", challenge, icc_key().public, lambda n: b"\x11" * n)
    assert s.send(apdu.verify(data, enciphered=True)).ok
    assert s.send(apdu.verify(data, enciphered=True)).sw == 0x6984
    s.send(apdu.get_challenge())
    wrong = encipher_pin("1234", bytes(8), icc_key().public, lambda n: b"\x11" * n)
    assert s.send(apdu.verify(wrong, enciphered=True)).sw == 0x6984


def test_verify_before_gpo(session: Callable[..., Session]) -> None:
    """VERIFY before GET PROCESSING OPTIONS is not allowed."""
    s = session("visa-credit")
    s.send(apdu.select(bytes.fromhex("A0000000031010")))
    assert s.send(apdu.verify(plaintext_pin_block("1234"), enciphered=False)).sw == 0x6985


# INTERNAL AUTHENTICATE --------------------------------------------------------------------


def test_internal_authenticate(session: Callable[..., Session]) -> None:
    """The DDA signature covers the DDOL data and recovers with the ICC key."""
    s = _ready(session)
    response = s.send(apdu.internal_authenticate(b"\x01\x02\x03\x04"))
    sdad = decode(response.data)[0].value
    dynamic = recover_dynamic_data(sdad, icc_key().public, b"\x01\x02\x03\x04")
    assert dynamic[0] == 8
    assert s.send(apdu.internal_authenticate(b"\x01")).sw == 0x6700


# GENERATE AC ------------------------------------------------------------------------------


def test_first_ac_arqc_verifies(session: Callable[..., Session]) -> None:
    """An ARQC is computed over the CDOL1 data plus AIP, ATC and CVR (poskit CVN 01)."""
    s = _ready(session)
    values = _first_ac(s)
    assert values["9F27"] == b"\x80"
    tags = {**TERMINAL, "82": bytes.fromhex("7C00"), **values}
    sk = issuer.card_session_key(TEST_IMK_AC, "6222021001123456789", "01", values["9F36"])
    assert generate_ac(sk, arqc_input(tags)) == values["9F26"]
    cvr = IssuerApplicationData.parse(values["9F10"]).cvr
    assert Cvr.first_ac(cvr) == "ARQC" and Cvr.is_set(cvr, Cvr.NEW_CARD)


def test_card_risk_management(session: Callable[..., Session]) -> None:
    """TC requests: new or always-online cards answer ARQC, a known card within limits TC."""
    assert _first_ac(_ready(session), "TC")["9F27"] == b"\x80"  # no offline limits
    card = virtual_card(
        "visa-credit", state=CardState({"A0000000031010": ApplicationState(atc=10, last_online_atc=10)})
    )
    s = session(card)
    s.send(apdu.select(bytes.fromhex("A0000000031010")))
    s.send(apdu.get_processing_options(b""))
    assert _first_ac(s, "TC")["9F27"] == b"\x40"
    assert s.send(apdu.generate_ac("TC", build_dol_data(CDOL1, TERMINAL))).sw == 0x6985
    assert _first_ac(_ready(session), "AAC")["9F27"] == b"\x00"


def test_generate_ac_errors(session: Callable[..., Session]) -> None:
    """Wrong CDOL length 6700, bad P1 6A86, before GPO 6985."""
    s = session("unionpay-debit")
    s.send(apdu.select(bytes.fromhex("A000000333010101")))
    assert s.send(apdu.generate_ac("ARQC", bytes(43))).sw == 0x6985
    s.send(apdu.get_processing_options(b""))
    assert s.send(apdu.generate_ac("ARQC", bytes(5))).sw == 0x6700
    assert s.send(apdu.Apdu(0x80, 0xAE, 0xC0, 0, bytes(43), le=0)).sw == 0x6A86


def test_cda_response(session: Callable[..., Session]) -> None:
    """With CDA requested the card signs the cryptogram (9F4B) instead of returning 9F26."""
    s = _ready(session, "mastercard-credit", "A0000000041010")
    values = _first_ac(s, cda=True)
    assert "9F4B" in values and "9F26" not in values


def test_second_ac_with_external_authenticate(session: Callable[..., Session]) -> None:
    """EXTERNAL AUTHENTICATE with the right ARPC, then a TC; the last online ATC moves."""
    s = _ready(session)
    values = _first_ac(s)
    data = issuer.issuer_authentication_data(
        imk_ac=TEST_IMK_AC,
        pan="6222021001123456789",
        psn="01",
        atc=values["9F36"],
        arqc=values["9F26"],
        response_code="00",
    )
    assert s.send(apdu.external_authenticate(data)).ok
    assert s.send(apdu.external_authenticate(data)).sw == 0x6985
    cdol2 = decode_flat(s.send(apdu.read_record(2, 1)).data)["8D"]
    response = s.send(apdu.generate_ac("TC", build_dol_data(cdol2, TERMINAL)))
    assert decode(response.data)[0].value[0] == 0x40
    assert s.card.state.applications["A000000333010101"].last_online_atc == 1
    assert s.send(apdu.generate_ac("TC", bytes(29))).sw == 0x6985


def test_external_authenticate_failure(session: Callable[..., Session]) -> None:
    """A wrong ARPC gives 6300; bad lengths 6700; before an ARQC 6985."""
    s = _ready(session)
    assert s.send(apdu.external_authenticate(bytes(10))).sw == 0x6985
    _first_ac(s)
    assert s.send(apdu.external_authenticate(bytes(4))).sw == 0x6700
    assert s.send(apdu.external_authenticate(bytes(10))).sw == 0x6300


# issuer scripts ----------------------------------------------------------------------------


def test_script_commands_need_a_valid_mac(session: Callable[..., Session]) -> None:
    """A PIN unblock with the right MAC resets the try counter; a wrong MAC gives 6982."""
    card = virtual_card("visa-credit", state=CardState({"A0000000031010": ApplicationState(pin_tries=0)}))
    s = session(card)
    s.send(apdu.select(bytes.fromhex("A0000000031010")))
    s.send(apdu.get_processing_options(b""))
    unblock_before = issuer.pin_unblock_command(
        imk_smi=TEST_IMK_SMI, pan="4761739001010010", psn="01", atc=b"\x00\x01", arqc=bytes(8)
    )
    assert s.send(unblock_before).sw == 0x6985  # no ARQC yet
    values = _first_ac(s)
    bad = issuer.pin_unblock_command(
        imk_smi=TEST_IMK_SMI, pan="4761739001010010", psn="01", atc=values["9F36"], arqc=bytes(8)
    )
    assert s.send(bad).sw == 0x6982
    good = issuer.pin_unblock_command(
        imk_smi=TEST_IMK_SMI, pan="4761739001010010", psn="01", atc=values["9F36"], arqc=values["9F26"]
    )
    assert s.send(good).ok
    assert card.state.applications["A0000000031010"].pin_tries == 3


def test_unknown_class_and_instruction(session: Callable[..., Session]) -> None:
    """Unknown instructions give 6D00, known ones with a wrong class 6E00, short APDUs 6700."""
    s = session("unionpay-debit")
    assert s.send(bytes.fromhex("00FF000000")).sw == 0x6D00
    assert s.send(bytes.fromhex("A0A4040000")).sw == 0x6E00
    assert s.send(bytes.fromhex("80B2010C00")).sw == 0x6E00
    assert s.send(bytes.fromhex("00A4")).sw == 0x6700


# power and state --------------------------------------------------------------------------


def test_power_and_state_round_trip() -> None:
    """State survives JSON; an unpowered card and a missing interface raise transport errors."""
    card = virtual_card("unionpay-debit")
    with pytest.raises(IccTransportError):
        card.transmit(bytes.fromhex("00A4040000"))
    card.state.applications["A000000333010101"].atc = 7
    restored = CardState.from_json(card.state.to_json())
    assert restored.applications["A000000333010101"].atc == 7
    assert "atc" not in repr(restored)
    again = VirtualCard(card.image, restored)
    assert again.state.applications["A000000333010101"].atc == 7
    with pytest.raises(IccTransportError, match="contact"):
        virtual_card("quickpass-phone").power_on("contact")
    assert "6222" not in repr(card.image)
