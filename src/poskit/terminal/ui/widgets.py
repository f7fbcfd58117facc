"""Widgets of the POS face: status bar, keypad, PIN dots, signature pad, receipt preview."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Grid
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Button, Static

from poskit.terminal.printing.qr import qr_text
from poskit.terminal.receipt import Receipt, render_text

if TYPE_CHECKING:
    from poskit.terminal.ui.app import PosApp

__all__ = ["KeypadGrid", "PinDots", "ReceiptView", "SignaturePad", "StatusBar", "pos_app"]


def pos_app(widget: Widget) -> PosApp:
    return cast("PosApp", widget.app)


class StatusBar(Static):
    """Network, battery, operator and time, refreshed every second like a device's top line."""

    DEFAULT_CSS = """
    StatusBar { height: 1; width: 100%; background: $primary-darken-2; color: $text; padding: 0 1; }
    """

    def on_mount(self) -> None:
        self.refresh_line()
        self.set_interval(1.0, self.refresh_line)

    def refresh_line(self) -> None:
        self.update(Text(pos_app(self).status_line(), no_wrap=True, overflow="ellipsis"))


class KeypadGrid(Grid):
    """An on-screen keypad for the mouse; the keyboard works the same keys."""

    DEFAULT_CSS = """
    KeypadGrid { grid-size: 3 5; grid-gutter: 1 1; grid-rows: 1; height: auto; width: 36; margin: 1 0 0 0; }
    KeypadGrid Button { width: 100%; min-width: 6; height: 1; }
    KeypadGrid #key-enter { background: $success; }
    KeypadGrid #key-cancel { background: $error; }
    KeypadGrid #key-clear { background: $warning; color: $background; }
    """

    KEYS: ClassVar[tuple[str, ...]] = (
        "1", "2", "3", "4", "5", "6", "7", "8", "9", "clear", "0", "enter", "cancel",
    )  # fmt: skip

    class Pressed(Message):
        def __init__(self, key: str) -> None:
            super().__init__()
            self.key = key

    def __init__(self, labels: dict[str, str], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.labels = labels

    def compose(self) -> ComposeResult:
        for key in self.KEYS:
            button = Button(self.labels.get(key, key), id=f"key-{key}", compact=True)
            button.can_focus = False  # Enter must confirm the screen, not press a focused key
            yield button

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        key = (event.button.id or "").removeprefix("key-")
        self.post_message(self.Pressed(key))


class PinDots(Static):
    """Shows only how many PIN digits were typed, never the digits."""

    DEFAULT_CSS = """
    PinDots { width: 100%; height: 3; content-align: center middle; text-style: bold; border: round $accent; }
    """

    def show_count(self, count: int, max_length: int) -> None:
        self.update("● " * count + "_ " * max(0, min(6, max_length) - count))


class SignaturePad(Widget, can_focus=True):
    """A grid to sign on: drag with the mouse, or move with the arrows and draw with space."""

    DEFAULT_CSS = """
    SignaturePad { width: 50; height: 12; border: round $accent; background: white; color: black; }
    SignaturePad:focus { border: round $success; }
    """

    def __init__(self, columns: int = 48, rows: int = 10, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.columns = columns
        self.rows = rows
        self.grid: list[list[bool]] = [[False] * columns for _ in range(rows)]
        self.cursor = (columns // 2, rows // 2)
        self.pen_down = False
        self._dragging = False

    @property
    def empty(self) -> bool:
        return not any(any(row) for row in self.grid)

    def clear(self) -> None:
        self.grid = [[False] * self.columns for _ in range(self.rows)]
        self.refresh()

    def ink(self, x: int, y: int) -> None:
        if 0 <= x < self.columns and 0 <= y < self.rows:
            self.grid[y][x] = True
            self.refresh()

    def render_line(self, y: int) -> Strip:
        from rich.segment import Segment
        from rich.style import Style

        if y >= self.rows:
            return Strip.blank(self.size.width)
        ink = Style(color="black", bgcolor="white")
        cursor = Style(color="white", bgcolor="blue" if self.pen_down else "grey50")
        segments = []
        for x in range(self.columns):
            char = "█" if self.grid[y][x] else " "
            segments.append(Segment(char, cursor if (x, y) == self.cursor and self.has_focus else ink))
        return Strip(segments, self.columns)

    def _move(self, dx: int, dy: int) -> None:
        x, y = self.cursor
        self.cursor = (max(0, min(self.columns - 1, x + dx)), max(0, min(self.rows - 1, y + dy)))
        if self.pen_down:
            self.ink(*self.cursor)
        self.refresh()

    def on_key(self, event: events.Key) -> None:
        moves = {"up": (0, -1), "down": (0, 1), "left": (-1, 0), "right": (1, 0)}
        if event.key in moves:
            event.stop()
            self._move(*moves[event.key])
        elif event.key == "space":
            event.stop()
            self.pen_down = not self.pen_down
            if self.pen_down:
                self.ink(*self.cursor)
            self.refresh()

    def on_mouse_down(self, event: events.MouseDown) -> None:
        self._dragging = True
        self.capture_mouse()
        self.ink(event.x, event.y)

    def on_mouse_move(self, event: events.MouseMove) -> None:
        if self._dragging:
            self.ink(event.x, event.y)

    def on_mouse_up(self, event: events.MouseUp) -> None:
        self._dragging = False
        self.release_mouse()


class ReceiptView(Static):
    """The printed slip as text, with the e-receipt QR code under it."""

    DEFAULT_CSS = """
    ReceiptView { width: auto; background: white; color: black; padding: 0 1; }
    """

    def __init__(self, receipt: Receipt, *, copy: str = "merchant", id: str | None = None) -> None:
        text = render_text(receipt, copy=copy, width=42)
        if receipt.e_receipt_url:
            text += "\n" + "\n".join(qr_text(receipt.e_receipt_url)) + "\n"
        super().__init__(Text(text, no_wrap=True), id=id)
        self.receipt = receipt
