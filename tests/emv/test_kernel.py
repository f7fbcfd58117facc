"""The contact kernel end to end against virtual cards: selection, ODA, CVM, TAA, completion."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from poskit.cards.icc import CardState, VirtualCard, any_card, personalise, virtual_card
from poskit.cards.icc.card import ApplicationState
from poskit.cards.test_keys import TEST_IMK_AC, TEST_IMK_SMI
from poskit.crypto.emv import derive_icc_master_key, derive_session_key, generate_ac
from poskit.emv import issuer
from poskit.emv.capk import CaKeyStore
from poskit.emv.config import AidConfig, TerminalConfig
from poskit.emv.cryptogram import Cvr, IssuerApplicationData, arqc_input
from poskit.emv.dol import tc_hash_value
from poskit.emv.field55 import parse_icc_data
from poskit.emv.kernel import KernelError
from poskit.emv.outcome import KernelStateError
from poskit.emv.tlv import Tlv, decode, encode, flatten
from poskit.emv.tvr import Tsi, TsiBit, Tvr, TvrBit
from poskit.money import Amount

Rig = Any

#: An expired chip card (the book's expired card may be magstripe only).
EXPIRED_CHIP = dataclasses.replace(
    any_card("unionpay-debit"),
    name="expired-chip",
    pan="6228480011002200332",
    expiry="2401",
    emv_profile="expired-card",
)


def _tvr(data: bytes) -> set[str]:
    tvr = Tvr(data)
    return {bit.name for bit in TvrBit if bit in tvr}


def _tsi(data: bytes) -> set[str]:
    tsi = Tsi(data)
    return {bit.name for bit in TsiBit if bit in tsi}


def _tampered(name: str, record: tuple[int, int], tag: str, change: Callable[[bytes], bytes]) -> VirtualCard:
    """The card ``name`` with one data object of one record changed after personalisation."""
    image = personalise(any_card(name))
    app = image.applications[0]
    template = decode(app.records[record])[0]
    children = [Tlv(c.tag, change(c.value)) if c.tag == tag else c for c in template.children]
    new_app = dataclasses.replace(
        app, records={**app.records, record: encode([Tlv.template("70", children)])}
    )
    return VirtualCard(dataclasses.replace(image, applications=(new_app,)), random=lambda n: bytes(range(n)))


def _flip(value: bytes) -> bytes:
    return bytes([value[0] ^ 0x01]) + value[1:]


# full flows -------------------------------------------------------------------------------


def test_online_pin_flow_with_arqc_recomputed_and_arpc_accepted(rig: Callable[..., Rig]) -> None:
    """UnionPay debit: DDA, online PIN, ARQC recomputed from the test IMK, ARPC accepted, TC."""
    r = rig("unionpay-debit")
    first = r.start(12_345)
    assert first.outcome == "online" and first.cryptogram_type == "ARQC"
    assert first.cvm == "online_pin" and len(r.pad.online_calls) == 1
    assert first.oda == "dda" and first.entry_mode == "chip"
    assert first.pan == "6222021001123456789" and first.psn == "01" and first.expiry == "3012"
    assert first.track2_equivalent is not None and first.track2_equivalent.service_code == "220"
    assert _tvr(first.tvr) == {"ONLINE_PIN_ENTERED", "FLOOR_LIMIT_EXCEEDED"}
    assert _tsi(first.tsi) == {
        "ODA_PERFORMED",
        "CVM_PERFORMED",
        "CARD_RISK_MANAGEMENT",
        "TERMINAL_RISK_MANAGEMENT",
    }
    icc = parse_icc_data(first.icc_data)
    assert list(icc)[:5] == ["9F26", "9F27", "9F10", "9F37", "9F36"]
    assert icc["9F34"] == bytes.fromhex("420300") and icc["95"] == first.tvr
    # The issuer's recomputation, straight from the crypto primitives.
    mk = derive_icc_master_key(TEST_IMK_AC, first.pan, first.psn)
    sk = derive_session_key(mk, icc["9F36"])
    assert generate_ac(sk, arqc_input(icc)) == icc["9F26"] == first.cryptogram
    second = r.kernel.complete(
        host_reached=True,
        response_code="00",
        issuer_authentication_data=issuer.issuer_authentication_data(
            imk_ac=TEST_IMK_AC,
            pan=first.pan,
            psn=first.psn,
            atc=icc["9F36"],
            arqc=icc["9F26"],
            response_code="00",
        ),
        issuer_scripts=None,
    )
    assert second.approved and second.cryptogram_type == "TC"
    assert second.issuer_authentication == "passed" and not second.reversal_required
    final = parse_icc_data(second.icc_data)
    assert final["8A"] == b"00" and final["9F27"] == b"\x40"
    assert issuer.verify_arqc(imk_ac=TEST_IMK_AC, pan=first.pan, psn=first.psn, icc=final).ok
    state = r.card.state.applications["A000000333010101"]
    assert state.last_online_atc == state.atc == 1


def test_offline_enciphered_pin_with_sda(
    rig: Callable[..., Rig], host: Callable[..., dict[str, Any]]
) -> None:
    """Visa: SDA, enciphered offline PIN verified by the card, which reports it in its CVR."""
    r = rig("visa-credit", pins=("1234",))
    first = r.start(50_000)
    assert first.outcome == "online" and first.cvm == "offline_pin" and first.oda == "sda"
    assert first.cvm_results == bytes.fromhex("440302")
    assert "SDA_SELECTED" in _tvr(first.tvr) and "SDA_FAILED" not in _tvr(first.tvr)
    cvr = IssuerApplicationData.parse(parse_icc_data(first.icc_data)["9F10"]).cvr
    assert Cvr.is_set(cvr, Cvr.OFFLINE_PIN_PERFORMED)
    assert not Cvr.is_set(cvr, Cvr.OFFLINE_PIN_FAILED)
    assert any(e.name == "GET CHALLENGE" for e in r.kernel.trace)
    assert r.kernel.complete(**host(first)).approved


def test_offline_plaintext_pin_with_cda_and_arpc_in_cdol2(
    rig: Callable[..., Rig], host: Callable[..., dict[str, Any]]
) -> None:
    """Mastercard: CDA on both GENERATE ACs, plaintext PIN, ARPC checked inside GEN AC 2."""
    r = rig("mastercard-credit", pins=("4321",))
    first = r.start(20_000)
    assert first.oda == "cda" and first.cvm == "offline_pin"
    assert first.cvm_results == bytes.fromhex("410302")
    assert not {"CDA_FAILED", "ODA_NOT_PERFORMED"} & _tvr(first.tvr)
    second = r.kernel.complete(**host(first))
    assert second.approved and second.issuer_authentication == "passed"
    assert not any(e.name == "EXTERNAL AUTHENTICATE" for e in r.kernel.trace)


def test_verve_in_nigeria(rig: Callable[..., Rig], host: Callable[..., dict[str, Any]]) -> None:
    """A Verve card on the Nigerian terminal goes online with PIN in NGN."""
    r = rig("verve-ngn", config=TerminalConfig.nigeria())
    first = r.start(150_000, "NGN")
    assert first.outcome == "online" and first.cvm == "online_pin"
    assert parse_icc_data(first.icc_data)["5F2A"] == b"\x05\x66"
    assert r.kernel.complete(**host(first)).approved


# cardholder verification ----------------------------------------------------------------


def test_wrong_offline_pin_then_right(rig: Callable[..., Rig]) -> None:
    """63C2 makes the terminal prompt again with the tries left."""
    r = rig("mastercard-credit", pins=("0000", "4321"))
    first = r.start(1_000)
    assert first.cvm == "offline_pin" and r.pad.offline_calls == [3, 2]
    assert r.card.state.applications["A0000000041010"].pin_tries == 3


def test_pin_try_limit_then_apply_next(rig: Callable[..., Rig]) -> None:
    """Three wrong PINs block offline PIN (63C0, then 9F17=0); the list falls to online PIN."""
    r = rig("visa-credit", pins=("0000", "0000", "0000"))
    first = r.start(1_000)
    assert "PIN_TRY_LIMIT_EXCEEDED" in _tvr(first.tvr)
    assert first.cvm == "online_pin" and first.cvm_results == bytes.fromhex("420300")
    assert r.card.state.applications["A0000000031010"].pin_tries == 0
    cvr = IssuerApplicationData.parse(parse_icc_data(first.icc_data)["9F10"]).cvr
    assert Cvr.is_set(cvr, Cvr.OFFLINE_PIN_FAILED) and Cvr.is_set(cvr, Cvr.PIN_TRY_LIMIT_EXCEEDED)


def test_pin_bypass_falls_to_signature(rig: Callable[..., Rig]) -> None:
    """Bypassing the online PIN on 'PIN optional' UnionPay credit leads to a signature."""
    r = rig("unionpay-credit", online=False)
    first = r.start(1_000)
    assert first.cvm == "signature" and first.signature_required
    assert "PIN_NOT_ENTERED" in _tvr(first.tvr)
    assert first.cvm_results == bytes.fromhex("5E0300")


def test_terminal_without_online_pin_skips_rule(rig: Callable[..., Rig]) -> None:
    """Condition 03 skips online PIN on a terminal without it: signature instead."""
    r = rig("unionpay-debit", config=TerminalConfig.china(terminal_capabilities="E0B8C8"))
    first = r.start(1_000)
    assert first.cvm == "signature" and not r.pad.online_calls
    assert "PIN_PAD_MISSING" not in _tvr(first.tvr)


def test_all_cvms_fail(rig: Callable[..., Rig]) -> None:
    """Verve's PIN-only list with no PIN entered ends in CVM failed."""
    r = rig("verve-ngn", config=TerminalConfig.nigeria(), online=False, pins=(None,))
    first = r.start(1_000, "NGN")
    assert first.cvm == "failed" and "CVM_FAILED" in _tvr(first.tvr)
    assert first.cvm_results[2] == 0x01


# application selection ------------------------------------------------------------------


def test_priority_and_cardholder_choice(rig: Callable[..., Rig]) -> None:
    """Two applications: the highest priority is chosen, unless the cardholder picks."""
    assert rig("unionpay-credit").start(1_000).aid == "A000000333010102"
    offered: list[list[str]] = []

    def choose(candidates: Any) -> int:
        offered.append([c.aid for c in candidates])
        return 1

    first = rig("unionpay-credit", choose=choose).start(1_000)
    assert offered == [["A000000333010102", "A000000333010101"]]
    assert first.aid == "A000000333010101" and first.application_label == "银联借记卡"


def test_list_of_aids_with_partial_selection(rig: Callable[..., Rig]) -> None:
    """Without PSE the terminal SELECTs its AIDs; a partial AID finds both applications."""
    config = TerminalConfig.china(use_pse=False, aids=(AidConfig("A000000333", "UnionPay"),))
    offered: list[int] = []
    first = rig("unionpay-credit", config=config, choose=lambda c: offered.append(len(c)) or 0).start(1_000)
    assert offered == [2] and first.outcome == "online"
    r = rig("unionpay-debit", config=config)
    r.start(1_000)
    commands = [e.command for e in r.kernel.trace]
    assert not any(c.startswith("00A404000E315041") for c in commands)  # no PSE
    assert "00A4040005A00000033300" in commands and "00A4040205A00000033300" in commands


def test_gpo_refused_returns_to_selection(rig: Callable[..., Rig], mitm: Any) -> None:
    """6985 to GET PROCESSING OPTIONS removes that application and selects the next one."""
    state = {"refused": False}

    def refuse_first_gpo(apdu: bytes, response: bytes) -> bytes | None:
        if apdu[1] == 0xA8 and not state["refused"]:
            state["refused"] = True
            return b"\x69\x85"
        return None

    first = rig("unionpay-credit", wrap=lambda t: mitm(t, refuse_first_gpo)).start(1_000)
    assert first.outcome == "online" and first.aid == "A000000333010101"


def test_blocked_application_is_not_selected(rig: Callable[..., Rig]) -> None:
    """A blocked application answers 6283 and is left out; with none left: card error."""
    state = CardState({"A000000333010101": ApplicationState(blocked=True)})
    first = rig("unionpay-debit", state=state).start(1_000)
    assert first.outcome == "card_error" and first.fallback_allowed


# offline data authentication --------------------------------------------------------------


@pytest.mark.parametrize(
    ("card", "record", "tag", "failed_bit"),
    [
        ("visa-credit", (3, 1), "90", "SDA_FAILED"),
        ("visa-credit", (3, 2), "93", "SDA_FAILED"),
        ("unionpay-debit", (3, 2), "9F46", "DDA_FAILED"),
        ("mastercard-credit", (3, 1), "90", "CDA_FAILED"),
    ],
)
def test_tampered_certificates_fail_oda(
    rig: Callable[..., Rig], card: str, record: tuple[int, int], tag: str, failed_bit: str
) -> None:
    """A flipped byte in a certificate or signature sets the right TVR failure bit."""
    pins = {"visa-credit": ("1234",), "mastercard-credit": ("4321",)}.get(card, ())
    first = rig(_tampered(card, record, tag, _flip), pins=pins).start(1_000)
    assert failed_bit in _tvr(first.tvr)
    assert "ODA_PERFORMED" in _tsi(first.tsi)
    assert first.outcome == "online"


def test_tampered_static_data_fails_dda(rig: Callable[..., Rig]) -> None:
    """Changing signed static data (the expiry date) breaks the ICC certificate hash."""
    card = _tampered("unionpay-debit", (2, 1), "5F24", lambda v: bytes.fromhex("331231"))
    first = rig(card).start(1_000)
    assert "DDA_FAILED" in _tvr(first.tvr)


@pytest.mark.parametrize("card", ["visa-credit", "unionpay-debit", "mastercard-credit"])
def test_unknown_ca_index(rig: Callable[..., Rig], card: str) -> None:
    """No CA key for the card's RID/index: ODA fails for whichever method was chosen."""
    config = TerminalConfig.china(ca_keys=CaKeyStore())
    pins = {"visa-credit": ("1234",), "mastercard-credit": ("4321",)}.get(card, ())
    first = rig(card, config=config, pins=pins).start(1_000)
    expected = {"sda": "SDA_FAILED", "dda": "DDA_FAILED", "cda": "CDA_FAILED"}[first.oda]
    assert expected in _tvr(first.tvr)


def test_wrong_ca_index_on_card(rig: Callable[..., Rig]) -> None:
    """A card naming CA index 92 (absent from the terminal) fails DDA."""
    first = rig(_tampered("unionpay-debit", (3, 1), "8F", lambda v: b"\x92")).start(1_000)
    assert "DDA_FAILED" in _tvr(first.tvr)


def test_terminal_without_oda(rig: Callable[..., Rig]) -> None:
    """A terminal supporting no ODA method sets 'ODA not performed'."""
    first = rig("unionpay-debit", config=TerminalConfig.china(terminal_capabilities="E0F800")).start(1_000)
    assert first.oda == "none" and "ODA_NOT_PERFORMED" in _tvr(first.tvr)


def test_cda_signature_tampered_declines(rig: Callable[..., Rig], mitm: Any) -> None:
    """A changed CDA signature on GENERATE AC fails CDA: declined offline with an AAC."""

    def break_sdad(apdu: bytes, response: bytes) -> bytes | None:
        if apdu[1] != 0xAE or response[-2:] != b"\x90\x00":
            return None
        template = decode(response[:-2])[0]
        children = [Tlv(c.tag, _flip(c.value)) if c.tag == "9F4B" else c for c in template.children]
        return encode([Tlv.template("77", children)]) + b"\x90\x00"

    r = rig("mastercard-credit", pins=("4321",), wrap=lambda t: mitm(t, break_sdad))
    first = r.start(1_000)
    assert first.outcome == "declined_offline" and "CDA_FAILED" in _tvr(first.tvr)
    assert sum(e.name == "GENERATE AC" for e in r.kernel.trace) == 2


def test_cdol_asking_for_tc_hash_uses_default_tdol(rig: Callable[..., Rig]) -> None:
    """A CDOL1 with tag 98 gets SHA-1 of the terminal's default TDOL data; TVR says so."""
    image = personalise(any_card("unionpay-debit"))
    app = image.applications[0]
    cdol1 = app.data["8C"] + bytes.fromhex("9814")
    template = decode(app.records[(2, 1)])[0]
    children = [Tlv("8C", cdol1) if c.tag == "8C" else c for c in template.children]
    new_app = dataclasses.replace(
        app,
        data={**app.data, "8C": cdol1},
        records={**app.records, (2, 1): encode([Tlv.template("70", children)])},
    )
    card = VirtualCard(dataclasses.replace(image, applications=(new_app,)))
    aids = tuple(dataclasses.replace(a, default_tdol="9F02065F2A02") for a in TerminalConfig.china().aids)
    r = rig(card, config=TerminalConfig.china(aids=aids))
    first = r.start(1_000)
    assert "DEFAULT_TDOL_USED" in _tvr(first.tvr) and first.outcome == "online"
    gen_ac = next(e for e in r.kernel.trace if e.name == "GENERATE AC")
    expected = tc_hash_value(
        bytes.fromhex("9F02065F2A02"), {"9F02": bytes.fromhex("000000001000"), "5F2A": bytes.fromhex("0156")}
    )
    assert gen_ac.command.endswith(expected.hex().upper() + "00")


# terminal action analysis -------------------------------------------------------------------


def test_offline_approval(rig: Callable[..., Rig]) -> None:
    """Below the floor limit with a card that knows this terminal: TC, approved offline (Y1)."""
    aids = tuple(dataclasses.replace(a, floor_limit=100_000) for a in TerminalConfig.china().aids)
    state = CardState({"A0000000031010": ApplicationState(atc=3, last_online_atc=3)})
    first = rig("visa-credit", pins=("1234",), config=TerminalConfig.china(aids=aids), state=state).start(
        5_000
    )
    assert first.outcome == "approved_offline" and first.cryptogram_type == "TC"
    assert parse_icc_data(first.icc_data)["8A"] == b"Y1"
    assert issuer.verify_arqc(
        imk_ac=TEST_IMK_AC, pan=first.pan or "", psn=first.psn, icc=parse_icc_data(first.icc_data)
    ).ok


def test_card_goes_online_when_new(rig: Callable[..., Rig]) -> None:
    """The same offline request on a new card: the card answers ARQC (card risk management)."""
    aids = tuple(dataclasses.replace(a, floor_limit=100_000) for a in TerminalConfig.china().aids)
    first = rig("visa-credit", pins=("1234",), config=TerminalConfig.china(aids=aids)).start(5_000)
    assert "NEW_CARD" in _tvr(first.tvr) and first.outcome == "online"


def test_terminal_denial(rig: Callable[..., Rig]) -> None:
    """An expired card with 'expired' in the TAC-denial is declined offline (Z1)."""
    aids = tuple(dataclasses.replace(a, tac_denial="0040000000") for a in TerminalConfig.china().aids)
    first = rig(virtual_card(EXPIRED_CHIP), config=TerminalConfig.china(aids=aids)).start(1_000)
    assert "EXPIRED" in _tvr(first.tvr)
    assert first.outcome == "declined_offline" and first.cryptogram_type == "AAC"
    assert parse_icc_data(first.icc_data)["8A"] == b"Z1"


def test_expired_card_goes_online_by_default(rig: Callable[..., Rig]) -> None:
    """With the default UnionPay TACs an expired card goes online (the issuer declines 54)."""
    first = rig(virtual_card(EXPIRED_CHIP)).start(1_000)
    assert "EXPIRED" in _tvr(first.tvr) and first.outcome == "online"


# completion -------------------------------------------------------------------------------


def test_card_declines_after_host_approval(
    rig: Callable[..., Rig], host: Callable[..., dict[str, Any]]
) -> None:
    """A wrong ARPC: EXTERNAL AUTHENTICATE fails, the card returns AAC, reversal required."""
    r = rig("unionpay-debit")
    first = r.start(1_000)
    second = r.kernel.complete(**host(first, tamper_arpc=True))
    assert not second.approved and second.cryptogram_type == "AAC"
    assert second.reversal_required and second.issuer_authentication == "failed"
    assert "ISSUER_AUTH_FAILED" in _tvr(second.tvr)
    assert set(parse_icc_data(second.reversal_icc_data)) == {"95", "9F1E", "9F10", "9F36"}
    assert r.card.state.applications["A000000333010101"].issuer_auth_failed_last


def test_card_requiring_issuer_authentication(
    rig: Callable[..., Rig], host: Callable[..., dict[str, Any]]
) -> None:
    """An M/Chip style card declines at GEN AC 2 when the ARPC in CDOL2 is wrong."""
    r = rig("mastercard-credit", pins=("4321",))
    second = r.kernel.complete(**host(r.start(1_000), tamper_arpc=True))
    assert second.reversal_required and second.issuer_authentication == "failed"


def test_host_decline(rig: Callable[..., Rig], host: Callable[..., dict[str, Any]]) -> None:
    """A host decline (51) asks the card for an AAC; no reversal."""
    r = rig("unionpay-debit")
    second = r.kernel.complete(**host(r.start(100_000), "51"))
    assert not second.approved and not second.reversal_required
    assert second.authorisation_response_code == "51"
    assert parse_icc_data(second.icc_data)["8A"] == b"51"


def test_host_unreachable(rig: Callable[..., Rig]) -> None:
    """Unable to go online: default action analysis declines (floor limit in TAC-default)."""
    r = rig("unionpay-debit")
    r.start(1_000)
    second = r.kernel.complete(
        host_reached=False, response_code=None, issuer_authentication_data=None, issuer_scripts=None
    )
    assert not second.approved and second.authorisation_response_code == "Z3"
    assert not second.reversal_required


def test_card_removed_before_completion(rig: Callable[..., Rig], host: Callable[..., dict[str, Any]]) -> None:
    """The card pulled out after the host approved: reversal required."""
    r = rig("unionpay-debit")
    first = r.start(1_000)
    r.reader.remove_after = 0
    second = r.kernel.complete(**host(first))
    assert not second.approved and second.reversal_required


# issuer scripts ---------------------------------------------------------------------------


def test_pin_unblock_script_reported_in_df31(
    rig: Callable[..., Rig], host: Callable[..., dict[str, Any]]
) -> None:
    """A blocked PIN is unblocked by a 72 script; DF31 reports success for the 0620 advice."""
    state = CardState({"A0000000031010": ApplicationState(pin_tries=0)})
    r = rig("visa-credit", state=state)
    first = r.start(1_000)
    assert "PIN_TRY_LIMIT_EXCEEDED" in _tvr(first.tvr) and first.cvm == "online_pin"
    icc = parse_icc_data(first.icc_data)
    script = issuer.pin_unblock_script(
        imk_smi=TEST_IMK_SMI,
        pan=first.pan or "",
        psn=first.psn,
        atc=icc["9F36"],
        arqc=icc["9F26"],
        script_id=b"\x00\x00\x00\x07",
    )
    second = r.kernel.complete(**host(first, scripts=script))
    assert second.approved
    assert second.script_results == bytes.fromhex("2000000007")
    assert second.script_advice_icc_data is not None
    advice = parse_icc_data(second.script_advice_icc_data)
    assert advice["DF31"] == second.script_results and next(iter(advice)) == "9F33"
    assert "SCRIPT_PROCESSING" in _tsi(second.tsi)
    assert r.card.state.applications["A0000000031010"].pin_tries == 3
    results = issuer.parse_script_results(second.script_results)
    assert results[0].result == "successful" and results[0].script_id == b"\x00\x00\x00\x07"


def test_script_with_bad_mac_fails(rig: Callable[..., Rig], host: Callable[..., dict[str, Any]]) -> None:
    """A script MAC'd for another transaction fails (6982): result 11, TVR script bit."""
    r = rig("unionpay-debit")
    first = r.start(1_000)
    icc = parse_icc_data(first.icc_data)
    script = issuer.build_script(
        [
            issuer.application_block_command(
                imk_smi=TEST_IMK_SMI, pan=first.pan or "", psn=first.psn, atc=b"\x00\x63", arqc=icc["9F26"]
            )
        ],
        template="71",
    )
    second = r.kernel.complete(**host(first, scripts=script))
    assert second.script_results[0] == 0x11
    assert "SCRIPT_FAILED_BEFORE_AC" in _tvr(second.tvr)
    assert not r.card.state.applications["A000000333010101"].blocked


def test_application_block_script(rig: Callable[..., Rig], host: Callable[..., dict[str, Any]]) -> None:
    """An application block script blocks the card: the next transaction cannot select it."""
    r = rig("unionpay-debit")
    first = r.start(1_000)
    icc = parse_icc_data(first.icc_data)
    script = issuer.application_block_script(
        imk_smi=TEST_IMK_SMI, pan=first.pan or "", psn=first.psn, atc=icc["9F36"], arqc=icc["9F26"]
    )
    second = r.kernel.complete(**host(first, scripts=script))
    assert second.script_results[0] == 0x20
    assert r.start(1_000).outcome == "card_error"


# errors and trace -------------------------------------------------------------------------


def test_chip_read_failure_allows_fallback(rig: Callable[..., Rig]) -> None:
    """A card that does not answer reset is a card error with fallback allowed."""
    r = rig("unionpay-debit")
    r.reader.fail_power_on = 1
    first = r.start(1_000)
    assert first.outcome == "card_error" and first.fallback_allowed
    assert r.start(1_000).outcome == "online"


def test_misuse_is_reported(rig: Callable[..., Rig]) -> None:
    """Wrong currency and complete() without an online first phase are programming errors."""
    r = rig("unionpay-debit")
    with pytest.raises(KernelError, match="currency"):
        r.kernel.start(Amount.of(100, "USD"))
    with pytest.raises(KernelStateError):
        r.kernel.complete(
            host_reached=True, response_code="00", issuer_authentication_data=None, issuer_scripts=None
        )


def test_trace_never_shows_the_pan(rig: Callable[..., Rig]) -> None:
    """Every exchange of a full transaction is masked; the first phase repr too."""
    r = rig("visa-credit", pins=("1234",))
    first = r.start(1_000)
    text = "\n".join(str(e) for e in r.kernel.trace)
    assert "4761739001010010" not in text and "476173******0010" in text
    assert "4761739001010010" not in repr(first)
    verify = [e for e in r.kernel.trace if e.name == "VERIFY"]
    assert verify and all(set(e.command[10:]) == {"*"} for e in verify)
    assert flatten(decode(first.icc_data))["9F27"] == b"\x80"
