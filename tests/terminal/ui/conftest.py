"""Terminal app fixtures: the real host (tests/e2e's LiveServices) and a PosApp wired to a fresh terminal."""

from __future__ import annotations

import asyncio
import importlib.util
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

# The end-to-end fixtures (provisioned data directory, live host, fresh terminals) are shared,
# not copied: load tests/e2e/conftest.py and re-export its fixtures here.
_spec = importlib.util.spec_from_file_location(
    "poskit_tests_e2e_fixtures", Path(__file__).parents[2] / "e2e" / "conftest.py"
)
assert _spec is not None and _spec.loader is not None
_e2e = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_e2e)
demo_settings = _e2e.demo_settings
live_host = _e2e.live_host
new_counter = _e2e.new_counter

UNUSED_PORT_ADDRESS = "127.0.0.1:9"  # discard port: nothing listens there on a test machine


async def _no_sleep(_seconds: float) -> None:
    return None


@pytest.fixture
def make_app(new_counter: Callable[..., Any], tmp_path: Path) -> Callable[..., PosApp]:
    """``make_app(link=None, **options)``: a PosApp on a fresh registered terminal, PDFs in tmp_path."""

    def make(*, link: HostLink | None = None, **options: Any) -> PosApp:
        counter = new_counter()

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
