"""Host fixtures: DUKPT terminals on the session's live host (tests/conftest.py).

Terminals are keyed through the key-management flow (`poskit keys inject`) instead of the
provisioning default.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from poskit.cards.book import card_by_name
from poskit.config import Settings
from poskit.keys.injection import inject_keys
from poskit.terminal.devices.network import TcpHostLink
from poskit.terminal.devices.scripted import (
    MemoryPrinter,
    ScriptedDisplay,
    ScriptedPinEntry,
    TestCardReader,
    scripted_devices,
)
from poskit.terminal.engine import TerminalEngine
from poskit.terminal.runtime import terminal_files
from poskit.terminal.secure_element import SecureElement
from poskit.terminal.store import TerminalStore
from poskit.tms.registry import register_terminal


@pytest.fixture(scope="session")
def host_settings(demo_settings: Settings) -> Settings:
    """The session's provisioned data directory (the root conftest's live host serves it)."""
    return demo_settings


async def _no_sleep(_seconds: float) -> None:
    return None


class Till:
    """One scripted terminal at the counter: which card, how, which PINs."""

    def __init__(self, settings: Settings, address: str, terminal_id: str) -> None:
        self.settings = settings
        self.address = address
        self.terminal_id = terminal_id
        self.store_file, self.key_file = terminal_files(settings, terminal_id)
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
        devices = scripted_devices(
            TcpHostLink(self.address),
            TestCardReader(card_by_name(card) if card else None, entry),  # type: ignore[arg-type]
            ScriptedPinEntry(list(pins)),
            display=self.display,
            printer=self.printer,
        )
        return TerminalEngine(self.store, self.element, devices, sleep=_no_sleep)


_tids = itertools.count(1)


@pytest.fixture
def new_till(host_settings: Settings, live_host: Any) -> Iterator[Callable[..., Till]]:
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
