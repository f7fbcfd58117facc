"""``PosApp``: the Textual POS terminal — a device face over the terminal engine.

The app builds the device adapters (screens for the keypad, card reader, PIN pad,
display and printer preview), lets the caller wire them to an engine, runs the
power-on self-test, then shows the main menu. Every function runs in a worker.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, Literal, TypeVar

from textual.app import App
from textual.binding import Binding
from textual.screen import Screen
from textual.worker import Worker

from poskit import __version__
from poskit.terminal.devices.ports import Clock, Devices, HostLink, PowerSource, Printer
from poskit.terminal.devices.scripted import SystemClock
from poskit.terminal.engine import NETWORK_DOWN, TerminalEngine, TxnOutcome
from poskit.terminal.support import SupportDesk
from poskit.terminal.ui.adapters import (
    PreviewPrinter,
    SystemPower,
    TuiCardReader,
    TuiDisplay,
    TuiKeypad,
    TuiPinEntry,
)
from poskit.terminal.ui.admin_screens import DiagnosticRow, DiagnosticsScreen, MenuScreen
from poskit.terminal.ui.flows import Flows
from poskit.terminal.ui.i18n import UiText
from poskit.terminal.ui.screens import PosScreen
from poskit.terminal.ui.txn_screens import BusyScreen
from poskit.terminal.ui.widgets import StatusBar

__all__ = ["EngineConnector", "PosApp"]

T = TypeVar("T")
Level = Literal["info", "prompt", "success", "error"]

#: Builds the engine given the app's devices factory (``open_terminal`` in the CLI, a test counter in tests).
EngineConnector = Callable[[Callable[[HostLink], Devices]], TerminalEngine]


class PosApp(App[None]):
    """The POS terminal application."""

    TITLE = "poskit POS"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS: ClassVar[list[Any]] = [
        Binding("f2", "toggle_language", "中文/English", priority=True),
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]

    def __init__(
        self,
        connect: EngineConnector,
        *,
        language: str | None = None,
        reader: Literal["book", "pcsc"] = "book",
        pcsc_reader: str | None = None,
        default_card: str | None = None,
        wallet: Path | None = None,
        printer: Printer | None = None,
        power: PowerSource | None = None,
        clock: Clock | None = None,
        probe_interval: float = 30.0,
        self_test_on_start: bool = True,
        sign_on_at_start: bool = True,
        support: SupportDesk | None = None,
    ) -> None:
        super().__init__()
        self.text = UiText(language or "en")
        self.display_port = TuiDisplay(self)
        self.keypad = TuiKeypad(self)
        self.card_reader = TuiCardReader(
            self, source=reader, pcsc_reader=pcsc_reader, default_card=default_card, wallet=wallet
        )
        self.pin_pad = TuiPinEntry(self)
        self.printer = PreviewPrinter(printer)
        self.power = power or SystemPower()
        self.clock = clock or SystemClock()
        self._online: bool | None = None
        self.probe_interval = probe_interval
        self.self_test_on_start = self_test_on_start
        self.sign_on_at_start = sign_on_at_start
        #: Where tickets go and the support contact comes from (None: the provisioned phone only).
        self.support = support
        self.flows = Flows(self)
        self.flow_worker: Worker[None] | None = None
        self.engine = connect(self._devices)
        if language is None:
            self.text.set_locale(self.engine.profile.language or "en")

    def _devices(self, link: HostLink) -> Devices:
        return Devices(
            display=self.display_port,
            keypad=self.keypad,
            card_reader=self.card_reader,
            pin_entry=self.pin_pad,
            printer=self.printer,
            link=link,
            clock=self.clock,
            power=self.power,
        )

    @property
    def online(self) -> bool | None:
        """The host's reachability as last seen (None: not checked yet)."""
        return self._online

    @online.setter
    def online(self, value: bool | None) -> None:
        changed = value != self._online
        self._online = value
        if changed and self.is_running:
            for bar in self.screen.query(StatusBar):
                bar.refresh_line()

    # ------------------------------------------------------------ lifecycle
    def on_mount(self) -> None:
        self.push_screen(MenuScreen())
        if self.probe_interval > 0:
            self.set_interval(self.probe_interval, self._probe)
        if self.self_test_on_start:
            self.push_screen(DiagnosticsScreen(startup=True), callback=self._after_self_test)
        else:
            self._probe()

    def _after_self_test(self, _result: None) -> None:
        if not self.sign_on_at_start or self.online is False:
            return
        engine = self.engine
        if engine.element.has_master_key() and (
            engine.profile.sign_on_required or not engine.element.has_working_keys()
        ):
            self.start_flow("boot_sign_on")

    def _probe(self) -> None:
        async def probe() -> None:
            self.online = await self.engine.devices.link.probe(timeout=3.0)

        self.run_worker(probe(), group="probe", exclusive=True, exit_on_error=False)

    # ------------------------------------------------------------ the adapters' host
    async def ask(self, screen: Screen[T]) -> T:
        """Push ``screen`` and wait for its result (inside a worker)."""
        result: T = await self.push_screen(screen, wait_for_dismiss=True)
        return result

    def show_message(self, text: str, level: Level) -> None:
        busy = next((s for s in reversed(self.screen_stack) if isinstance(s, BusyScreen)), None)
        if busy is not None:
            busy.show(text, level)
        if not isinstance(self.screen, BusyScreen) and level in ("prompt", "error"):
            self.notify(self.text.engine(text), severity="error" if level == "error" else "information")

    # ------------------------------------------------------------ flows
    def start_flow(self, action: str) -> None:
        if self.flow_worker is not None and self.flow_worker.is_running:
            self.notify(self.text("Busy: finish the current function first"), severity="warning")
            return
        self.flow_worker = self.run_worker(
            self.flows.run(action), name=action, group="flow", exclusive=False, exit_on_error=False
        )

    def note_outcome(self, outcome: TxnOutcome) -> None:
        """Keep the network indicator honest: an answer from the host means we are online."""
        if NETWORK_DOWN in outcome.message:
            self.online = False
        elif outcome.response_code is not None:
            self.online = True

    # ------------------------------------------------------------ language
    async def toggle_language(self) -> None:
        self.text.set_locale("en" if self.text.chinese else "zh_CN")
        for screen in list(self.screen_stack):
            if isinstance(screen, PosScreen):
                await screen.retranslate()

    async def action_toggle_language(self) -> None:
        await self.toggle_language()

    # ------------------------------------------------------------ what the screens show
    def status_line(self) -> str:
        t = self.text
        network = {True: "● " + t("Online"), False: "○ " + t("Offline"), None: "◌ " + t("Network ?")}[
            self.online
        ]
        percent = self.power.battery_percent()
        if percent is None:
            battery = t("Mains power")
        else:
            battery = f"▮ {percent}%" + (" ⚡" if self.power.charging() else "")
        operator = self.engine.profile.operator
        who = t("Operator {op}", op=operator) if operator else t("No operator")
        now = self.clock.now().astimezone(self.engine.timezone)
        return f"{network}  {battery}  {who}  {'中' if t.chinese else 'EN'}  {now:%H:%M:%S}"

    def keypad_labels(self) -> dict[str, str]:
        return {"clear": self.text("Clear"), "enter": self.text("OK"), "cancel": self.text("Cancel")}

    def printer_description(self) -> str:
        status = self.printer.status()
        return self.text.engine(status.message)

    def reader_description(self) -> str:
        return self.card_reader.describe()

    async def diagnostics(self) -> list[DiagnosticRow]:
        """The engine's self-test plus what only the app knows (printer, software, reader details)."""
        report = await self.engine.self_test()
        rows = [DiagnosticRow(c.name, c.ok, c.message, c.advice) for c in report.checks]
        names = {r.name for r in rows}
        for i, row in enumerate(rows):
            if row.name == "network":
                self.online = row.ok
            if row.name == "reader" and not row.ok and self.card_reader.reader_problem:
                rows[i] = DiagnosticRow(
                    row.name, row.ok, row.message, f"{self.card_reader.reader_problem}; {row.advice}"
                )
        if "battery" not in names:
            rows.append(DiagnosticRow("battery", True, "mains power (no battery)"))
        if "printer" not in names:
            status = self.printer.status()
            rows.append(DiagnosticRow("printer", status.ok, status.message, status.advice))
        version = self.engine.profile.software_version or f"poskit-{__version__}"
        rows.append(DiagnosticRow("software", True, f"{version} (poskit {__version__})"))
        return rows
