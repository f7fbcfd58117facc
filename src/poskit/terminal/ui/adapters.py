"""Device adapters for the Textual app: the terminal ports answered by screens.

Each port call the engine makes (confirm the amount, read a card, take a PIN, show a
message, print) becomes a screen pushed on the app and awaited, so the engine runs
unchanged in a Textual worker while the person at the counter answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal, Protocol, TypeVar

from textual.screen import Screen

from poskit.cards.book import CARD_BOOK, card_by_name
from poskit.terminal.devices.ports import CardPresentation, EntryKind, Printer
from poskit.terminal.devices.scripted import TestCardReader
from poskit.terminal.printing.devices import PrinterStatus
from poskit.terminal.receipt import Receipt
from poskit.terminal.ui.screens import ChoiceScreen, ConfirmScreen, PinScreen, TextEntryScreen
from poskit.terminal.ui.txn_screens import CardScreen

__all__ = [
    "PreviewPrinter",
    "ScreenHost",
    "SystemPower",
    "TuiCardReader",
    "TuiDisplay",
    "TuiKeypad",
    "TuiPinEntry",
]

T = TypeVar("T")
Level = Literal["info", "prompt", "success", "error"]


class ScreenHost(Protocol):
    """What the adapters need from the app."""

    async def ask(self, screen: Screen[T]) -> T:
        """Push ``screen`` and wait until it is dismissed with a result."""

    def show_message(self, text: str, level: Level) -> None:
        """Show an engine message on the screen in front."""


class TuiDisplay:
    def __init__(self, host: ScreenHost) -> None:
        self.host = host
        self.messages: list[tuple[Level, str]] = []

    async def show(self, text: str, *, level: Level = "info") -> None:
        self.messages.append((level, text))
        self.host.show_message(text, level)


class TuiKeypad:
    def __init__(self, host: ScreenHost) -> None:
        self.host = host

    async def confirm(self, prompt: str) -> bool:
        answer: bool = await self.host.ask(ConfirmScreen(prompt))
        return answer

    async def read_text(self, prompt: str, *, secret: bool = False, max_length: int = 32) -> str | None:
        return await self.host.ask(TextEntryScreen(prompt, secret=secret, max_length=max_length))

    async def choose(self, prompt: str, options: Sequence[str]) -> int | None:
        return await self.host.ask(ChoiceScreen(prompt, options))


class TuiPinEntry:
    """The PIN pad screen; what it returns goes straight to the secure element."""

    def __init__(self, host: ScreenHost) -> None:
        self.host = host

    def __repr__(self) -> str:
        return "TuiPinEntry()"

    async def enter_pin(self, prompt: str, *, min_length: int = 4, max_length: int = 12) -> str | None:
        return await self.host.ask(PinScreen(prompt, min_length=min_length, max_length=max_length))


class TuiCardReader:
    """Cards from the test-card book (swipe / insert / tap), or a real PC/SC reader for chip."""

    follow_advice = True  # the engine may ask to insert instead of swiping: prompt again

    def __init__(
        self,
        host: ScreenHost,
        *,
        source: Literal["book", "pcsc"] = "book",
        pcsc_reader: str | None = None,
        default_card: str | None = None,
        wallet: Path | None = None,
    ) -> None:
        self.host = host
        self.source = source
        self.wallet = wallet  # the cards' chip counters, shared with the CLI and the browser POS
        self._holder: TestCardReader | None = None
        self.pcsc_reader = pcsc_reader
        self.card_name = default_card or CARD_BOOK[0].name
        self.entry: EntryKind = "swipe"
        self._chip_ok = True
        self.reader_problem = ""
        if source == "pcsc":
            self._chip_ok = self._probe_pcsc()

    def _probe_pcsc(self) -> bool:
        from poskit.terminal.devices.pcsc_reader import PcscUnavailableError, list_readers

        try:
            readers = list_readers()
        except PcscUnavailableError as exc:
            self.reader_problem = str(exc)
            return False
        if not readers:
            self.reader_problem = "no PC/SC reader connected"
            return False
        return True

    @property
    def chip_reader_working(self) -> bool:
        return self._chip_ok

    def describe(self) -> str:
        if self.source == "pcsc":
            return f"PC/SC {self.pcsc_reader or '(first reader)'}" + (
                "" if self._chip_ok else f" — {self.reader_problem}"
            )
        return "test-card book"

    def switch(self, entry: EntryKind) -> None:
        """The terminal asked for another way (e.g. insert, not swipe): offer it first."""
        self.entry = entry

    async def read_card(self, prompt: str, *, allowed: Sequence[EntryKind]) -> CardPresentation | None:
        notice = ""
        while True:
            choice = await self.host.ask(
                CardScreen(
                    prompt,
                    allowed,
                    preferred=self.entry if self.entry in allowed else allowed[0],
                    card_name=self.card_name,
                    pcsc=self.source == "pcsc",
                    notice=notice,
                )
            )
            if choice is None:
                return None
            self.entry, self.card_name = choice.entry, choice.card_name
            if self.source == "pcsc" and choice.entry in ("chip", "tap"):
                from poskit.terminal.devices.pcsc_reader import PcscIccTransport

                return CardPresentation(choice.entry, icc=PcscIccTransport(self.pcsc_reader))
            book = TestCardReader(
                card_by_name(choice.card_name), choice.entry, chip_reader_ok=self._chip_ok, wallet=self.wallet
            )
            presentation = await book.read_card(prompt, allowed=allowed)
            if presentation is not None:
                self._holder = book
                return presentation
            notice = "This card cannot be read that way: try another way or another card"

    async def remove_card(self) -> None:
        if self._holder is not None:
            await self._holder.remove_card()  # the chip's counters go back to the wallet
            self._holder = None
        self.host.show_message("Please remove the card", "prompt")


class PreviewPrinter:
    """Keeps each printed copy for the on-screen preview and passes it to a real printer."""

    def __init__(self, backend: Printer | None = None) -> None:
        self.backend = backend
        self.jobs: list[tuple[str, Receipt]] = []
        self.reports: list[tuple[str, list[str]]] = []

    def __repr__(self) -> str:
        return f"PreviewPrinter({self.backend!r})"

    async def print_receipt(self, receipt: Receipt, *, copy: str) -> None:
        if self.backend is not None:
            await self.backend.print_receipt(receipt, copy=copy)  # PrinterError reaches the engine
        self.jobs.append((copy, receipt))

    async def print_report(self, title: str, lines: list[str]) -> None:
        report = getattr(self.backend, "print_report", None)
        if report is not None:
            await report(title, lines)
        self.reports.append((title, list(lines)))

    def take(self) -> list[tuple[str, Receipt]]:
        jobs, self.jobs = self.jobs, []
        return jobs

    def take_reports(self) -> list[tuple[str, list[str]]]:
        reports, self.reports = self.reports, []
        return reports

    def status(self) -> PrinterStatus:
        status = getattr(self.backend, "status", None)
        if status is None:
            return PrinterStatus(True, "receipts shown on screen only")
        result: PrinterStatus = status()
        return result


class SystemPower:
    """The machine's battery from /sys/class/power_supply (Linux); None means mains power."""

    def __init__(self, root: Path = Path("/sys/class/power_supply")) -> None:
        self.root = root

    def _read(self, path: Path) -> str | None:
        try:
            return path.read_text().strip()
        except OSError:
            return None

    def _battery(self) -> Path | None:
        if not self.root.is_dir():
            return None
        for supply in sorted(self.root.iterdir()):
            if self._read(supply / "type") == "Battery" and (supply / "capacity").exists():
                return supply
        return None

    def battery_percent(self) -> int | None:
        battery = self._battery()
        if battery is None:
            return None
        value = self._read(battery / "capacity")
        return int(value) if value and value.isdigit() else None

    def charging(self) -> bool:
        battery = self._battery()
        if battery is None:
            return True
        return self._read(battery / "status") in ("Charging", "Full", "Not charging")
