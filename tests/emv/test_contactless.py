"""Contactless: entry point pre-processing, PPSE, the single tap with online ARQC, QPS CVM."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from poskit.cards.icc import ApplicationState, CardState
from poskit.cards.test_keys import TEST_IMK_AC
from poskit.emv import issuer
from poskit.emv.config import TerminalConfig
from poskit.emv.contactless import CVM_RESULTS_CDCVM, CVM_RESULTS_NO_CVM
from poskit.emv.cryptogram import Cvr, IssuerApplicationData
from poskit.emv.field55 import parse_icc_data

Rig = Any


def _tap(rig: Callable[..., Rig], card: str, minor: int, **kwargs: Any) -> tuple[Any, Any]:
    r = rig(card, interface="contactless", **kwargs)
    return r, r.start(minor, contactless=True)


def test_small_amount_no_pin_no_signature(
    rig: Callable[..., Rig], host: Callable[..., dict[str, Any]]
) -> None:
    """Up to the QPS limit a tap is approved online without PIN or signature."""
    r, first = _tap(rig, "unionpay-debit", 100_000)  # exactly 1000.00: still free
    assert first.outcome == "online" and first.entry_mode == "contactless"
    assert first.cvm == "no_cvm" and not first.signature_required and not r.pad.online_calls
    icc = parse_icc_data(first.icc_data)
    assert icc["9F34"] == CVM_RESULTS_NO_CVM
    assert icc["9F66"][1] & 0x40 == 0 and icc["9F66"][1] & 0x80  # no CVM, online required
    assert not any(e.name == "GENERATE AC" for e in r.kernel.trace)
    second = r.kernel.complete(**host(first))
    assert second.approved and second.cryptogram == first.cryptogram
    assert not r.card.state.applications["A000000333010101"].blocked


def test_above_qps_limit_online_pin(rig: Callable[..., Rig]) -> None:
    """Above 1000.00 the card's CTQ asks for online PIN, which the reader takes."""
    r, first = _tap(rig, "unionpay-debit", 100_001)
    assert first.outcome == "online" and first.cvm == "online_pin"
    assert len(r.pad.online_calls) == 1
    assert parse_icc_data(first.icc_data)["9F66"][1] & 0x40


def test_qps_limit_from_host_parameters(rig: Callable[..., Rig]) -> None:
    """A terminal still on the old 300.00 limit asks for the PIN at 500.00."""
    config = TerminalConfig.china(qps_no_cvm_limit=30_000)
    _, first = _tap(rig, "unionpay-debit", 50_000, config=config)
    assert first.cvm == "online_pin"


def test_arqc_verifies_with_the_gpo_tvr(rig: Callable[..., Rig]) -> None:
    """The ARQC from the GPO response verifies from field 55 alone."""
    _, first = _tap(rig, "visa-credit", 2_000)
    icc = parse_icc_data(first.icc_data)
    check = issuer.verify_arqc(imk_ac=TEST_IMK_AC, pan=first.pan or "", psn=first.psn, icc=icc)
    assert check.ok and check.cryptogram_type == "ARQC"
    assert first.track2_equivalent is not None and first.expiry == "3012"


def test_phone_with_device_cvm(rig: Callable[..., Rig]) -> None:
    """A phone wallet verified its holder: no PIN above the limit, confirmed in the CVR."""
    r, first = _tap(rig, "quickpass-phone", 250_000)
    assert first.outcome == "online" and first.consumer_device_cvm and not r.pad.online_calls
    icc = parse_icc_data(first.icc_data)
    assert icc["9F34"] == CVM_RESULTS_CDCVM
    assert Cvr.is_set(IssuerApplicationData.parse(icc["9F10"]).cvr, Cvr.CDCVM_PERFORMED)


def test_above_contactless_limit_insert_card(rig: Callable[..., Rig]) -> None:
    """At or above the contactless transaction limit the card is not even activated."""
    r, first = _tap(rig, "unionpay-debit", 1_000_000)
    assert first.outcome == "insert_card" and "insert" in first.message
    assert r.kernel.trace == []


def test_contact_only_card_cannot_be_tapped(rig: Callable[..., Rig]) -> None:
    """A card without a contactless interface gives a card error on tap."""
    _, first = _tap(rig, "mastercard-credit", 1_000)
    assert first.outcome == "card_error" and not first.fallback_allowed


def test_pin_cancelled_on_tap(rig: Callable[..., Rig]) -> None:
    """Cancelling the online PIN ends the tap without going online."""
    _, first = _tap(rig, "unionpay-debit", 200_000, online=False)
    assert first.outcome == "declined_offline" and first.cvm == "failed"


def test_reader_without_cvm_asks_for_insert(rig: Callable[..., Rig]) -> None:
    """No online PIN on the reader and no signature: try another interface."""
    config = TerminalConfig.china(terminal_capabilities="E0B8C8")
    _, first = _tap(rig, "unionpay-debit", 200_000, config=config)
    assert first.outcome == "try_another_interface"


def test_contactless_disabled(rig: Callable[..., Rig]) -> None:
    """A terminal with contactless switched off says so before activating the card."""
    _, first = _tap(rig, "unionpay-debit", 100, config=TerminalConfig.china(contactless_enabled=False))
    assert first.outcome == "try_another_interface"


def test_blocked_application_is_not_selected_on_tap(rig: Callable[..., Rig]) -> None:
    """A blocked application answers SELECT with 6283 and is skipped: use another interface."""
    state = CardState({"A000000333010101": ApplicationState(blocked=True)})
    r, first = _tap(rig, "unionpay-debit", 100, state=state)
    assert first.outcome == "try_another_interface"
    assert any(e.sw == "6283" for e in r.kernel.trace)
