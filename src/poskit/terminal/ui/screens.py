"""The device frame every screen shares, and the input screens: confirm, text, choice, amount, PIN.

Keys work as on a POS keypad: digits, Enter (green, confirm), Esc (red, cancel) and
Backspace (yellow, clear). The same keys are on screen for the mouse.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, cast

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Button, Digits, Input, OptionList, Static
from textual.widgets.option_list import Option

from poskit.money import Amount, currency
from poskit.terminal.ui.widgets import KeypadGrid, PinDots, StatusBar

if TYPE_CHECKING:
    from poskit.terminal.ui.app import PosApp

__all__ = [
    "AmountScreen",
    "ChoiceScreen",
    "ConfirmScreen",
    "DigitEntryScreen",
    "PinScreen",
    "PosScreen",
    "TextEntryScreen",
]

ResultT = TypeVar("ResultT")

_MAX_AMOUNT_DIGITS = 10  # 99,999,999.99: field 4 holds 12 digits; no counter takes more


class PosScreen(Screen[ResultT]):
    """A screen inside the device frame: status bar, title, body, key hints."""

    TITLE: ClassVar[str] = ""
    HINTS: ClassVar[str] = "Enter = OK · Esc = back"

    DEFAULT_CSS = """
    PosScreen { align: center middle; }
    PosScreen #device { width: 64; max-width: 100%; height: 100%; max-height: 34; border: heavy $primary; }
    PosScreen .title { width: 100%; height: 1; content-align: center middle; text-style: bold;
                       background: $boost; }
    PosScreen #body { height: 1fr; padding: 0 1; }
    PosScreen .hints { width: 100%; height: 1; color: $text-muted; content-align: center middle; }
    PosScreen .prompt { width: 100%; margin: 1 0 0 0; text-style: bold; }
    PosScreen .info { color: $text; }
    PosScreen .error { color: $error; text-style: bold; }
    PosScreen .success { color: $success; text-style: bold; }
    PosScreen .buttons { height: auto; margin: 1 0 0 0; }
    PosScreen .buttons Button { margin: 0 1 0 0; width: auto; min-width: 10; }
    PosScreen .slip { width: auto; background: white; color: black; padding: 0 1; }
    PosScreen .banner { width: 100%; content-align: center middle; text-style: bold reverse; }
    """

    @property
    def pos(self) -> PosApp:
        return cast("PosApp", self.app)

    def _(self, message: str, **values: object) -> str:
        return self.pos.text(message, **values)

    def title_text(self) -> str:
        return self._(self.TITLE) if self.TITLE else "poskit POS"

    def hints_text(self) -> str:
        return self._(self.HINTS)

    def compose(self) -> ComposeResult:
        with Vertical(id="device"):
            yield StatusBar()
            yield Static(self.title_text(), classes="title", id="title")
            with Vertical(id="body"):
                yield from self.body()
            yield Static(self.hints_text(), classes="hints", id="hints")

    def body(self) -> ComposeResult:
        yield from ()

    def on_screen_resume(self) -> None:
        # back on screen (e.g. the menu after a sign-out): show the current operator and network now
        for bar in self.query(StatusBar):
            bar.refresh_line()

    async def retranslate(self) -> None:
        """Called after a language switch: rebuild the texts from the screen's own state."""
        await self.recompose()


class ConfirmScreen(PosScreen[bool]):
    TITLE = "Confirm"
    HINTS = "Enter = confirm · Esc = cancel"
    BINDINGS: ClassVar[list[Any]] = [
        Binding("enter", "answer(True)", show=False),
        Binding("escape", "answer(False)", show=False),
    ]

    def __init__(self, prompt: str) -> None:
        super().__init__()
        self.prompt = prompt

    def body(self) -> ComposeResult:
        yield Static(Text(self.pos.text.engine(self.prompt)), classes="prompt", id="question")
        with Horizontal(classes="buttons"):
            yield Button(self._("OK"), id="yes", variant="success")
            yield Button(self._("Cancel"), id="no", variant="error")

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")


class TextEntryScreen(PosScreen[str | None]):
    """A line of digits or text (voucher number, reference number, password ...)."""

    TITLE = "Input"
    HINTS = "Enter = OK · Esc = cancel"
    BINDINGS: ClassVar[list[Any]] = [Binding("escape", "cancel", show=False)]

    def __init__(
        self,
        prompt: str,
        *,
        secret: bool = False,
        max_length: int = 32,
        digits_only: bool = False,
        exact_length: int | None = None,
        title: str | None = None,
    ) -> None:
        super().__init__()
        self.prompt = prompt
        self.secret = secret
        self.max_length = max_length
        self.digits_only = digits_only
        self.exact_length = exact_length
        self.custom_title = title
        self.error = ""

    def title_text(self) -> str:
        return self._(self.custom_title) if self.custom_title else super().title_text()

    def body(self) -> ComposeResult:
        yield Static(Text(self.pos.text.engine(self.prompt)), classes="prompt")
        yield Input(
            password=self.secret,
            max_length=self.max_length,
            restrict=r"[0-9]*" if self.digits_only else None,
            id="entry",
        )
        yield Static(self.error, classes="error", id="error")

    def on_mount(self) -> None:
        self.query_one("#entry", Input).focus()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        value = event.value.strip()
        if self.exact_length is not None and len(value) != self.exact_length:
            self.error = self._("Enter exactly {n} digits", n=self.exact_length)
            self.query_one("#error", Static).update(self.error)
            return
        if not value:
            return
        self.dismiss(value)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ChoiceScreen(PosScreen[int | None]):
    """Pick one option (digit keys pick directly)."""

    TITLE = "Select"
    HINTS = "1-9 or arrows + Enter · Esc = cancel"
    BINDINGS: ClassVar[list[Any]] = [Binding("escape", "cancel", show=False)]

    def __init__(self, prompt: str, options: Sequence[str], *, title: str | None = None) -> None:
        super().__init__()
        self.prompt = prompt
        self.options = list(options)
        self.custom_title = title

    def title_text(self) -> str:
        return self._(self.custom_title) if self.custom_title else super().title_text()

    def body(self) -> ComposeResult:
        yield Static(Text(self.pos.text.engine(self.prompt)), classes="prompt")
        yield OptionList(
            *[
                Option(Text(f"{i + 1}. {self.pos.text.engine(o)}"), id=str(i))
                for i, o in enumerate(self.options)
            ],
            id="choices",
        )

    def on_mount(self) -> None:
        choices = self.query_one("#choices", OptionList)
        choices.highlighted = 0
        choices.focus()

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option_index)

    def on_key(self, event: events.Key) -> None:
        if event.character and event.character.isdigit():
            index = int(event.character) - 1
            if 0 <= index < len(self.options):
                event.stop()
                self.dismiss(index)

    def action_cancel(self) -> None:
        self.dismiss(None)


class DigitEntryScreen(PosScreen[ResultT]):
    """A screen typed on the keypad: digits from the keyboard or the on-screen keys, with
    clear, OK and cancel; subclasses say what a digit does and what OK and cancel mean."""

    HINTS = "Digits · Backspace = clear · Enter = OK · Esc = cancel"
    BINDINGS: ClassVar[list[Any]] = [
        Binding("enter", "submit", show=False),
        Binding("escape", "cancel", show=False),
        Binding("backspace", "clear", show=False),
    ]

    def digit(self, key: str) -> None:
        raise NotImplementedError

    def action_clear(self) -> None:
        raise NotImplementedError

    def action_submit(self) -> None:
        raise NotImplementedError

    def action_cancel(self) -> None:
        raise NotImplementedError

    def press(self, key: str) -> None:
        if key.isdigit():
            self.digit(key)
        elif key == "clear":
            self.action_clear()
        elif key == "enter":
            self.action_submit()
        elif key == "cancel":
            self.action_cancel()

    def on_key(self, event: events.Key) -> None:
        if event.character and event.character.isdigit():
            event.stop()
            event.prevent_default()
            self.press(event.character)

    @on(KeypadGrid.Pressed)
    def _keypad(self, event: KeypadGrid.Pressed) -> None:
        self.press(event.key)


class AmountScreen(DigitEntryScreen[Amount | None]):
    """Amount entry as on a POS: digits shift in from the right (1, 2, 5, 0 → 12.50)."""

    TITLE = "Enter amount"

    def __init__(self, currency_code: str, *, title: str | None = None) -> None:
        super().__init__()
        self.currency = currency(currency_code)
        self.digits = ""
        self.custom_title = title

    def title_text(self) -> str:
        return self._(self.custom_title) if self.custom_title else super().title_text()

    @property
    def amount(self) -> Amount:
        return Amount.of(int(self.digits or "0"), self.currency)

    def body(self) -> ComposeResult:
        yield Static(self._("Amount ({currency})", currency=self.currency.code), classes="prompt")
        yield Digits(self.amount.grouped(), id="amount")
        yield Static("", classes="error", id="error")
        yield KeypadGrid(self.pos.keypad_labels())

    def _changed(self) -> None:
        self.query_one("#amount", Digits).update(self.amount.grouped())
        self.query_one("#error", Static).update("")

    def digit(self, key: str) -> None:
        if len((self.digits + key).lstrip("0")) <= _MAX_AMOUNT_DIGITS:
            self.digits = (self.digits + key).lstrip("0")
            self._changed()

    def action_clear(self) -> None:
        self.digits = self.digits[:-1]
        self._changed()

    def action_submit(self) -> None:
        if not self.digits:
            self.query_one("#error", Static).update(self._("Enter an amount greater than zero"))
            return
        self.dismiss(self.amount)

    def action_cancel(self) -> None:
        self.dismiss(None)


class PinScreen(DigitEntryScreen[str | None]):
    """The PIN pad. Digits stay in a private buffer, are shown only as dots, and go to the
    secure element through the PinEntry port; nothing here logs or renders them."""

    TITLE = "PIN"

    def __init__(self, prompt: str, *, min_length: int = 4, max_length: int = 12) -> None:
        super().__init__()
        self.prompt = prompt
        self.min_length = min_length
        self.max_length = max_length
        self._digits = bytearray()

    def __repr__(self) -> str:
        return f"PinScreen(<{len(self._digits)} digits>)"

    def body(self) -> ComposeResult:
        yield Static(Text(self.pos.text.engine(self.prompt)), classes="prompt", id="pin-prompt")
        yield PinDots(id="dots")
        yield Static(self._("Enter with no digits to bypass, if the card allows"), classes="info")
        yield Static("", classes="error", id="error")
        yield KeypadGrid(self.pos.keypad_labels())

    def on_mount(self) -> None:
        self._changed()

    async def retranslate(self) -> None:
        await super().retranslate()
        self._changed()

    def _changed(self) -> None:
        self.query_one("#dots", PinDots).show_count(len(self._digits), self.max_length)

    def digit(self, key: str) -> None:
        if len(self._digits) < self.max_length:
            self._digits.append(ord(key))
            self._changed()

    def _wipe(self) -> None:
        for i in range(len(self._digits)):
            self._digits[i] = 0
        self._digits.clear()

    def action_clear(self) -> None:
        self._wipe()
        self._changed()

    def action_submit(self) -> None:
        if not self._digits:
            self.dismiss(None)  # bypass; the engine refuses it when the card needs a PIN
            return
        if len(self._digits) < self.min_length:
            self.query_one("#error", Static).update(
                self._("A PIN has at least {n} digits", n=self.min_length)
            )
            return
        pin = self._digits.decode("ascii")
        self._wipe()
        self.dismiss(pin)

    def action_cancel(self) -> None:
        self._wipe()
        self.dismiss(None)
