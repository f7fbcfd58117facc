"""Host fixtures: a provisioned data directory, the real host on a TCP port, DUKPT terminals.

The same patterns as tests/e2e/conftest.py (the host runs in a background thread's event
loop; terminals are scripted engines talking TCP to it), with terminals keyed through the
key-management flow (`poskit keys inject`) instead of the provisioning default.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from poskit.cards.book import card_by_name
from poskit.config import Settings
from poskit.host.runtime import RunningServices
from poskit.terminal.devices.network import TcpHostLink
from poskit.terminal.devices.ports import Devices
from poskit.terminal.devices.scripted import (
    FixedPower,
    MemoryPrinter,
    ScriptedDisplay,
    ScriptedKeypad,
    ScriptedPinEntry,
    SystemClock,
    TestCardReader,
)
from poskit.terminal.engine import TerminalEngine
from poskit.terminal.secure_element import SecureElement
from poskit.terminal.store import TerminalStore
from poskit.tms.keys import inject_keys
from poskit.tms.provisioning import provision_demo, register_terminal, terminal_paths


class LiveHost:
    """The host (no portal) running in a background thread's event loop."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.loop = asyncio.new_event_loop()
        self.services: RunningServices | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.services = RunningServices(self.settings, portal=False)
            self.loop.run_until_complete(self.services.start())
        except BaseException as exc:  # surfaced to the test
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        self.loop.run_forever()

    def start(self) -> LiveHost:
        self._thread.start()
        self._ready.wait(30)
        if self._error is not None:
            raise self._error
        return self

    @property
    def address(self) -> str:
        assert self.services is not None
        return self.services.host.address

    def stop(self) -> None:
        if self.services is not None:
            asyncio.run_coroutine_threadsafe(self.services.stop(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


@pytest.fixture(scope="session")
def host_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A data directory with the demo world provisioned once for the host tests."""
    data_dir: Path = tmp_path_factory.mktemp("poskit-host")
    settings = Settings(data_dir=data_dir, host_port=0, portal_port=0)
    provision_demo(settings)
    return settings


@pytest.fixture(scope="session")
def live_host(host_settings: Settings) -> Iterator[LiveHost]:
    """The real host on an ephemeral TCP port for the whole session."""
    live = LiveHost(host_settings).start()
    yield live
    live.stop()


async def _no_sleep(_seconds: float) -> None:
    return None


class Till:
    """One scripted terminal at the counter: which card, how, which PINs."""

    def __init__(self, settings: Settings, address: str, terminal_id: str) -> None:
        self.settings = settings
        self.address = address
        self.terminal_id = terminal_id
        self.store_file, self.key_file = terminal_paths(settings, terminal_id)
        self.store = TerminalStore.open(self.store_file)
        self.printer = MemoryPrinter()
        self.display = ScriptedDisplay()
        self.element = self.reopen_element()

    def reopen_element(self) -> SecureElement:
        """A fresh PIN pad object over the same files (as after a power cycle)."""
        self.element = SecureElement.open(
            self.key_file, self.store, mac_algorithm=self.store.profile().mac_algorithm
        )
        return self.element

    def engine(
        self, card: str | None = None, *, pins: tuple[str, ...] = (), entry: str = "swipe"
    ) -> TerminalEngine:
        devices = Devices(
            display=self.display,
            keypad=ScriptedKeypad(),
            card_reader=TestCardReader(card_by_name(card) if card else None, entry),  # type: ignore[arg-type]
            pin_entry=ScriptedPinEntry(list(pins)),
            printer=self.printer,
            link=TcpHostLink(self.address),
            clock=SystemClock(),
            power=FixedPower(),
        )
        return TerminalEngine(self.store, self.element, devices, sleep=_no_sleep)


_tids = itertools.count(1)


@pytest.fixture
def new_till(host_settings: Settings, live_host: LiveHost) -> Iterator[Callable[..., Till]]:
    """A fresh terminal at the demo cafe, keyed by `poskit keys inject` (fixed or DUKPT)."""
    made: list[Till] = []

    def make(*, dukpt: bool = False, aes: bool = False, mac_algorithm: str = "cups-ecb", **kw: Any) -> Till:
        tid = f"HST{next(_tids):05d}"
        register_terminal(host_settings, tid, "898310058120001", mac_algorithm=mac_algorithm)
        inject_keys(host_settings, tid, dukpt=dukpt, aes=aes, **kw)
        till = Till(host_settings, live_host.address, tid)
        made.append(till)
        return till

    yield make
    for till in made:
        till.store.close()
