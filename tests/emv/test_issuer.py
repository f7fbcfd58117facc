"""Host-side helpers: field 55 parsing, ARQC verification, ARPC and issuer scripts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from poskit.cards.test_keys import TEST_IMK_AC, TEST_IMK_SMC, TEST_IMK_SMI
from poskit.crypto.emv import generate_arpc_method1
from poskit.crypto.hsm import SoftHSM
from poskit.crypto.lmk import LocalMasterKey
from poskit.emv import issuer
from poskit.emv.cryptogram import arqc_input, issuer_authentication_data
from poskit.emv.field55 import Field55Error, parse_icc_data, split_response_icc_data
from poskit.emv.tlv import decode

Rig = Any


def _online(rig: Callable[..., Rig]) -> tuple[Any, Any, dict[str, bytes]]:
    r = rig("unionpay-debit")
    first = r.start(8_800)
    return r, first, issuer.parse_field55(first.icc_data)


def test_verify_arqc_ok_tampered_and_replayed(rig: Callable[..., Rig]) -> None:
    """A genuine ARQC verifies; a changed amount or a replayed ATC does not."""
    _, first, icc = _online(rig)
    ok = issuer.verify_arqc(imk_ac=TEST_IMK_AC, pan=first.pan, psn=first.psn, icc=icc)
    assert ok.ok and ok.atc == 1 and ok.cryptogram_type == "ARQC"
    changed = {**icc, "9F02": bytes.fromhex("000000009999")}
    assert not issuer.verify_arqc(imk_ac=TEST_IMK_AC, pan=first.pan, psn=first.psn, icc=changed).ok
    replay = issuer.verify_arqc(imk_ac=TEST_IMK_AC, pan=first.pan, psn=first.psn, icc=icc, last_atc=1)
    assert not replay.ok and "replay" in replay.reason
    wrong_psn = issuer.verify_arqc(imk_ac=TEST_IMK_AC, pan=first.pan, psn="02", icc=icc)
    assert not wrong_psn.ok
    bad_iad = {**icc, "9F10": bytes.fromhex("0601")}
    assert "9F10" in issuer.verify_arqc(imk_ac=TEST_IMK_AC, pan=first.pan, psn=first.psn, icc=bad_iad).reason


def test_parse_field55_requires_tags() -> None:
    """Missing mandatory tags or broken TLV raise Field55Error."""
    with pytest.raises(Field55Error, match="missing"):
        issuer.parse_field55(bytes.fromhex("9F2608") + bytes(8))
    with pytest.raises(Field55Error, match="offset"):
        parse_icc_data(bytes.fromhex("9F2609") + bytes(8))


def test_arpc_method_1(rig: Callable[..., Rig]) -> None:
    """Tag 91 is ARPC method 1 over the ARQC and the ARC, followed by the ARC."""
    _, first, icc = _online(rig)
    data = issuer.issuer_authentication_data(
        imk_ac=TEST_IMK_AC,
        pan=first.pan,
        psn=first.psn,
        atc=icc["9F36"],
        arqc=icc["9F26"],
        response_code="05",
    )
    sk = issuer.card_session_key(TEST_IMK_AC, first.pan, first.psn, icc["9F36"])
    assert data == generate_arpc_method1(sk, icc["9F26"], b"05") + b"05"
    response = issuer.response_icc_data(issuer_authentication=data, scripts=[b"\x72\x00"])
    assert decode(response)[0].tag == "91"
    with pytest.raises(Field55Error):
        issuer.issuer_authentication_data(
            imk_ac=TEST_IMK_AC,
            pan=first.pan,
            psn=first.psn,
            atc=icc["9F36"],
            arqc=icc["9F26"],
            response_code="000",
        )


def test_scripts_run_on_the_card(rig: Callable[..., Rig], host: Callable[..., dict[str, Any]]) -> None:
    """PIN change and PUT DATA scripts built by the issuer are accepted by the card."""
    r, first, icc = _online(rig)
    common = {
        "imk_smi": TEST_IMK_SMI,
        "pan": first.pan,
        "psn": first.psn,
        "atc": icc["9F36"],
        "arqc": icc["9F26"],
    }
    script = issuer.build_script(
        [
            issuer.pin_change_command(imk_smc=TEST_IMK_SMC, new_pin="654321", **common),
            issuer.put_data_command(tag="9F14", value=b"\x02", **common),
            issuer.application_unblock_command(**common),
        ],
        script_id=b"\x00\x00\x00\x09",
        template="71",
    )
    second = r.kernel.complete(**host(first, scripts=script))
    assert second.approved and second.script_results == bytes.fromhex("2000000009")
    state = r.card.state.applications["A000000333010101"]
    assert state.pin == "654321" and state.script_count == 3


def test_split_response_field55(rig: Callable[..., Rig], host: Callable[..., dict[str, Any]]) -> None:
    """A whole response field 55 splits into the 91 value and the script templates."""
    _, first, icc = _online(rig)
    data = host(first)["issuer_authentication_data"]
    script = issuer.pin_unblock_script(
        imk_smi=TEST_IMK_SMI, pan=first.pan, psn=first.psn, atc=icc["9F36"], arqc=icc["9F26"]
    )
    response = issuer.response_icc_data(issuer_authentication=data, scripts=[script])
    assert split_response_icc_data(response + bytes.fromhex("8A023030")) == (data, script)
    assert split_response_icc_data(b"") == (None, b"")
    with pytest.raises(Field55Error):
        split_response_icc_data(b"\x91\x05")


def test_script_results_parsing() -> None:
    """DF31 splits into 5-byte results with status, sequence and identifier."""
    results = issuer.parse_script_results(bytes.fromhex("20000000011200000002"))
    assert [(r.result, r.sequence) for r in results] == [("successful", 0), ("failed", 2)]
    with pytest.raises(Field55Error):
        issuer.parse_script_results(b"\x20")


def test_hsm_wiring_plan(rig: Callable[..., Rig]) -> None:
    """The documented plan works with the software HSM: ARQC verified, ARPC accepted."""
    hsm = SoftHSM(LocalMasterKey(bytes(range(16)) * 2))
    imk = hsm.import_clear_key(TEST_IMK_AC, "E0")
    r, first, icc = _online(rig)
    assert hsm.verify_arqc(
        imk=imk, pan=first.pan, psn=first.psn, atc=icc["9F36"], data=arqc_input(icc), arqc=icc["9F26"]
    )
    arpc = hsm.generate_arpc(
        imk=imk, pan=first.pan, psn=first.psn, atc=icc["9F36"], arqc=icc["9F26"], arc=b"00"
    )
    second = r.kernel.complete(
        host_reached=True,
        response_code="00",
        issuer_authentication_data=issuer_authentication_data(arpc, b"00"),
        issuer_scripts=None,
    )
    assert second.approved and second.issuer_authentication == "passed"
