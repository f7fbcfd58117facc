"""The support screen: who to call and when, and "open a ticket" for the acquirer's staff."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Button, Static

from poskit.terminal.support import SupportContact
from poskit.terminal.ui.screens import PosScreen

__all__ = ["SupportScreen"]


class SupportScreen(PosScreen[str | None]):
    """The support contact; T opens a ticket (when the terminal can file one), Esc goes back."""

    TITLE = "Support"
    BINDINGS: ClassVar[list[Any]] = [
        Binding("t", "pick('ticket')", show=False),
        Binding("escape", "pick('')", show=False),
        Binding("enter", "pick('')", show=False),
    ]

    def __init__(self, contact: SupportContact, *, can_open_ticket: bool, notice: str = "") -> None:
        super().__init__()
        self.contact = contact
        self.can_open_ticket = can_open_ticket
        self.notice = notice

    def hints_text(self) -> str:
        return self._("T = open a ticket · Esc = back" if self.can_open_ticket else "Esc = back")

    def body(self) -> ComposeResult:
        c = self.contact
        facts = [
            ("Support by", c.name),
            ("Phone", c.phone or self._("not given: ask the acquirer")),
            ("Hours", c.hours or self._("not given")),
        ]
        if c.email:
            facts.append(("Email", c.email))
        labels = [self._(k) for k, _ in facts]
        width = max(cell_len(label) for label in labels)
        lines = [
            label + " " * (width - cell_len(label)) + "  " + value
            for label, (_, value) in zip(labels, facts, strict=True)
        ]
        yield Static(Text("\n".join(lines)), id="contact")
        if self.notice:
            yield Static(Text(self.pos.text.engine(self.notice)), classes="error", id="notice")
        if self.can_open_ticket:
            yield Static(
                self._(
                    "A ticket reaches the acquirer's staff; the answer appears in the portal under Support."
                ),
                classes="info",
            )
        with Horizontal(classes="buttons"):
            if self.can_open_ticket:
                yield Button(self._("Open a ticket"), id="support-ticket", variant="primary")
            yield Button(self._("Back"), id="support-")

    def action_pick(self, choice: str) -> None:
        if choice == "ticket" and not self.can_open_ticket:
            return
        self.dismiss(choice or None)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.action_pick((event.button.id or "support-").removeprefix("support-"))
