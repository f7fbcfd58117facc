"""A simulated world: a provisioned data directory, the host, and many terminals.

Provisioning (migrations, keys, the demo merchant, N registered terminals) is done once
per process into a template directory; each run copies the template, so a seed costs
its own traffic only. The seed decides everything after the copy.
"""

from __future__ import annotations

import os
import random
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import event

from poskit.cards.book import CARD_BOOK, TestCard
from poskit.config import Settings
from poskit.demo.world import provision_demo
from poskit.keys.injection import inject_keys
from poskit.sim.clock import SimClock, SkewedClock
from poskit.sim.faults import FaultPlan, PowerLoss
from poskit.sim.host import SimHost
from poskit.sim.network import SimLink
from poskit.terminal.devices.ports import Devices, EntryKind
from poskit.terminal.devices.scripted import (
    FixedPower,
    MemoryPrinter,
    ScriptedDisplay,
    ScriptedKeypad,
    ScriptedPinEntry,
    TestCardReader,
)
from poskit.terminal.engine import TerminalEngine
from poskit.terminal.runtime import terminal_files
from poskit.terminal.secure_element import SecureElement
from poskit.terminal.store import TerminalStore
from poskit.tms.registry import register_terminal

__all__ = ["MERCHANT_NO", "START", "SimTerminal", "SimWorld", "template_dir"]

#: The simulated day starts at 09:00 in Shanghai.
START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
MERCHANT_NO = "898310058120001"

#: Terminal kinds in rotation: (dialect, MAC algorithm, DUKPT PIN keys).
_KINDS: tuple[tuple[str, str, bool], ...] = (
    ("cups", "cups-ecb", False),
    ("ascii87", "x919", False),
    ("cups", "cups-ecb", True),
)

_ENTRY: dict[str, EntryKind] = {"magstripe": "swipe", "chip": "chip", "contactless": "tap"}

_templates: dict[int, Path] = {}


def _scratch() -> str | None:
    """Worlds live in memory-backed /dev/shm when there is one: fsync costs nothing there, and a
    simulated crash is a logical one (the transaction boundary), not a lost disk cache."""
    shm = Path("/dev/shm")  # noqa: S108 - a private mkdtemp inside it, never a fixed name
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None


def template_dir(terminals: int) -> Path:
    """The provisioned template for ``terminals`` terminals (made once per process)."""
    if terminals not in _templates:
        base = Path(tempfile.mkdtemp(prefix=f"poskit-sim-template-{terminals}-", dir=_scratch()))
        settings = Settings(data_dir=base, host_port=0, portal_port=0)
        provision_demo(settings, now=START)
        for i in range(terminals):
            dialect, mac, dukpt = _KINDS[i % len(_KINDS)]
            tid = f"SIM{i:05d}"
            register_terminal(settings, tid, MERCHANT_NO, dialect=dialect, mac_algorithm=mac, now=START)
            if dukpt:
                inject_keys(settings, tid, dukpt=True, now=START)
        _templates[terminals] = base
    return _templates[terminals]


class SimTerminal:
    """One POS terminal: its store and PIN pad on disk, its clock, its line to the host."""

    def __init__(self, world: SimWorld, terminal_id: str) -> None:
        self.world = world
        self.terminal_id = terminal_id
        self.clock = SkewedClock(world.clock)
        self.link = SimLink(terminal_id, world.host, world.clock, world.faults, self.note)
        self.store_file, self.key_file = terminal_files(world.settings, terminal_id)
        self.power_cuts = 0
        self._power_on()

    def note(self, text: str) -> None:
        self.world.note(f"{self.terminal_id} {text}")

    def _power_on(self) -> None:
        self.store = TerminalStore.open(self.store_file, now=self.clock)
        self.element = SecureElement.open(
            self.key_file, self.store, mac_algorithm=self.store.profile().mac_algorithm
        )
        faults = self.world.faults

        def on_commit(_conn: object) -> None:
            # the store's own writes: power may fail, or the flash may, at the worst moment
            if faults.roll("terminal.power_on_store_write"):
                raise PowerLoss("while the terminal store was writing")
            if faults.roll("terminal.disk_error"):
                raise OSError("terminal store: disk I/O error (simulated)")

        event.listen(self.store.engine, "commit", on_commit)

    def power_cycle(self) -> None:
        """Power lost: everything in memory is gone; the next engine starts from the store."""
        self.power_cuts += 1
        self.store.close()
        self._power_on()

    def engine(self, card: TestCard | None = None, interface: str = "magstripe") -> TerminalEngine:
        reader = TestCardReader(card, _ENTRY[interface], wallet=self.world.wallet)
        pins = ScriptedPinEntry([card.pin] if card is not None else [])
        devices = Devices(
            display=ScriptedDisplay(),
            keypad=ScriptedKeypad(),
            card_reader=reader,
            pin_entry=pins,
            printer=MemoryPrinter(),
            link=self.link,
            clock=self.clock,
            power=FixedPower(),
        )
        return TerminalEngine(
            self.store, self.element, devices, sleep=self.world.clock.sleep, random=self.world.rng.randbytes
        )

    def close(self) -> None:
        self.store.close()


class SimWorld:
    """Everything one seed runs on. Close it to release its files."""

    def __init__(self, seed: int, *, terminals: int, faults: FaultPlan, keep: Path | None = None) -> None:
        self.seed = seed
        self.rng = random.Random(seed ^ 0x5EED)  # the components' own randomness (keys, nonces)
        self.faults = faults
        self.events: list[str] = []
        self.clock = SimClock(START)
        self.directory = keep or Path(tempfile.mkdtemp(prefix=f"poskit-sim-{seed}-", dir=_scratch()))
        shutil.copytree(template_dir(terminals), self.directory, dirs_exist_ok=True)
        self.settings = Settings(data_dir=self.directory, host_port=0, portal_port=0)
        self.wallet = self.directory / "wallet"
        self.host = SimHost(self.settings, clock=self.clock, rng=self.rng, faults=faults)
        self.terminals = [SimTerminal(self, f"SIM{i:05d}") for i in range(terminals)]
        self.cards = list(CARD_BOOK)

    def note(self, text: str) -> None:
        self.events.append(f"{self.clock.now():%H:%M:%S} {text}")

    def close(self, *, remove: bool = True) -> None:
        for terminal in self.terminals:
            terminal.close()
        self.host.close()
        if remove:
            shutil.rmtree(self.directory, ignore_errors=True)
