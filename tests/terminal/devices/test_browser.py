"""The browser device adapters: JSON events over a channel's queues, PIN keys kept off the page."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from poskit.cards.book import card_by_name
from poskit.terminal.devices.browser import (
    PNG_MAGIC,
    BrowserChannel,
    SignatureImageError,
    browser_kit,
    decode_signature,
)
from poskit.terminal.devices.ports import Devices, PrinterError
from poskit.terminal.receipt import Receipt


def drain(channel: BrowserChannel) -> list[dict[str, Any]]:
    events = []
    while not channel.outbox.empty():
        events.append(channel.outbox.get_nowait())
    return events


async def next_prompt(channel: BrowserChannel) -> dict[str, Any]:
    """Wait until the adapter under test has put its question on the page."""
    while True:
        event = await asyncio.wait_for(channel.outbox.get(), 2)
        if event["t"] == "prompt":
            return event


def answer(channel: BrowserChannel, prompt_id: int, **values: Any) -> None:
    channel.feed({"t": "answer", "id": prompt_id, **values})


def receipt(**overrides: Any) -> Receipt:
    values: dict[str, Any] = {
        "merchant_name": "快乐豆咖啡",
        "merchant_name_en": "Happy Bean Cafe",
        "merchant_no": "898310058120001",
        "terminal_id": "10000001",
        "operator": "01",
        "acquirer": "poskit Demo Acquirer",
        "issuer": "poskit Bank",
        "card_masked": "622202*********6789",
        "entry_mode": "chip",
        "txn_type": "SALE",
        "batch_no": 1,
        "voucher_no": 42,
        "rrn": "000000000042",
        "auth_code": "123456",
        "date_time": "2025-01-02 10:11:12",
        "amount": "12.50",
        "currency": "CNY",
    }
    values.update(overrides)
    return Receipt(**values)


async def test_display_sends_translated_message() -> None:
    """A display message reaches the page translated, with its level."""
    channel = BrowserChannel(translate=lambda text: {"Payment successful": "交易成功"}.get(text, text))
    kit = browser_kit(channel)
    await kit.display.show("Payment successful", level="success")
    assert drain(channel) == [{"t": "display", "text": "交易成功", "level": "success"}]


async def test_confirm_yes_no_and_cancel() -> None:
    """Enter answers yes, a cancel answers no."""
    channel = BrowserChannel()
    kit = browser_kit(channel)
    task = asyncio.create_task(kit.keypad.confirm("Amount CNY 12.50 — confirm?"))
    prompt = await next_prompt(channel)
    assert prompt["kind"] == "confirm"
    answer(channel, prompt["id"], value=True)
    assert await task is True
    task = asyncio.create_task(kit.keypad.confirm("again?"))
    prompt = await next_prompt(channel)
    answer(channel, prompt["id"], cancel=True)
    assert await task is False


async def test_stale_answers_are_ignored() -> None:
    """An answer to an earlier question never answers the current one."""
    channel = BrowserChannel()
    kit = browser_kit(channel)
    task = asyncio.create_task(kit.keypad.read_text("Auth code", max_length=6))
    prompt = await next_prompt(channel)
    answer(channel, prompt["id"] - 1, value="WRONG1")
    channel.feed({"t": "menu", "key": "sale"})
    answer(channel, prompt["id"], value=" AB12CD ")
    assert await task == "AB12CD"


async def test_read_digits_accepts_digits_or_empty_only() -> None:
    """Digit prompts return digits, "" for an empty Enter, and None for anything else."""
    channel = BrowserChannel()
    kit = browser_kit(channel)
    for typed, expected in (("000042", "000042"), ("", ""), ("12a4", None), ("1234567", None)):
        task = asyncio.create_task(kit.keypad.read_digits("Voucher no.", max_length=6))
        prompt = await next_prompt(channel)
        assert prompt["digits"] is True
        answer(channel, prompt["id"], value=typed)
        assert await task == expected


async def test_choose_rejects_out_of_range() -> None:
    """A choice outside the options (or a boolean) is no choice."""
    channel = BrowserChannel()
    kit = browser_kit(channel)
    for value, expected in ((1, 1), (5, None), (True, None), ("1", None)):
        task = asyncio.create_task(kit.keypad.choose("Pick", ["a", "b"]))
        prompt = await next_prompt(channel)
        assert prompt["options"] == ["a", "b"]
        answer(channel, prompt["id"], value=value)
        assert await task == expected


async def test_amount_prompt_carries_currency() -> None:
    """The amount question tells the page the currency and returns the typed amount text."""
    channel = BrowserChannel()
    kit = browser_kit(channel)
    task = asyncio.create_task(kit.keypad.read_amount("Enter amount", currency="CNY"))
    prompt = await next_prompt(channel)
    assert (prompt["kind"], prompt["currency"], prompt["exponent"]) == ("amount", "CNY", 2)
    answer(channel, prompt["id"], value="12.50")
    assert await task == "12.50"


async def test_pin_keys_build_the_pin_and_only_counts_go_back() -> None:
    """PIN keys are collected on the server; the page only ever learns how many there are."""
    channel = BrowserChannel()
    kit = browser_kit(channel)
    task = asyncio.create_task(kit.pin_entry.enter_pin("CNY 12.50  Enter PIN", min_length=4, max_length=6))
    prompt = await next_prompt(channel)
    assert (prompt["kind"], prompt["min"], prompt["max"]) == ("pin", 4, 6)
    for key in ("9", "9", "back", "clear", "1", "2", "3", "enter", "4", "5", "6", "7", "enter"):
        answer(channel, prompt["id"], key=key)
    assert await task == "123456"  # "7" was past the maximum of 6
    events = drain(channel)
    lengths = [e["length"] for e in events if e["t"] == "pin"]
    assert lengths == [1, 2, 1, 0, 1, 2, 3, 3, 4, 5, 6, 6]
    assert [e for e in events if e.get("short")] == [
        {"t": "pin", "id": prompt["id"], "length": 3, "short": True}
    ]
    assert "123456" not in json.dumps(events)
    assert events[-1] == {"t": "prompt_end", "id": prompt["id"]}


async def test_pin_enter_on_empty_bypasses_and_cancel_cancels() -> None:
    """Enter with no digits is a bypass (None), and so is the cancel key."""
    channel = BrowserChannel()
    kit = browser_kit(channel)
    for keys in (["enter"], ["1", "cancel"]):
        task = asyncio.create_task(kit.pin_entry.enter_pin("Enter PIN"))
        prompt = await next_prompt(channel)
        for key in keys:
            answer(channel, prompt["id"], key=key)
        assert await task is None
    task = asyncio.create_task(kit.pin_entry.enter_pin("Enter PIN"))
    prompt = await next_prompt(channel)
    answer(channel, prompt["id"], cancel=True)
    assert await task is None


async def test_pin_entry_repr_hides_everything() -> None:
    """Neither the PIN pad nor the channel shows what is in flight."""
    channel = BrowserChannel()
    kit = browser_kit(channel)
    channel.feed({"t": "answer", "id": 1, "key": "7"})
    assert "7" not in repr(kit.pin_entry)
    assert "key" not in repr(channel)


async def test_questions_time_out() -> None:
    """Nobody at the counter: the question ends as a cancel after the prompt timeout."""
    channel = BrowserChannel(prompt_timeout=0.05)
    kit = browser_kit(channel)
    assert await kit.keypad.confirm("confirm?") is False
    assert await kit.pin_entry.enter_pin("Enter PIN") is None
    assert channel.open_prompt is None


async def test_closing_the_page_cancels_open_and_future_questions() -> None:
    """When the page goes away every question is answered "cancel" and nothing more is queued."""
    channel = BrowserChannel()
    kit = browser_kit(channel)
    task = asyncio.create_task(kit.card_reader.read_card("Present the card", allowed=["chip"]))
    await next_prompt(channel)
    channel.close()
    assert await task is None
    assert await kit.keypad.read_text("anything") is None
    assert await channel.next_command() is None
    channel.feed({"t": "menu", "key": "sale"})
    await kit.display.show("nobody sees this")
    assert drain(channel) == []


async def test_next_command_skips_everything_but_menu_keys() -> None:
    """While idle only function keys count; malformed messages are dropped."""
    channel = BrowserChannel()
    for junk in ("text", 42, [], {"no": "type"}, {"t": 5}, {"t": "answer", "id": 3, "value": 1}):
        channel.feed(junk)
    channel.feed({"t": "menu", "key": "settle"})
    assert await channel.next_command() == {"t": "menu", "key": "settle"}


async def test_swipe_presents_the_cards_track() -> None:
    """A swipe of a book card gives its track 2; the page is told the card is in."""
    channel = BrowserChannel()
    kit = browser_kit(channel)
    task = asyncio.create_task(kit.card_reader.read_card("Swipe", allowed=["swipe", "chip", "tap"]))
    prompt = await next_prompt(channel)
    assert prompt["allowed"] == ["swipe", "chip", "tap"]
    answer(channel, prompt["id"], card="magstripe-debit", entry="swipe")
    presentation = await task
    assert presentation is not None and presentation.kind == "swipe"
    assert presentation.track2 is not None
    assert presentation.track2.pan == card_by_name("magstripe-debit").pan
    assert drain(channel)[-1] == {"t": "card_in", "card": "magstripe-debit", "entry": "swipe"}


@pytest.mark.parametrize(
    ("card", "entry", "allowed"),
    [
        ("magstripe-debit", "chip", ["swipe", "chip"]),  # no chip on that card
        ("quickpass-phone", "swipe", ["swipe", "tap"]),  # a phone has no stripe
        ("unionpay-debit", "tap", ["swipe", "chip"]),  # not offered by the terminal
        ("no-such-card", "swipe", ["swipe"]),
    ],
)
async def test_impossible_presentations_read_nothing(card: str, entry: str, allowed: list[str]) -> None:
    """A card presented a way it or the terminal cannot do reads as no card."""
    channel = BrowserChannel()
    kit = browser_kit(channel)
    task = asyncio.create_task(kit.card_reader.read_card("Present", allowed=allowed))  # type: ignore[arg-type]
    prompt = await next_prompt(channel)
    answer(channel, prompt["id"], card=card, entry=entry)
    assert await task is None


async def test_chip_insert_keeps_counters_in_the_wallet(tmp_path: Path) -> None:
    """An inserted chip card talks APDUs and, on removal, its counters go back to the wallet."""
    channel = BrowserChannel()
    kit = browser_kit(channel, wallet=tmp_path)
    task = asyncio.create_task(kit.card_reader.read_card("Insert", allowed=["chip"]))
    prompt = await next_prompt(channel)
    answer(channel, prompt["id"], card="unionpay-debit", entry="chip")
    presentation = await task
    assert presentation is not None and presentation.kind == "chip" and presentation.icc is not None
    assert kit.card_reader.entry == "chip"
    await kit.card_reader.remove_card()
    assert (tmp_path / "unionpay-debit.json").exists()
    assert kit.card_reader.entry is None
    assert drain(channel)[-1] == {"t": "card_out"}


async def test_advice_to_insert_is_shown_as_a_hint() -> None:
    """When the engine advises inserting, the next card question highlights the chip slot."""
    channel = BrowserChannel()
    kit = browser_kit(channel)
    assert kit.card_reader.follow_advice is True
    kit.card_reader.switch("chip")
    task = asyncio.create_task(kit.card_reader.read_card("Insert the card", allowed=["chip"]))
    prompt = await next_prompt(channel)
    assert prompt["hint"] == "chip"
    answer(channel, prompt["id"], cancel=True)
    assert await task is None


async def test_printer_sends_copies_and_fails_without_paper() -> None:
    """Each copy is rendered for the page's printer; no paper raises PrinterError."""
    channel = BrowserChannel()
    kit = browser_kit(channel)
    await kit.printer.print_receipt(receipt(), copy="merchant")
    (event,) = drain(channel)
    assert (event["t"], event["copy"], event["voucher"], event["reprint"]) == (
        "receipt",
        "merchant",
        42,
        False,
    )
    assert "MERCHANT COPY" in event["text"] and "CNY 12.50" in event["text"]
    channel.feed({"t": "paper", "loaded": False})
    with pytest.raises(PrinterError, match="paper out"):
        await kit.printer.print_receipt(receipt(), copy="cardholder")
    channel.feed({"t": "paper", "loaded": True})
    await kit.printer.print_receipt(receipt().as_reprint(), copy="cardholder")
    assert drain(channel)[0]["reprint"] is True


async def test_power_follows_the_pages_battery() -> None:
    """The page's battery reports drive the terminal's battery; nonsense is ignored."""
    channel = BrowserChannel()
    kit = browser_kit(channel)
    assert (kit.power.battery_percent(), kit.power.charging()) == (None, True)
    channel.feed({"t": "battery", "percent": 42.4, "charging": False})
    assert (kit.power.battery_percent(), kit.power.charging()) == (42, False)
    channel.feed({"t": "battery", "percent": 420, "charging": True})
    assert (kit.power.battery_percent(), kit.power.charging()) == (42, True)


def _png(body: bytes = b"\x00\x00\x00\rIHDR") -> str:
    return "data:image/png;base64," + base64.b64encode(PNG_MAGIC + body).decode()


async def test_signature_capture_returns_png_bytes_or_none() -> None:
    """A signed canvas arrives as PNG bytes; Skip gives None."""
    channel = BrowserChannel()
    kit = browser_kit(channel)
    task = asyncio.create_task(kit.signature_pad.capture("Cardholder signature", voucher="000042"))
    prompt = await next_prompt(channel)
    assert (prompt["kind"], prompt["voucher"]) == ("signature", "000042")
    answer(channel, prompt["id"], png=_png())
    assert (await task).startswith(PNG_MAGIC)  # type: ignore[union-attr]
    task = asyncio.create_task(kit.signature_pad.capture_signature("Sign", feature_code="1234ABCD"))
    prompt = await next_prompt(channel)
    assert prompt["feature_code"] == "1234ABCD"
    answer(channel, prompt["id"], cancel=True)
    assert await task is None


async def test_unusable_signature_is_asked_again() -> None:
    """A non-PNG answer is refused on the pad and the cardholder signs again."""
    channel = BrowserChannel()
    kit = browser_kit(channel)
    task = asyncio.create_task(kit.signature_pad.capture("Sign"))
    first = await next_prompt(channel)
    answer(channel, first["id"], png="data:image/gif;base64,R0lG")
    second = await next_prompt(channel)
    assert second["id"] != first["id"]
    answer(channel, second["id"], png=_png())
    assert (await task or b"").startswith(PNG_MAGIC)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (None, "no image"),
        ("data:image/jpeg;base64,AAAA", "not a PNG data URL"),
        ("data:image/png;base64,***", "bad base64"),
        (base64.b64encode(b"GIF89a...").decode(), "not a PNG image"),
        ("A" * 400_000, "larger than"),
    ],
)
def test_bad_signature_images_are_rejected(data: object, reason: str) -> None:
    """Anything but a modest PNG is refused with the reason."""
    with pytest.raises(SignatureImageError, match=reason):
        decode_signature(data)


@settings(max_examples=60)
@given(st.binary(max_size=2048))
def test_signature_png_round_trip(body: bytes) -> None:
    """Any PNG-signed payload comes back byte for byte, with or without the data URL header."""
    encoded = base64.b64encode(PNG_MAGIC + body).decode()
    assert decode_signature(encoded) == PNG_MAGIC + body
    assert decode_signature("data:image/png;base64," + encoded) == PNG_MAGIC + body


async def test_kit_makes_engine_devices() -> None:
    """The kit fills every port of the engine's device bundle, with the given host link."""
    channel = BrowserChannel()
    kit = browser_kit(channel)
    link = object()
    devices = kit.devices(link)  # type: ignore[arg-type]
    assert isinstance(devices, Devices)
    assert devices.link is link and devices.pin_entry is kit.pin_entry and devices.power is kit.power
    assert devices.signature_pad is kit.signature_pad
    assert devices.card_reader.chip_reader_working is True
