"""Screens of a transaction: card prompt, progress, result with receipt preview, signature."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal, cast

from rich.cells import cell_len
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Input, LoadingIndicator, OptionList, Static
from textual.widgets.option_list import Option

from poskit.cards.book import CARD_BOOK
from poskit.terminal.devices.ports import EntryKind
from poskit.terminal.receipt import Receipt
from poskit.terminal.ui.screens import PosScreen
from poskit.terminal.ui.signature_image import SignatureImageError, grid_to_png, load_signature_image
from poskit.terminal.ui.widgets import ReceiptView, SignaturePad

__all__ = ["BusyScreen", "CardChoice", "CardScreen", "ResultScreen", "ResultView", "SignatureScreen"]

Level = Literal["info", "prompt", "success", "error"]


@dataclasses.dataclass(frozen=True)
class CardChoice:
    entry: EntryKind
    card_name: str


_ENTRY_KEYS: dict[str, EntryKind] = {"s": "swipe", "i": "chip", "t": "tap"}


class CardScreen(PosScreen[CardChoice | None]):
    """Swipe, insert or tap: a card from the test-card book, or the real PC/SC reader."""

    TITLE = "Present card"
    HINTS = "S = swipe · I = insert · T = tap · Esc = cancel"
    BINDINGS: ClassVar[list[Any]] = [
        Binding("s", "present('swipe')", show=False),
        Binding("i", "present('chip')", show=False),
        Binding("t", "present('tap')", show=False),
        Binding("escape", "cancel", show=False),
    ]

    def __init__(
        self,
        prompt: str,
        allowed: Sequence[EntryKind],
        *,
        preferred: EntryKind = "swipe",
        card_name: str | None = None,
        pcsc: bool = False,
        notice: str = "",
    ) -> None:
        super().__init__()
        self.prompt = prompt
        self.allowed = tuple(allowed)
        self.preferred = preferred
        self.card_name = card_name or CARD_BOOK[0].name
        self.pcsc = pcsc
        self.notice = notice

    def body(self) -> ComposeResult:
        yield Static(Text(self.pos.text.engine(self.prompt)), classes="prompt", id="card-prompt")
        if self.notice:
            yield Static(Text(self.pos.text.engine(self.notice)), classes="error", id="notice")
        yield Static(self._("Test card (poskit cards shows their PINs):"), classes="info")
        names = [c.name for c in CARD_BOOK]
        yield OptionList(
            *[
                Option(
                    Text(f"{c.name} — {self._(c.description)}", no_wrap=True, overflow="ellipsis"), id=c.name
                )
                for c in CARD_BOOK
            ],
            id="cards",
        )
        with Horizontal(classes="buttons"):
            for kind, label in (("swipe", "Swipe"), ("chip", "Insert"), ("tap", "Tap")):
                text = self._(label)
                if self.pcsc and kind in ("chip", "tap"):
                    text += " (PC/SC)"
                button = Button(
                    text, id=f"entry-{kind}", variant="primary" if kind == self.preferred else "default"
                )
                button.disabled = kind not in self.allowed
                yield button
            yield Button(self._("Cancel"), id="entry-cancel", variant="error")
        if self.card_name in names:
            self._initial = names.index(self.card_name)
        else:
            self._initial = 0

    def on_mount(self) -> None:
        cards = self.query_one("#cards", OptionList)
        cards.highlighted = self._initial
        cards.focus()

    def select_card(self, name: str) -> None:
        """Highlight the card called ``name`` (as an operator would with the arrows)."""
        names = [c.name for c in CARD_BOOK]
        self.query_one("#cards", OptionList).highlighted = names.index(name)

    def _card(self) -> str:
        index = self.query_one("#cards", OptionList).highlighted
        return CARD_BOOK[index or 0].name

    def action_present(self, kind: str) -> None:
        entry = _ENTRY_KEYS.get(kind) or cast(EntryKind, kind)
        if entry not in self.allowed:
            self.query_one("#card-prompt", Static).update(self._("This terminal does not accept that now"))
            return
        self.dismiss(CardChoice(entry, self._card()))

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.action_present(self.preferred)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        kind = (event.button.id or "").removeprefix("entry-")
        if kind == "cancel":
            self.action_cancel()
        else:
            self.action_present(kind)

    def action_cancel(self) -> None:
        self.dismiss(None)


class BusyScreen(PosScreen[None]):
    """Shown while the terminal works (dialling the host, printing); shows its messages."""

    HINTS = "Please wait"

    def __init__(self, title: str) -> None:
        super().__init__()
        self.title_msgid = title
        self.messages: list[tuple[Level, str]] = []

    def title_text(self) -> str:
        return self._(self.title_msgid)

    def body(self) -> ComposeResult:
        yield LoadingIndicator()
        level, text = self.messages[-1] if self.messages else ("info", self._("Please wait"))
        yield Static(Text(self.pos.text.engine(text)), classes=level, id="busy-message")

    def show(self, text: str, level: Level) -> None:
        self.messages.append((level, text))
        if self.is_mounted:
            message = self.query_one("#busy-message", Static)
            message.set_classes(level)
            message.update(Text(self.pos.text.engine(text)))


@dataclasses.dataclass
class ResultView:
    """What the result screen shows; built by the flows from an engine outcome."""

    status: str  # approved | declined | failed | info
    message: str
    details: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    receipt: Receipt | None = None
    receipt_copy: str = "merchant"
    can_retry: bool = False
    report: list[str] = dataclasses.field(default_factory=list)  # e.g. the printed settlement report


class ResultScreen(PosScreen[str]):
    """The outcome in plain words, the details, and the receipt preview."""

    TITLE = "Result"
    BINDINGS: ClassVar[list[Any]] = [
        Binding("enter", "done('ok')", show=False),
        Binding("escape", "done('ok')", show=False),
        Binding("r", "retry", show=False),
    ]

    def __init__(self, view: ResultView) -> None:
        super().__init__()
        self.view = view

    def hints_text(self) -> str:
        return self._("Enter = OK · R = retry" if self.view.can_retry else "Enter = OK")

    def body(self) -> ComposeResult:
        banner = {
            "approved": ("APPROVED", "success"),
            "declined": ("DECLINED", "error"),
            "failed": ("NOT COMPLETED", "error"),
            "info": ("DONE", "success"),
        }.get(self.view.status, ("DONE", "info"))
        yield Static(self._(banner[0]), classes=f"{banner[1]} banner", id="banner")
        yield Static(Text(self.pos.text.engine(self.view.message)), classes="prompt", id="message")
        with VerticalScroll(id="result-scroll"):
            if self.view.details:
                # Cell widths, not characters: a Chinese label is twice as wide as its length.
                labels = [self._(k) for k, _ in self.view.details]
                width = max(cell_len(label) for label in labels)
                lines = [
                    label + " " * (width - cell_len(label)) + "  " + self._value(v)
                    for label, (_, v) in zip(labels, self.view.details, strict=True)
                ]
                yield Static(Text("\n".join(lines)), id="details")
            if self.view.report:
                yield Static(Text("\n".join(self.view.report), no_wrap=True), id="report", classes="slip")
            if self.view.receipt is not None:
                yield Static(self._("Receipt preview:"), classes="info")
                yield ReceiptView(self.view.receipt, copy=self.view.receipt_copy, id="receipt")
        with Horizontal(classes="buttons"):
            yield Button(self._("OK"), id="done-ok", variant="success")
            if self.view.can_retry:
                yield Button(self._("Retry"), id="done-retry", variant="warning")

    def _value(self, value: str) -> str:
        """Yes/no in the screen's language; other values as the engine gave them."""
        return {"True": self._("yes"), "False": self._("no")}.get(value, value)

    def action_done(self, value: str) -> None:
        self.dismiss(value)

    def action_retry(self) -> None:
        if self.view.can_retry:
            self.dismiss("retry")

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss((event.button.id or "done-ok").removeprefix("done-"))


class SignatureScreen(PosScreen[bytes | None]):
    """The cardholder signs on the pad (mouse or keys), or an image file is loaded."""

    TITLE = "Cardholder signature"
    HINTS = "Drag or arrows+space · F = file · C = clear · Enter = done · Esc = skip"
    BINDINGS: ClassVar[list[Any]] = [
        Binding("enter", "done", show=False),
        Binding("escape", "skip", show=False),
        Binding("c", "clear", show=False),
        Binding("f", "file", show=False),
    ]

    def __init__(self, *, amount: str = "", feature_code: str = "") -> None:
        super().__init__()
        self.amount = amount
        self.feature_code = feature_code
        self.loaded: bytes | None = None

    def body(self) -> ComposeResult:
        if self.amount:
            yield Static(self._("Amount: {amount}", amount=self.amount), classes="prompt")
        if self.feature_code:
            yield Static(self._("Feature code: {code}", code=self.feature_code), classes="info")
        yield Static(self._("Please sign below"), classes="info")
        yield SignaturePad(id="pad")
        yield Input(placeholder=self._("Image file path, then Enter"), id="file", classes="hidden")
        yield Static("", classes="error", id="error")

    def on_mount(self) -> None:
        self.query_one("#file", Input).display = False
        self.query_one("#pad", SignaturePad).focus()

    def _error(self, text: str) -> None:
        self.query_one("#error", Static).update(Text(text))

    def action_clear(self) -> None:
        self.loaded = None
        self.query_one("#pad", SignaturePad).clear()

    def action_file(self) -> None:
        field = self.query_one("#file", Input)
        field.display = True
        field.focus()

    def load_file(self, path: str) -> bool:
        try:
            self.loaded = load_signature_image(Path(path))
        except SignatureImageError as exc:
            self._error(str(exc))
            return False
        self._error("")
        self.query_one("#error", Static).update(self._("Signature image loaded: Enter to use it"))
        return True

    @on(Input.Submitted, "#file")
    def _file_chosen(self, event: Input.Submitted) -> None:
        event.stop()
        if self.load_file(event.value.strip()):
            self.query_one("#pad", SignaturePad).focus()
            self.query_one("#file", Input).display = False

    def action_done(self) -> None:
        if self.loaded is not None:
            self.dismiss(self.loaded)
            return
        pad = self.query_one("#pad", SignaturePad)
        try:
            self.dismiss(grid_to_png(pad.grid))
        except SignatureImageError:
            self._error(self._("Nothing signed yet: sign on the pad, or press Esc to skip"))

    def action_skip(self) -> None:
        self.dismiss(None)
