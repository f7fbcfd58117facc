"""Host checks against EMV attacks: each attack card makes its check fire, genuine cards pass."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from poskit.cards.icc import profile_by_name
from poskit.cards.test_keys import TEST_IMK_AC
from poskit.emv import issuer
from poskit.emv.attack_checks import (
    check_brand,
    check_cvm_consistency,
    check_unauthenticated_data,
    run_attack_checks,
)
from poskit.emv.config import AidConfig, TerminalConfig
from poskit.emv.field55 import parse_icc_data

Rig = Any
QPS_LIMIT = 100_000


def _codes(findings: list[Any]) -> set[str]:
    return {f.code for f in findings}


def _checks(
    first: Any, *, interface: str = "contact", online_pin: bool | None = None, profile: str | None = None
) -> set[str]:
    icc = parse_icc_data(first.icc_data)
    aip = None
    if profile:
        app = profile_by_name(profile).application(first.aid)
        aip = app.personalised_aip(interface)  # type: ignore[arg-type]
    return _codes(
        run_attack_checks(
            pan=first.pan,
            icc=icc,
            personalised_aip=aip,
            cvm_required_limit=QPS_LIMIT,
            online_pin_present=online_pin,
        )
    )


def test_genuine_cards_raise_nothing(rig: Callable[..., Rig]) -> None:
    """Honest transactions (contact and tap, with and without CVM) produce no findings."""
    first = rig("mastercard-credit", pins=("4321",)).start(1_000)
    assert _checks(first, profile="mastercard-credit") == set()
    first = rig("visa-credit", pins=("1234",)).start(1_000)
    assert _checks(first, profile="visa-credit") == set()
    tap = rig("unionpay-debit", interface="contactless").start(200_000, contactless=True)
    assert _checks(tap, interface="contactless", online_pin=True, profile="unionpay-debit") == set()
    phone = rig("quickpass-phone", interface="contactless").start(200_000, contactless=True)
    assert _checks(phone, interface="contactless", profile="quickpass-phone") == set()


def test_ctq_rewritten_to_device_cvm(rig: Callable[..., Rig]) -> None:
    """Basin et al. 2021: a rewritten CTQ skips the PIN; the card's CVR does not confirm it."""
    r = rig("attack-ctq-cdcvm", interface="contactless")
    first = r.start(250_000, contactless=True)
    assert first.outcome == "online" and not r.pad.online_calls  # the terminal was fooled
    icc = parse_icc_data(first.icc_data)
    assert issuer.verify_arqc(imk_ac=TEST_IMK_AC, pan=first.pan, psn=first.psn, icc=icc).ok
    assert "cdcvm_not_confirmed" in _codes(check_cvm_consistency(icc))
    assert "cvm_missing_above_limit" in _codes(check_unauthenticated_data(icc, cvm_required_limit=QPS_LIMIT))


def test_card_brand_mixup(rig: Callable[..., Rig]) -> None:
    """USENIX 2021: a Mastercard PAN under the Visa AID is caught by the brand check."""
    first = rig("attack-brand-mixup", pins=("4321",)).start(1_000)
    assert first.aid == "A0000000031010" and first.pan == "5555555555554444"
    icc = parse_icc_data(first.icc_data)
    findings = check_brand(first.pan, icc)
    assert _codes(findings) == {"brand_mismatch"}
    assert "mastercard" in findings[0].reason


def test_offline_pin_faked_by_a_device(rig: Callable[..., Rig]) -> None:
    """A device answering VERIFY itself: 9F34 claims PIN success, the CVR says no PIN."""
    first = rig("attack-verify-bypass", pins=("0000",)).start(1_000)
    assert first.cvm == "offline_pin"
    assert "offline_pin_not_confirmed" in _checks(first, profile="attack-verify-bypass")


def test_aip_downgrade(rig: Callable[..., Rig]) -> None:
    """An AIP with CDA removed skips ODA at the terminal; the AIP check and the ARQC catch it."""
    first = rig("attack-aip-downgrade", pins=("4321",)).start(1_000)
    assert first.oda == "none"
    icc = parse_icc_data(first.icc_data)
    assert "aip_mismatch" in _checks(first, profile="attack-aip-downgrade")
    assert not issuer.verify_arqc(imk_ac=TEST_IMK_AC, pan=first.pan, psn=first.psn, icc=icc).ok


def test_online_pin_claim_without_pin_block() -> None:
    """9F34 saying online PIN without a PIN block in the request is flagged."""
    icc = {"9F34": bytes.fromhex("420300")}
    assert _codes(check_unauthenticated_data(icc, online_pin_present=False)) == {"online_pin_missing"}


def test_unknown_or_missing_data_is_not_a_finding() -> None:
    """Unknown IAD layouts, unknown RIDs and missing tags produce no findings."""
    assert check_cvm_consistency({"9F10": bytes.fromhex("0110A00003220000")}) == []
    assert check_brand("4761739001010010", {}) == []
    assert check_brand("4761739001010010", {"84": bytes.fromhex("A0000009991010")}) == []


def test_terminal_accepts_the_attack_aid_list() -> None:
    """The Visa AID in the China terminal list is what the mix-up card relies on."""
    assert any(isinstance(a, AidConfig) and a.aid == "A0000000031010" for a in TerminalConfig.china().aids)
