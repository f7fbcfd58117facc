"""Chip and contactless end to end: the EMV kernel, virtual cards and the host's ARQC/ARPC checks."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from poskit.cards.icc import VirtualCardTransport, virtual_card, virtual_card_for
from poskit.emv.transport import IccTransportError
from poskit.host.issuer_scripts import queue_action
from poskit.money import Amount
from poskit.store.db import WRITE, make_engine
from poskit.store.schema import issuer_cards
from poskit.store.schema_terminal_day import issuer_actions
from poskit.terminal.devices.ports import CardPresentation

pytestmark = pytest.mark.usefixtures("live_host")


def cny(text: str) -> Amount:
    return Amount.parse(text, "CNY")


class ChipReader:
    """Presents one given chip transport (for attack cards and misbehaving cards)."""

    def __init__(self, transport: Any, kind: str = "chip") -> None:
        self.transport = transport
        self.kind = kind

    @property
    def chip_reader_working(self) -> bool:
        return True

    async def read_card(self, prompt: str, *, allowed: Sequence[str]) -> CardPresentation | None:
        return CardPresentation(self.kind, icc=self.transport)  # type: ignore[arg-type]

    async def remove_card(self) -> None:
        return None


class PulledBeforeSecondAc:
    """The cardholder pulls the card out after the online request, before the second GENERATE AC."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.generate_ac = 0

    def power_on(self) -> bytes:
        return bytes(self.inner.power_on())

    def transmit(self, apdu: bytes) -> bytes:
        if apdu[1] == 0xAE:
            self.generate_ac += 1
            if self.generate_ac == 2:
                raise IccTransportError("card removed")
        return bytes(self.inner.transmit(apdu))

    def power_off(self) -> None:
        self.inner.power_off()


def _rows(settings: Any, query: Any) -> list[Any]:
    engine = make_engine(settings.resolved_database_url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(query).mappings())
    finally:
        engine.dispose()


async def test_chip_and_pin_sale_is_approved_with_a_verified_cryptogram(
    new_counter: Callable[..., Any], issuer_balance: Callable[[str], int]
) -> None:
    """Insert + online PIN: ARQC verified by the host's HSM, ARPC accepted, TC from the card."""
    counter = new_counter()
    before = issuer_balance("unionpay-debit")
    outcome = await counter.engine("unionpay-debit", entry="chip", pins=("123456",)).sale(cny("66.00"))
    assert outcome.approved, outcome.message
    assert outcome.entry_mode == "chip" and outcome.extra["cvm"] == "online_pin"
    assert outcome.extra["aid"] and len(outcome.extra["tvr"]) == 10
    assert outcome.extra["application_cryptogram"]
    assert issuer_balance("unionpay-debit") == before - 6600
    slip = counter.printer.printed[0][1]
    assert "AID:" in slip and "/I" in slip


async def test_small_tap_needs_no_pin_and_no_signature(new_counter: Callable[..., Any]) -> None:
    """A contactless tap under the QPS limit: no PIN, no signature, approved."""
    counter = new_counter()
    outcome = await counter.engine("quickpass-phone", entry="tap").sale(cny("35.00"))
    assert outcome.approved, outcome.message
    assert outcome.extra["cvm"] == "no_cvm"
    assert counter.pins.prompts == []
    assert "NO SIGNATURE REQUIRED" in counter.printer.printed[0][1]


async def test_tap_above_the_qps_limit_asks_for_the_online_pin(new_counter: Callable[..., Any]) -> None:
    """Above 1000.00 a tap needs an online PIN."""
    counter = new_counter()
    outcome = await counter.engine("unionpay-debit", entry="tap", pins=("123456",)).sale(cny("1200.00"))
    assert outcome.approved, outcome.message
    assert outcome.extra["cvm"] == "online_pin" and len(counter.pins.prompts) == 1


async def test_tap_above_the_contactless_limit_is_told_to_insert(new_counter: Callable[..., Any]) -> None:
    """Above the contactless transaction limit the reader says insert or swipe."""
    counter = new_counter()
    outcome = await counter.engine("unionpay-debit", entry="tap", pins=("123456",)).sale(cny("9000.00"))
    assert outcome.status == "failed" and "insert" in outcome.message.lower()


async def test_replayed_cryptogram_is_declined(new_counter: Callable[..., Any]) -> None:
    """A cloned chip replaying an old ATC is refused (34) even with a valid cryptogram."""
    counter = new_counter()
    first = await counter.engine("visa-credit", entry="chip").sale(cny("12.00"))
    assert first.approved, first.message
    clone = virtual_card("visa-credit")  # a fresh chip restarts its ATC at 1: a replay to the host
    outcome = (
        await counter.engine()
        .__class__(
            counter.store,
            counter.element,
            _devices(counter, ChipReader(VirtualCardTransport(clone))),
        )
        .sale(cny("12.00"))
    )
    assert outcome.status == "declined" and outcome.response_code == "34", outcome.message


def _devices(counter: Any, reader: Any) -> Any:
    base = counter.engine().devices
    base.card_reader = reader
    return base


@pytest.mark.parametrize(
    "attack", ["attack-ctq-cdcvm", "attack-brand-mixup", "attack-verify-bypass", "attack-aip-downgrade"]
)
async def test_known_emv_attacks_are_refused(new_counter: Callable[..., Any], attack: str) -> None:
    """Cards that lie about CVM, brand or AIP (Basin et al.; brand mix-up) are declined by the host."""
    counter = new_counter()
    reader = ChipReader(VirtualCardTransport(virtual_card(attack)), kind="tap" if "ctq" in attack else "chip")
    engine = counter.engine().__class__(counter.store, counter.element, _devices(counter, reader))
    counter.pins.pins = ["1234", "4321"]
    outcome = await engine.sale(cny("1500.00" if "ctq" in attack else "50.00"))
    assert not outcome.approved, f"{attack} was approved"
    assert outcome.response_code in ("59", "Z1") or outcome.status == "failed", outcome.message


async def test_card_pulled_after_approval_is_reversed(
    new_counter: Callable[..., Any], issuer_balance: Callable[[str], int]
) -> None:
    """The host approved but the card could not complete: the payment is reversed, money restored."""
    counter = new_counter()
    before = issuer_balance("unionpay-credit")
    reader = ChipReader(PulledBeforeSecondAc(VirtualCardTransport(virtual_card_for("unionpay-credit"))))
    engine = counter.engine().__class__(counter.store, counter.element, _devices(counter, reader))
    counter.pins.pins = ["111111"]
    outcome = await engine.sale(cny("40.00"))
    assert outcome.status == "failed" and outcome.reversal_pending, outcome.message
    assert issuer_balance("unionpay-credit") == before - 4000
    nxt = await counter.engine("magstripe-debit", pins=("654321",)).sale(cny("1.00"))
    assert nxt.approved
    assert issuer_balance("unionpay-credit") == before


async def test_issuer_script_unblocks_the_pin_and_is_reported(
    new_counter: Callable[..., Any], demo_settings: Any
) -> None:
    """The issuer queues a PIN unblock; the next chip sale carries the script; the 0620 advice closes it."""
    engine = make_engine(demo_settings.resolved_database_url)
    try:
        with engine.connect().execution_options(**WRITE) as conn, conn.begin():
            card_id = conn.execute(
                select(issuer_cards.c.id).where(issuer_cards.c.name == "unionpay-debit")
            ).scalar()
            action_id = queue_action(conn, card_id, "pin_unblock", now=datetime.now(UTC))
    finally:
        engine.dispose()
    counter = new_counter()
    outcome = await counter.engine("unionpay-debit", entry="chip", pins=("123456",)).sale(cny("9.00"))
    assert outcome.approved, outcome.message
    [action] = _rows(demo_settings, select(issuer_actions).where(issuer_actions.c.id == action_id))
    assert action["status"] == "done", action["result"]
    assert not counter.store.pending_uploads()  # the script advice was delivered


async def test_dead_chip_falls_back_to_swipe_after_three_tries(new_counter: Callable[..., Any]) -> None:
    """Three chip read failures, then the swipe is accepted and sent as a fallback (22=80x, 60.5=2)."""
    from poskit.cards.book import card_by_name
    from poskit.terminal.devices.scripted import TestCardReader

    counter = new_counter()
    engine = counter.engine("unionpay-debit", entry="chip", pins=("123456",))
    engine.devices.card_reader = TestCardReader(card_by_name("unionpay-debit"), "chip", chip_failures=3)
    outcome = await engine.sale(cny("19.00"))
    assert outcome.approved, outcome.message
    assert outcome.entry_mode == "fallback"
    assert any("insert the card again" in t for t in counter.display.texts())
    assert any("fallback" in t for t in counter.display.texts())


class _StubbornChipReader:
    """A reader that keeps offering the dead chip, or nothing once a swipe is asked for."""

    chip_reader_working = True
    follow_advice = False

    def __init__(self, card_name: str, *, after_fallback: str) -> None:
        from poskit.cards.book import card_by_name
        from poskit.terminal.devices.scripted import TestCardReader

        self.inner = TestCardReader(card_by_name(card_name), "chip", chip_failures=99)
        self.after_fallback = after_fallback
        self.reads = 0

    async def read_card(self, prompt: str, *, allowed: Any) -> Any:
        self.reads += 1
        if self.reads > 3 and self.after_fallback == "nothing":
            return None
        return await self.inner.read_card(prompt, allowed=allowed)

    async def remove_card(self) -> None:
        await self.inner.remove_card()


@pytest.mark.parametrize("after_fallback", ["chip", "nothing"])
async def test_fallback_ends_when_the_card_is_not_swiped(
    new_counter: Callable[..., Any], after_fallback: str
) -> None:
    """Three failed chip reads, the terminal asks for a swipe; a reader that offers the chip
    again (or nothing) ends the sale with a clear message after one more read: never a loop."""
    from poskit.terminal.engine import CHIP_TRIES, FALLBACK_FAILED

    counter = new_counter()
    engine = counter.engine("unionpay-debit", entry="chip", pins=("123456",))
    reader = _StubbornChipReader("unionpay-debit", after_fallback=after_fallback)
    engine.devices.card_reader = reader
    outcome = await asyncio.wait_for(engine.sale(cny("19.00")), timeout=60)
    assert not outcome.approved
    assert reader.reads == CHIP_TRIES + 1
    expected = FALLBACK_FAILED if after_fallback == "chip" else "no card presented"
    assert outcome.message.startswith(expected), outcome.message
    assert sum("swipe the card instead" in t for t in counter.display.texts()) == 1


async def test_chip_data_is_kept_for_the_portal_without_sensitive_tags(
    new_counter: Callable[..., Any], demo_settings: Any
) -> None:
    """The host keeps the chip's non-sensitive tags (TVR, ARQC, AID...) for the portal; never 57 or 5A."""
    from poskit.store.schema import transactions

    counter = new_counter()
    outcome = await counter.engine("unionpay-debit", entry="chip", pins=("123456",)).sale(cny("7.00"))
    assert outcome.approved, outcome.message
    [row] = _rows(demo_settings, select(transactions.c.response).where(transactions.c.rrn == outcome.rrn))
    emv = row["response"]["emv"]
    assert {"9F26", "95", "9F36"} <= set(emv)
    assert "57" not in emv and "5A" not in emv
