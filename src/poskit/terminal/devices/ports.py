"""Device ports: the interfaces between the terminal core and its hardware or UI.

The terminal engine never imports a UI or hardware library. The display, keypad,
card reader, PIN pad, printer, network and clock are these protocols, with
adapters for scripts and tests (``scripted``), the Textual TUI, the browser POS,
real PC/SC readers and ESC/POS printers.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

from poskit.cards.track2 import Track2

if TYPE_CHECKING:
    from poskit.terminal.receipt import Receipt

__all__ = [
    "CardPresentation",
    "CardReader",
    "Clock",
    "ConnectFailed",
    "Devices",
    "Display",
    "HostLink",
    "Keypad",
    "LinkError",
    "NoResponse",
    "PaperLevel",
    "PaperSensor",
    "PinEntry",
    "PowerSource",
    "Printer",
    "PrinterError",
    "SignaturePad",
]

EntryKind = Literal["swipe", "chip", "tap", "manual"]


class LinkError(Exception):
    """A network exchange failed."""

    sent: bool = False


class ConnectFailed(LinkError):
    """No connection: nothing was sent, so nothing needs reversing."""

    sent = False


class NoResponse(LinkError):
    """The request went out but no usable response came back in time."""

    sent = True


class PrinterError(Exception):
    """The printer could not print (paper out, cover open, offline)."""


class Display(Protocol):
    async def show(self, text: str, *, level: Literal["info", "prompt", "success", "error"] = "info") -> None:
        """Show one message to the operator / cardholder."""


class Keypad(Protocol):
    async def confirm(self, prompt: str) -> bool:
        """Ask a yes/no question (e.g. confirm the amount)."""

    async def read_text(self, prompt: str, *, secret: bool = False, max_length: int = 32) -> str | None:
        """Read digits or text; None when the operator cancels."""

    async def choose(self, prompt: str, options: Sequence[str]) -> int | None:
        """Pick one of several options (e.g. an application on a chip card)."""


@dataclasses.dataclass(frozen=True)
class CardPresentation:
    """What the reader got from the card: a stripe read, or a chip/contactless session."""

    kind: EntryKind
    track2: Track2 | None = None
    icc: object | None = None  # an IccTransport (poskit.emv) for chip and tap
    pan: str | None = None  # manual entry only
    expiry: str | None = None
    fallback: bool = False  # a swipe after the chip could not be read

    def __repr__(self) -> str:
        return f"CardPresentation(kind={self.kind!r}, fallback={self.fallback})"


class CardReader(Protocol):
    async def read_card(self, prompt: str, *, allowed: Sequence[EntryKind]) -> CardPresentation | None:
        """Wait for a swipe, insert or tap; None when cancelled or timed out."""

    async def remove_card(self) -> None:
        """Ask for the card to be removed (end of a chip transaction)."""

    @property
    def chip_reader_working(self) -> bool: ...


class PinEntry(Protocol):
    """The PIN pad keyboard. Digits go straight into the secure element, never to the core."""

    async def enter_pin(self, prompt: str, *, min_length: int = 4, max_length: int = 12) -> str | None:
        """Collect a PIN; None when bypassed or cancelled. Only the secure element sees the result."""


class Printer(Protocol):
    async def print_receipt(self, receipt: Receipt, *, copy: str) -> None:
        """Print one copy (merchant / cardholder / bank); raises PrinterError."""

    async def print_report(self, title: str, lines: list[str]) -> None:
        """Print a report (the settlement report); raises PrinterError."""


PaperLevel = Literal["ok", "low", "out"]


@runtime_checkable
class PaperSensor(Protocol):
    """A printer that can tell its paper level (the heartbeat reports it); others report nothing."""

    def paper_level(self) -> PaperLevel: ...


class HostLink(Protocol):
    async def exchange(self, frame: bytes, *, timeout: float) -> bytes:
        """Send one framed message and return the framed response.

        Raises ConnectFailed when nothing was sent, NoResponse after sending.
        """

    async def probe(self, *, timeout: float) -> bool:
        """Can we reach the host at all (TCP connect)?"""

    @property
    def address(self) -> str: ...


class SignaturePad(Protocol):
    """Captures the cardholder's signature on the device (canvas, touch screen); PNG bytes or None."""

    async def capture_signature(self, prompt: str, *, feature_code: str) -> bytes | None: ...


class Clock(Protocol):
    def now(self) -> datetime: ...


class PowerSource(Protocol):
    def battery_percent(self) -> int | None: ...

    def charging(self) -> bool: ...


@dataclasses.dataclass
class Devices:
    """Everything the terminal engine talks to."""

    display: Display
    keypad: Keypad
    card_reader: CardReader
    pin_entry: PinEntry
    printer: Printer
    link: HostLink
    clock: Clock
    power: PowerSource
    signature_pad: SignaturePad | None = None
