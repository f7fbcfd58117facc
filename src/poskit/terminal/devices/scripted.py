"""Scripted device adapters: drive the terminal from the CLI, scripts and tests.

A script says in advance what the people at the counter will do — confirm the
amount, present this test card this way, type this PIN — and records what the
terminal displayed and printed.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from poskit.cards.book import TestCard
from poskit.cards.magstripe import track2_for
from poskit.terminal.devices.ports import (
    CardPresentation,
    Devices,
    EntryKind,
    HostLink,
    PaperLevel,
    PrinterError,
)
from poskit.terminal.receipt import render_text

if TYPE_CHECKING:
    from poskit.terminal.receipt import Receipt

__all__ = [
    "FixedPower",
    "MemoryPrinter",
    "ScriptedDisplay",
    "ScriptedKeypad",
    "ScriptedPinEntry",
    "SystemClock",
    "TestCardReader",
    "scripted_devices",
]


@dataclasses.dataclass
class ScriptedDisplay:
    messages: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    echo: Callable[[str, str], None] | None = None

    async def show(self, text: str, *, level: Literal["info", "prompt", "success", "error"] = "info") -> None:
        self.messages.append((level, text))
        if self.echo is not None:
            self.echo(level, text)

    def texts(self) -> list[str]:
        return [t for _, t in self.messages]


@dataclasses.dataclass
class ScriptedKeypad:
    """Answers confirmations with ``confirm`` and text prompts from ``entries`` in order."""

    confirm_answer: bool = True
    entries: list[str] = dataclasses.field(default_factory=list)
    choices: list[int] = dataclasses.field(default_factory=list)

    async def confirm(self, prompt: str) -> bool:
        return self.confirm_answer

    async def read_text(self, prompt: str, *, secret: bool = False, max_length: int = 32) -> str | None:
        return self.entries.pop(0) if self.entries else None

    async def choose(self, prompt: str, options: Sequence[str]) -> int | None:
        return self.choices.pop(0) if self.choices else 0


class TestCardReader:
    """Presents a card from the test-card book by swipe, chip or tap."""

    __test__ = False

    def __init__(
        self,
        card: TestCard | None,
        entry: EntryKind = "swipe",
        *,
        chip_reader_ok: bool = True,
        chip_failures: int = 0,
        wallet: Path | None = None,
    ) -> None:
        self.card = card
        self.follow_advice = chip_failures > 0  # a cardholder who swipes when the chip will not read
        self.wallet = wallet  # where the chip's counters persist between processes (a card in a wallet)
        self._chip: Any = None
        self.entry = entry
        self._chip_ok = chip_reader_ok
        self.chip_failures = chip_failures
        self.prompts: list[str] = []
        self.presentations = 0

    @property
    def chip_reader_working(self) -> bool:
        return self._chip_ok

    def switch(self, entry: EntryKind) -> None:
        """The cardholder follows the terminal's advice (e.g. inserts instead of swiping)."""
        self.entry = entry

    async def read_card(self, prompt: str, *, allowed: Sequence[EntryKind]) -> CardPresentation | None:
        self.prompts.append(prompt)
        self.presentations += 1
        card = self.card
        if card is None or self.entry not in allowed:
            return None
        if self.entry == "swipe":
            if not card.has("magstripe"):
                return None
            return CardPresentation("swipe", track2=track2_for(card))
        if self.entry == "manual":
            return CardPresentation("manual", pan=card.pan, expiry=card.expiry)
        wanted = "chip" if self.entry == "chip" else "contactless"
        if not card.has(wanted):
            return None
        from poskit.cards.icc import VirtualCardTransport

        self._chip = self._load_chip(card)
        dead = self.chip_failures > 0 and self.entry == "chip"
        if dead:
            self.chip_failures -= 1  # a dirty or damaged chip: this insert does not answer
        transport = VirtualCardTransport(
            self._chip, contactless=self.entry == "tap", fail_power_on=1 if dead else 0
        )
        return CardPresentation(self.entry, icc=transport)

    def _state_file(self, card: TestCard) -> Path | None:
        return self.wallet / f"{card.name}.json" if self.wallet is not None else None

    def _load_chip(self, card: TestCard) -> Any:
        from poskit.cards.icc import virtual_card, virtual_card_for
        from poskit.cards.icc.card import CardState

        path = self._state_file(card)
        if path is None:
            return virtual_card_for(card)
        state = CardState.from_json(path.read_text()) if path.exists() else None
        return virtual_card(card, state=state)

    async def remove_card(self) -> None:
        """The card leaves the reader; a wallet keeps its chip counters (ATC, PIN tries) for next time."""
        if self._chip is None or self.card is None:
            return
        path = self._state_file(self.card)
        if path is not None:
            data = self._chip.state.to_dict()
            for app in data.get("applications", {}).values():
                app.pop("pin", None)  # a changed PIN never goes to disk
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(data, sort_keys=True))
        self._chip = None


@dataclasses.dataclass
class ScriptedPinEntry:
    """Types the PINs in ``pins`` in order; an empty script bypasses PIN entry."""

    pins: list[str] = dataclasses.field(default_factory=list)
    prompts: list[str] = dataclasses.field(default_factory=list)

    async def enter_pin(self, prompt: str, *, min_length: int = 4, max_length: int = 12) -> str | None:
        self.prompts.append(prompt)
        return self.pins.pop(0) if self.pins else None

    def __repr__(self) -> str:
        return f"ScriptedPinEntry(<{len(self.pins)} PINs>)"


@dataclasses.dataclass
class MemoryPrinter:
    """Keeps printed receipts as text; ``paper`` False simulates paper out, ``paper_low`` a near-end roll."""

    paper: bool = True
    printed: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    width: int = 42
    paper_low: bool = False

    def paper_level(self) -> PaperLevel:
        return "out" if not self.paper else "low" if self.paper_low else "ok"

    async def print_receipt(self, receipt: Receipt, *, copy: str) -> None:
        if not self.paper:
            raise PrinterError("paper out: load a new roll, then reprint")
        self.printed.append((copy, render_text(receipt, copy=copy, width=self.width)))

    async def print_report(self, title: str, lines: list[str]) -> None:
        if not self.paper:
            raise PrinterError("paper out: load a new roll, then print the report again")
        self.printed.append((title, "\n".join(lines) + "\n"))


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclasses.dataclass
class FixedPower:
    percent: int | None = 87
    on_charger: bool = True

    def battery_percent(self) -> int | None:
        return self.percent

    def charging(self) -> bool:
        return self.on_charger


def scripted_devices(
    link: HostLink,
    card_reader: TestCardReader,
    pin_entry: ScriptedPinEntry,
    *,
    display: ScriptedDisplay | None = None,
    printer: MemoryPrinter | None = None,
) -> Devices:
    """A headless counter: the scripted card and PINs, a keypad that confirms, mains power,
    the system clock, and (unless given to be shared) a fresh display and printer."""
    return Devices(
        display=display if display is not None else ScriptedDisplay(),
        keypad=ScriptedKeypad(),
        card_reader=card_reader,
        pin_entry=pin_entry,
        printer=printer if printer is not None else MemoryPrinter(),
        link=link,
        clock=SystemClock(),
        power=FixedPower(),
    )
