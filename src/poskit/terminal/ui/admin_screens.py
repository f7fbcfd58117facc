"""Main menu, power-on self-test / diagnostics, and settings."""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, VerticalScroll
from textual.widgets import Button, LoadingIndicator, Static

from poskit.terminal.ui.screens import PosScreen

__all__ = ["MENU", "DiagnosticRow", "DiagnosticsScreen", "MenuItem", "MenuScreen", "SettingsScreen"]


@dataclasses.dataclass(frozen=True)
class MenuItem:
    action: str
    key: str
    label: str  # message id


MENU: tuple[MenuItem, ...] = (
    MenuItem("sale", "1", "Sale"),
    MenuItem("void", "2", "Void"),
    MenuItem("refund", "3", "Refund"),
    MenuItem("preauth", "4", "Pre-authorization"),
    MenuItem("balance", "5", "Balance inquiry"),
    MenuItem("settle", "6", "Settlement"),
    MenuItem("reprint", "7", "Reprint"),
    MenuItem("query", "8", "Transaction query"),
    MenuItem("operator", "9", "Operator sign in / out"),
    MenuItem("settings", "0", "Settings"),
    MenuItem("unsigned", "u", "Unsigned slips"),
    MenuItem("diagnostics", "d", "Diagnostics"),
    MenuItem("support", "s", "Support"),
)


class MenuScreen(PosScreen[None]):
    """The idle screen: the merchant, and one key per function."""

    TITLE = "Main menu"
    HINTS = "Key = choose · F2 = language · Ctrl+Q = quit"
    BINDINGS: ClassVar[list[Any]] = [
        Binding(item.key, f"choose('{item.action}')", show=False) for item in MENU
    ]

    DEFAULT_CSS = """
    MenuScreen #menu { grid-size: 2; grid-gutter: 0 1; height: auto; margin: 1 0 0 0; }
    MenuScreen #menu Button { width: 100%; height: 3; }
    MenuScreen #merchant { width: 100%; content-align: center middle; text-style: bold; }
    """

    def body(self) -> ComposeResult:
        profile = self.pos.engine.profile
        name = (
            profile.merchant_name
            if self.pos.text.chinese
            else (profile.merchant_name_en or profile.merchant_name)
        )
        yield Static(Text(name), id="merchant")
        yield Static(
            self._("Merchant {mid} · Terminal {tid}", mid=profile.merchant_no, tid=profile.terminal_id),
            classes="info",
        )
        with Grid(id="menu"):
            for item in MENU:
                yield Button(f"{item.key.upper()}  {self._(item.label)}", id=f"menu-{item.action}")

    def action_choose(self, action: str) -> None:
        self.pos.start_flow(action)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.action_choose((event.button.id or "").removeprefix("menu-"))


@dataclasses.dataclass(frozen=True)
class DiagnosticRow:
    name: str  # keys | network | battery | reader | printer | software | ...
    ok: bool
    message: str
    advice: str = ""


_CHECK_NAMES = {
    "keys": "Keys",
    "network": "Host",
    "battery": "Battery",
    "reader": "Card reader",
    "printer": "Printer",
    "software": "Software",
    "reversals": "Reversals",
    "uploads": "Uploads",
    "self-test": "Self-test",
}


class DiagnosticsScreen(PosScreen[None]):
    """Power-on self-test and diagnostics: each check, and what to do about a failure."""

    TITLE = "Self-test"
    DEFAULT_CSS = """
    DiagnosticsScreen #checks { height: auto; max-height: 22; }
    """
    HINTS = "Enter = continue · R = run again"
    BINDINGS: ClassVar[list[Any]] = [
        Binding("enter", "close", show=False),
        Binding("escape", "close", show=False),
        Binding("r", "rerun", show=False),
    ]

    def __init__(self, *, startup: bool = False) -> None:
        super().__init__()
        self.startup = startup
        self.rows: list[DiagnosticRow] | None = None

    def title_text(self) -> str:
        return self._("Power-on self-test" if self.startup else "Diagnostics")

    def body(self) -> ComposeResult:
        if self.rows is None:
            yield LoadingIndicator()
            yield Static(self._("Checking keys, host, printer, reader and battery..."), classes="info")
            return
        failed = [r for r in self.rows if not r.ok]
        yield Static(
            self._("All checks passed") if not failed else self._("{n} problem(s) found", n=len(failed)),
            classes="success" if not failed else "error",
            id="summary",
        )
        with VerticalScroll(id="checks"):
            for row in self.rows:
                label = self._(_CHECK_NAMES.get(row.name, row.name))
                mark = "✔" if row.ok else "✘"
                text = Text(f"{mark} {label}: ", style="bold green" if row.ok else "bold red")
                text.append(self.pos.text.engine(row.message))
                if row.advice:
                    text.append(f"\n   → {self.pos.text.engine(row.advice)}", style="yellow")
                yield Static(text, classes="check", id=f"check-{row.name}")
        with Horizontal(classes="buttons"):
            yield Button(self._("Continue"), id="diag-close", variant="success")
            yield Button(self._("Run again"), id="diag-rerun")

    def on_mount(self) -> None:
        self.run_checks()

    @work(group="self-test", exclusive=True)
    async def run_checks(self) -> None:
        self.rows = None
        await self.recompose()
        try:
            self.rows = await self.pos.diagnostics()
        except Exception as exc:  # a broken check must still leave the operator a screen with advice
            self.rows = [
                DiagnosticRow(
                    "self-test",
                    False,
                    f"self-test could not run ({exc.__class__.__name__})",
                    "restart the terminal; if it happens again, call the acquirer's support line",
                )
            ]
        await self.recompose()

    def action_close(self) -> None:
        if self.rows is not None:
            self.dismiss(None)

    def action_rerun(self) -> None:
        if self.rows is not None:
            self.run_checks()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "diag-close":
            self.action_close()
        else:
            self.action_rerun()


class SettingsScreen(PosScreen[str | None]):
    """Terminal facts and the operator's switches (language, sign-on)."""

    TITLE = "Settings"
    HINTS = "L = language · S = sign on · Esc = back"
    BINDINGS: ClassVar[list[Any]] = [
        Binding("l", "pick('language')", show=False),
        Binding("s", "pick('sign_on')", show=False),
        Binding("escape", "pick('')", show=False),
    ]

    def body(self) -> ComposeResult:
        profile = self.pos.engine.profile
        facts = [
            ("Terminal", profile.terminal_id),
            ("Merchant", f"{profile.merchant_no} {profile.merchant_name}"),
            ("Acquirer", profile.acquirer_name),
            ("Host", self.pos.engine.devices.link.address),
            ("Protocol", f"{profile.dialect} / {profile.mac_algorithm}"),
            ("Printer", self.pos.printer_description()),
            ("Card reader", self.pos.reader_description()),
            ("Language", "中文" if self.pos.text.chinese else "English"),
            ("Software", profile.software_version),
        ]
        width = max(len(self._(k)) for k, _ in facts)
        yield Static(Text("\n".join(f"{self._(k):<{width}}  {v}" for k, v in facts)), id="facts")
        with Horizontal(classes="buttons"):
            yield Button(self._("Switch language"), id="set-language", variant="primary")
            yield Button(self._("Sign on"), id="set-sign_on")
            yield Button(self._("Back"), id="set-")

    def action_pick(self, choice: str) -> None:
        self.dismiss(choice or None)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.action_pick((event.button.id or "set-").removeprefix("set-"))
