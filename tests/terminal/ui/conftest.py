"""Terminal app fixtures: the real host (tests/e2e's LiveServices) and a PosApp wired to a fresh terminal."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.screen import Screen

from poskit.terminal.devices.network import TcpHostLink
from poskit.terminal.devices.ports import Devices, HostLink
from poskit.terminal.devices.scripted import FixedPower
from poskit.terminal.engine import TerminalEngine
from poskit.terminal.printing.devices import PdfFilePrinter
from poskit.terminal.ui.app import PosApp

UNUSED_PORT_ADDRESS = "127.0.0.1:9"  # discard port: nothing listens there on a test machine


async def _no_sleep(_seconds: float) -> None:
    return None


@pytest.fixture
def make_app(new_counter: Callable[..., Any], tmp_path: Path) -> Callable[..., PosApp]:
    """``make_app(link=None, merchant_no=cafe, **options)``: a PosApp on a fresh registered terminal
    of that merchant, PDFs in tmp_path."""

    def make(*, link: HostLink | None = None, merchant_no: str = "898310058120001", **options: Any) -> PosApp:
        counter = new_counter(merchant_no=merchant_no)

        def connect(factory: Callable[[HostLink], Devices]) -> TerminalEngine:
            devices = factory(link or counter.link)
            return TerminalEngine(counter.store, counter.element, devices, sleep=_no_sleep)

        options.setdefault("language", "en")
        options.setdefault("probe_interval", 0)
        options.setdefault("power", FixedPower(64, on_charger=False))
        options.setdefault("printer", PdfFilePrinter(tmp_path / "receipts"))
        app = PosApp(connect, **options)
        app.counter = counter  # type: ignore[attr-defined]
        return app

    return make


@pytest.fixture
def down_link() -> TcpHostLink:
    return TcpHostLink(UNUSED_PORT_ADDRESS, connect_timeout=1.0)


async def wait_for_screen(pilot: Pilot[Any], kind: type[Screen[Any]], timeout: float = 15.0) -> Any:
    """Let the app run until its active screen is a ``kind`` (workers and network included)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if isinstance(pilot.app.screen, kind):
            await pilot.pause()
            return pilot.app.screen
        await asyncio.sleep(0.02)
    raise AssertionError(f"expected a {kind.__name__}, the app shows {type(pilot.app.screen).__name__}")


@pytest.fixture
def wait_for() -> Callable[..., Any]:
    return wait_for_screen
