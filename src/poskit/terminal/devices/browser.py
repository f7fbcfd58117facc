"""Browser device adapters: the terminal's ports served by a web page over a WebSocket.

The page (``/pos/{terminal_id}``) is the POS machine's face: its screen, keypad,
card slot, printer and signature pad. These adapters exchange small JSON events with
it through two asyncio queues of a :class:`BrowserChannel`:

* ``outbox`` — events for the page (``display``, ``prompt``, ``pin``, ``receipt`` ...),
  which the WebSocket handler sends in order;
* ``inbox`` — the page's answers, fed by the WebSocket handler with :meth:`BrowserChannel.feed`.

Every question the terminal asks is a *prompt* with an id; the page answers that id
(``{"t": "answer", "id": 7, "value": ...}`` or ``"cancel": true``), so a late answer to
an old prompt can never answer a new one. The PIN pad works key by key: each key the
cardholder presses goes to :class:`BrowserPinEntry`, which keeps the digits in a
bytearray (wiped afterwards) and tells the page only how many there are, so the page
draws asterisks and never holds the PIN. PIN keys are never logged or echoed.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import dataclasses
import itertools
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from poskit.cards.book import CARD_BOOK, TestCard, UnknownCardError, card_by_name
from poskit.terminal.devices.ports import (
    CardPresentation,
    Clock,
    Devices,
    EntryKind,
    HostLink,
    PaperLevel,
    PrinterError,
)
from poskit.terminal.devices.scripted import SystemClock, TestCardReader
from poskit.terminal.receipt import render_text

if TYPE_CHECKING:
    from poskit.terminal.receipt import Receipt

__all__ = [
    "PNG_MAGIC",
    "BrowserCardReader",
    "BrowserChannel",
    "BrowserDisplay",
    "BrowserKeypad",
    "BrowserKit",
    "BrowserPinEntry",
    "BrowserPower",
    "BrowserPrinter",
    "BrowserSignaturePad",
    "SignatureImageError",
    "browser_kit",
]

Event = dict[str, Any]
Level = Literal["info", "prompt", "success", "error"]

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
#: A signature canvas of a few hundred pixels compresses to a few kB; anything far larger is not one.
MAX_SIGNATURE_BYTES = 256 * 1024
_PIN_KEYS = frozenset("0123456789")
_ENTRY_KINDS: tuple[EntryKind, ...] = ("swipe", "chip", "tap", "manual")


class SignatureImageError(ValueError):
    """The page sent something that is not a usable signature image."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"signature image rejected: {reason}")
        self.reason = reason


def _identity(text: str) -> str:
    return text


class BrowserChannel:
    """The two queues between the terminal's adapters and one page.

    ``translate`` turns the engine's English messages into the page's language.
    ``prompt_timeout`` bounds how long any one question waits for the person at the
    counter (a real POS returns to idle after about a minute).
    """

    def __init__(
        self,
        *,
        translate: Callable[[str], str] = _identity,
        prompt_timeout: float = 120.0,
    ) -> None:
        self.outbox: asyncio.Queue[Event] = asyncio.Queue()
        self.inbox: asyncio.Queue[Event] = asyncio.Queue()
        self.translate = translate
        self.prompt_timeout = prompt_timeout
        self.closed = False
        self.open_prompt: int | None = None
        self._ids = itertools.count(1)
        self._side: dict[str, Callable[[Mapping[str, Any]], None]] = {}

    def __repr__(self) -> str:  # the queues may hold PIN keys in flight: never show them
        return f"BrowserChannel(closed={self.closed}, open_prompt={self.open_prompt})"

    # ------------------------------------------------------------ page -> terminal
    def on(self, event_type: str, handler: Callable[[Mapping[str, Any]], None]) -> None:
        """Handle ``event_type`` as soon as it arrives (battery, paper), outside any prompt."""
        self._side[event_type] = handler

    def feed(self, message: object) -> None:
        """One JSON object from the page. Malformed messages are dropped silently."""
        if self.closed or not isinstance(message, dict):
            return
        kind = message.get("t")
        if not isinstance(kind, str):
            return
        handler = self._side.get(kind)
        if handler is not None:
            handler(message)
            return
        self.inbox.put_nowait(message)

    def close(self) -> None:
        """The page went away: every open and future question is answered "cancel"."""
        if not self.closed:
            self.closed = True
            self.inbox.put_nowait({"t": "closed"})

    # ------------------------------------------------------------ terminal -> page
    def send(self, event: Event) -> None:
        if not self.closed:
            self.outbox.put_nowait(event)

    def new_prompt(self, kind: str, prompt: str, **extra: Any) -> int:
        """Put a question on the page and return its id."""
        prompt_id = next(self._ids)
        self.open_prompt = prompt_id
        self.send({"t": "prompt", "id": prompt_id, "kind": kind, "prompt": self.translate(prompt), **extra})
        return prompt_id

    def end_prompt(self, prompt_id: int) -> None:
        if self.open_prompt == prompt_id:
            self.open_prompt = None
            self.send({"t": "prompt_end", "id": prompt_id})

    async def wait_answer(self, prompt_id: int, *, deadline: float | None = None) -> Event | None:
        """The next event answering ``prompt_id``; None on cancel, time-out or a closed page."""
        loop = asyncio.get_running_loop()
        if deadline is None:
            deadline = loop.time() + self.prompt_timeout
        while not self.closed:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return None
            try:
                event = await asyncio.wait_for(self.inbox.get(), remaining)
            except TimeoutError:
                return None
            if event.get("t") != "answer" or event.get("id") != prompt_id:
                continue  # a stale answer, a menu key pressed while busy, or "closed"
            if event.get("cancel"):
                return None
            return event
        return None

    async def ask(self, kind: str, prompt: str, **extra: Any) -> Event | None:
        """Ask one question and wait for its answer (None when cancelled)."""
        prompt_id = self.new_prompt(kind, prompt, **extra)
        try:
            return await self.wait_answer(prompt_id)
        finally:
            self.end_prompt(prompt_id)

    async def next_command(self) -> Event | None:
        """The next function-key or menu command while the terminal is idle; None once closed."""
        while not self.closed:
            event = await self.inbox.get()
            if event.get("t") == "menu":
                return event
        return None


class BrowserDisplay:
    """The POS screen's message line."""

    def __init__(self, channel: BrowserChannel) -> None:
        self.channel = channel
        self.last: tuple[str, str] | None = None

    async def show(self, text: str, *, level: Level = "info") -> None:
        self.last = (level, text)
        self.channel.send({"t": "display", "text": self.channel.translate(text), "level": level})


class BrowserKeypad:
    """Confirmations, digits and choices typed on the page's keypad."""

    def __init__(self, channel: BrowserChannel) -> None:
        self.channel = channel

    async def confirm(self, prompt: str) -> bool:
        answer = await self.channel.ask("confirm", prompt)
        return bool(answer is not None and answer.get("value") is True)

    async def read_text(self, prompt: str, *, secret: bool = False, max_length: int = 32) -> str | None:
        answer = await self.channel.ask("text", prompt, secret=secret, max=max_length)
        if answer is None:
            return None
        value = answer.get("value")
        if not isinstance(value, str):
            return None
        return value.strip()[:max_length]

    async def read_digits(self, prompt: str, *, max_length: int, secret: bool = False) -> str | None:
        """Digits only (voucher, reference and date numbers, passwords)."""
        answer = await self.channel.ask("text", prompt, secret=secret, max=max_length, digits=True)
        if answer is None:
            return None
        value = answer.get("value")
        if not isinstance(value, str):
            return None
        value = value.strip()
        if value == "" or (value.isdigit() and len(value) <= max_length):
            return value  # "" is Enter on an empty line: "the default" where there is one
        return None

    async def read_amount(self, prompt: str, *, currency: str, exponent: int = 2) -> str | None:
        """An amount typed POS-style (digits shift in from the right): the plain decimal text."""
        answer = await self.channel.ask("amount", prompt, currency=currency, exponent=exponent)
        if answer is None:
            return None
        value = answer.get("value")
        return value if isinstance(value, str) else None

    async def choose(self, prompt: str, options: Sequence[str]) -> int | None:
        answer = await self.channel.ask(
            "choose", prompt, options=[self.channel.translate(o) for o in options]
        )
        if answer is None:
            return None
        value = answer.get("value")
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(options):
            return value
        return None


class BrowserCardReader:
    """The card slot of the page: a card of the test-card book, swiped, inserted or tapped.

    Chip and contactless presentations use the same virtual chips (and, with ``wallet``,
    the same persisted chip counters) as ``poskit pay``, so a card keeps its ATC between
    the CLI and the browser.
    """

    #: The engine may ask the cardholder to present the card another way and read again.
    follow_advice = True

    def __init__(
        self,
        channel: BrowserChannel,
        *,
        cards: Sequence[TestCard] = CARD_BOOK,
        wallet: Path | None = None,
        chip_reader_ok: bool = True,
    ) -> None:
        self.channel = channel
        self.cards = {c.name: c for c in cards}
        self.wallet = wallet
        self._chip_ok = chip_reader_ok
        self.entry: EntryKind | None = None
        self._holder: TestCardReader | None = None

    @property
    def chip_reader_working(self) -> bool:
        return self._chip_ok

    def switch(self, entry: EntryKind) -> None:
        """The terminal advised another way to present the card: the page highlights it."""
        self.entry = entry

    async def read_card(self, prompt: str, *, allowed: Sequence[EntryKind]) -> CardPresentation | None:
        allowed_kinds = [k for k in allowed if k in _ENTRY_KINDS]
        answer = await self.channel.ask("card", prompt, allowed=allowed_kinds, hint=self.entry)
        if answer is None:
            return None
        name, entry = answer.get("card"), answer.get("entry")
        if not isinstance(name, str) or entry not in allowed_kinds:
            return None
        try:
            card = self.cards.get(name) or card_by_name(name)
        except UnknownCardError:
            return None
        self.entry = entry
        holder = TestCardReader(card, entry, chip_reader_ok=self._chip_ok, wallet=self.wallet)
        presentation = await holder.read_card(prompt, allowed=allowed_kinds)
        if presentation is not None and presentation.kind in ("chip", "tap"):
            self._holder = holder
        if presentation is not None:
            self.channel.send({"t": "card_in", "card": name, "entry": entry})
        return presentation

    async def remove_card(self) -> None:
        holder, self._holder = self._holder, None
        self.entry = None
        if holder is not None:
            await holder.remove_card()  # the chip's counters go back to the wallet
        self.channel.send({"t": "card_out"})


class BrowserPinEntry:
    """The PIN pad: keys arrive one by one and only their count goes back to the page."""

    def __init__(self, channel: BrowserChannel) -> None:
        self.channel = channel

    def __repr__(self) -> str:
        return "BrowserPinEntry(<PIN pad>)"

    async def enter_pin(self, prompt: str, *, min_length: int = 4, max_length: int = 12) -> str | None:
        channel = self.channel
        prompt_id = channel.new_prompt("pin", prompt, min=min_length, max=max_length)
        deadline = asyncio.get_running_loop().time() + channel.prompt_timeout
        digits = bytearray()
        try:
            while True:
                event = await channel.wait_answer(prompt_id, deadline=deadline)
                if event is None:
                    return None
                key = event.get("key")
                if not isinstance(key, str):
                    continue
                if key in _PIN_KEYS and len(key) == 1:
                    if len(digits) < max_length:
                        digits.append(ord(key))
                elif key == "back":
                    if digits:
                        digits.pop()
                elif key == "clear":
                    digits.clear()
                elif key == "cancel":
                    return None
                elif key == "enter":
                    if not digits:
                        return None  # Enter on an empty PIN pad bypasses PIN entry
                    if len(digits) >= min_length:
                        return digits.decode("ascii")
                    channel.send({"t": "pin", "id": prompt_id, "length": len(digits), "short": True})
                    continue
                else:
                    continue
                channel.send({"t": "pin", "id": prompt_id, "length": len(digits)})
        finally:
            for i in range(len(digits)):
                digits[i] = 0
            channel.end_prompt(prompt_id)


class BrowserPrinter:
    """The thermal printer: each copy slides out of the page's printer as text."""

    def __init__(self, channel: BrowserChannel, *, width: int = 32) -> None:
        self.channel = channel
        self.width = width
        self.paper = True
        channel.on("paper", self._on_paper)

    def _on_paper(self, event: Mapping[str, Any]) -> None:
        self.paper = event.get("loaded") is not False

    def paper_level(self) -> PaperLevel:
        return "ok" if self.paper else "out"

    async def print_receipt(self, receipt: Receipt, *, copy: str) -> None:
        if not self.paper:
            raise PrinterError("paper out: load a new roll, then reprint")
        self.channel.send(
            {
                "t": "receipt",
                "copy": copy,
                "voucher": receipt.voucher_no,
                "reprint": receipt.reprint,
                "text": render_text(receipt, copy=copy, width=self.width),
                # the cardholder's copy carries the e-receipt QR code, as the paper slip does
                "qr": _qr_svg(receipt.e_receipt_url)
                if copy == "cardholder" and receipt.e_receipt_url
                else None,
            }
        )

    async def print_report(self, title: str, lines: list[str]) -> None:
        """A report (the settlement report) slides out of the page's printer like a receipt."""
        if not self.paper:
            raise PrinterError("paper out: load a new roll, then print the report again")
        self.channel.send(
            {
                "t": "receipt",
                "copy": "report",
                "voucher": None,
                "reprint": False,
                "text": "\n".join([title, *lines]) + "\n",
            }
        )


class BrowserPower:
    """The battery of the device showing the page (Battery Status API), else mains power."""

    def __init__(self, channel: BrowserChannel, *, percent: int | None = None, charging: bool = True) -> None:
        self.percent = percent
        self.on_charger = charging
        channel.on("battery", self._on_battery)

    def _on_battery(self, event: Mapping[str, Any]) -> None:
        level = event.get("percent")
        if isinstance(level, int | float) and not isinstance(level, bool) and 0 <= level <= 100:
            self.percent = int(level)
        self.on_charger = event.get("charging") is not False

    def battery_percent(self) -> int | None:
        return self.percent

    def charging(self) -> bool:
        return self.on_charger


class BrowserSignaturePad:
    """The cardholder signs on the page's canvas; the terminal gets the PNG bytes."""

    def __init__(
        self, channel: BrowserChannel, *, max_bytes: int = MAX_SIGNATURE_BYTES, tries: int = 3
    ) -> None:
        self.channel = channel
        self.max_bytes = max_bytes
        self.tries = tries

    async def capture_signature(self, prompt: str, *, feature_code: str) -> bytes | None:
        """The signature port: the page shows the feature code (特征码) above the pad."""
        return await self.capture(prompt, feature_code=feature_code)

    async def capture(self, prompt: str, **context: Any) -> bytes | None:
        """The signature as PNG, or None when the cardholder skipped or cancelled.

        An unusable image (not a PNG, too large) is refused on the pad and asked for again.
        """
        for _ in range(self.tries):
            answer = await self.channel.ask("signature", prompt, **context)
            if answer is None:
                return None
            try:
                return decode_signature(answer.get("png"), max_bytes=self.max_bytes)
            except SignatureImageError as exc:
                self.channel.send(
                    {"t": "display", "text": self.channel.translate(str(exc)), "level": "error"}
                )
        return None


def decode_signature(data: object, *, max_bytes: int = MAX_SIGNATURE_BYTES) -> bytes:
    """PNG bytes from a canvas ``data:image/png;base64,...`` URL or bare base64."""
    if not isinstance(data, str) or not data:
        raise SignatureImageError("no image")
    if data.startswith("data:"):
        header, _, data = data.partition(",")
        if header != "data:image/png;base64":
            raise SignatureImageError("not a PNG data URL")
    if len(data) > (max_bytes * 4) // 3 + 4:
        raise SignatureImageError(f"larger than {max_bytes} bytes")
    try:
        image = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise SignatureImageError("bad base64") from None
    if not image.startswith(PNG_MAGIC):
        raise SignatureImageError("not a PNG image")
    return image


@dataclasses.dataclass
class BrowserKit:
    """One page's set of adapters; :meth:`devices` adds the host link and clock."""

    channel: BrowserChannel
    display: BrowserDisplay
    keypad: BrowserKeypad
    card_reader: BrowserCardReader
    pin_entry: BrowserPinEntry
    printer: BrowserPrinter
    power: BrowserPower
    signature_pad: BrowserSignaturePad
    clock: Clock = dataclasses.field(default_factory=SystemClock)

    def devices(self, link: HostLink) -> Devices:
        return Devices(
            display=self.display,
            keypad=self.keypad,
            card_reader=self.card_reader,
            pin_entry=self.pin_entry,
            printer=self.printer,
            link=link,
            clock=self.clock,
            power=self.power,
            signature_pad=self.signature_pad,
        )


def browser_kit(
    channel: BrowserChannel,
    *,
    wallet: Path | None = None,
    cards: Sequence[TestCard] = CARD_BOOK,
    chip_reader_ok: bool = True,
    clock: Clock | None = None,
) -> BrowserKit:
    """All the browser adapters over one channel."""
    return BrowserKit(
        channel=channel,
        display=BrowserDisplay(channel),
        keypad=BrowserKeypad(channel),
        card_reader=BrowserCardReader(channel, cards=cards, wallet=wallet, chip_reader_ok=chip_reader_ok),
        pin_entry=BrowserPinEntry(channel),
        printer=BrowserPrinter(channel),
        power=BrowserPower(channel),
        signature_pad=BrowserSignaturePad(channel),
        clock=clock or SystemClock(),
    )


def _qr_svg(url: str) -> str:
    """The link's QR code as an SVG data URI for the page's paper slip."""
    import segno

    return str(segno.make(url, error="m", micro=False).svg_data_uri(scale=3, border=2))
