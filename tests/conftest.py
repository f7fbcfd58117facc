"""Shared fixtures: databases (SQLite always, PostgreSQL when POSKIT_TEST_POSTGRES_URL is set)."""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from poskit.cards.book import card_by_name
from poskit.config import Settings
from poskit.crypto.hsm import SoftHSM
from poskit.crypto.pan_protect import PanProtector
from poskit.demo.world import provision_demo
from poskit.host.security import load_host_keys, load_lmk
from poskit.sim.invariants import clear_card_data_in
from poskit.store.db import make_engine, normalise_url
from poskit.store.migrate import upgrade
from poskit.store.schema import issuer_accounts, issuer_cards
from poskit.terminal.devices.network import TcpHostLink
from poskit.terminal.devices.ports import (
    NoResponse,
)
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
from poskit.testing import LiveServices
from poskit.tms.registry import register_terminal

POSTGRES_URL = os.environ.get("POSKIT_TEST_POSTGRES_URL")


def _postgres_database() -> Iterator[str]:
    import psycopg

    assert POSTGRES_URL is not None
    admin_url = normalise_url(POSTGRES_URL).replace("postgresql+psycopg://", "postgresql://")
    name = f"poskit_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base, _, _db = admin_url.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: os.PathLike[str]) -> Iterator[str]:
    """A fresh empty database URL on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/host.sqlite"
        return
    if not POSTGRES_URL:
        pytest.skip("POSKIT_TEST_POSTGRES_URL not set")
    yield from _postgres_database()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """A migrated host database engine on each backend."""
    eng = make_engine(db_url)
    upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def sqlite_engine(tmp_path: os.PathLike[str]) -> Iterator[Engine]:
    """A migrated host database on SQLite only (for tests that need no backend matrix)."""
    eng = make_engine(f"sqlite:///{tmp_path}/host.sqlite")
    upgrade(eng)
    yield eng
    eng.dispose()


# --- the running system: provisioned data directory, live host, scripted terminals ----------


@pytest.fixture(scope="session")
def demo_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """A data directory with the demo world provisioned once per test session.

    When the session ends, the whole data directory (host database, terminal stores, card
    wallets, key files) is scanned: no test-card PAN or track may be found in clear.
    """
    data_dir: Path = tmp_path_factory.mktemp("poskit-data")
    settings = Settings(data_dir=data_dir, host_port=0, portal_port=0)
    provision_demo(settings)
    yield settings
    leaks = clear_card_data_in(data_dir)
    assert not leaks, f"clear card data in the data directory: {leaks}"


@pytest.fixture(scope="session")
def live_host(demo_settings: Settings) -> Iterator[LiveServices]:
    """The real host on an ephemeral TCP port for the whole session."""
    live = LiveServices(demo_settings, portal=False).start()
    yield live
    live.stop()


# --- terminals and card-holder scripts ------------------------------------------------------
_tids = itertools.count(1)


async def _no_sleep(_seconds: float) -> None:
    return None


class Counter:
    """One terminal at the counter, scripted: which card, how, which PINs."""

    def __init__(self, settings: Settings, address: str, terminal_id: str) -> None:
        self.settings = settings
        self.terminal_id = terminal_id
        store_file, key_file = terminal_files(settings, terminal_id)
        self.store = TerminalStore.open(store_file)
        self.element = SecureElement.open(
            key_file, self.store, mac_algorithm=self.store.profile().mac_algorithm
        )
        self.link = TcpHostLink(address)
        self.display = ScriptedDisplay()
        self.printer = MemoryPrinter()
        self.reader = TestCardReader(None)
        self.pins = ScriptedPinEntry()

    def engine(
        self,
        card: str | None = None,
        *,
        entry: str = "swipe",
        pins: tuple[str, ...] = (),
        link: Any = None,
        chip_reader_ok: bool = True,
    ) -> TerminalEngine:
        self.reader = TestCardReader(
            card_by_name(card) if card else None,
            entry,  # type: ignore[arg-type]
            chip_reader_ok=chip_reader_ok,
        )
        self.pins = ScriptedPinEntry(list(pins))
        devices = scripted_devices(
            link or self.link, self.reader, self.pins, display=self.display, printer=self.printer
        )
        return TerminalEngine(self.store, self.element, devices, sleep=_no_sleep)


@pytest.fixture
def new_counter(demo_settings: Settings, live_host: LiveServices) -> Iterator[Callable[..., Counter]]:
    """A fresh terminal registered at the demo cafe (isolated batch, counters and reversals)."""
    made: list[Counter] = []

    def make(
        *, mac_algorithm: str = "cups-ecb", merchant_no: str = "898310058120001", dialect: str = "cups"
    ) -> Counter:
        tid = f"E2E{next(_tids):05d}"
        register_terminal(demo_settings, tid, merchant_no, mac_algorithm=mac_algorithm, dialect=dialect)
        counter = Counter(demo_settings, live_host.address, tid)
        made.append(counter)
        return counter

    yield make
    for counter in made:
        counter.store.close()


@pytest.fixture(scope="session")
def issuer_balance(demo_settings: Settings) -> Callable[[str], int]:
    """The issuer simulator's available balance of a test card, in minor units."""
    lmk = load_lmk(demo_settings.resolved_lmk_file, create=False)
    engine = make_engine(demo_settings.resolved_database_url)
    with engine.connect() as conn:
        keys = load_host_keys(conn)
    protector = PanProtector(SoftHSM(lmk), data_key=keys["pan_data"], hash_key=keys["pan_hash"])

    def balance(card_name: str) -> int:
        digest = protector.fingerprint(card_by_name(card_name).pan)
        with engine.connect() as conn:
            return int(
                conn.execute(
                    select(issuer_accounts.c.balance)
                    .select_from(issuer_cards.join(issuer_accounts))
                    .where(issuer_cards.c.pan_hash == digest)
                ).scalar_one()
            )

    return balance


class DropResponses:
    """Forwards to the real host, then loses the answer (a cut cable after the host approved)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    @property
    def address(self) -> str:
        return str(self.inner.address)

    async def probe(self, *, timeout: float) -> bool:
        return bool(await self.inner.probe(timeout=timeout))

    async def exchange(self, frame: bytes, *, timeout: float) -> bytes:
        await self.inner.exchange(frame, timeout=timeout)
        raise NoResponse("no response within the timeout")


@pytest.fixture
def drop_responses() -> type[DropResponses]:
    """A link that forwards to the real host and then loses the answer."""
    return DropResponses


@pytest.fixture
def clear_card_scan() -> Callable[[Path], list[str]]:
    """The scanner the session uses to prove no PAN or track is stored in clear."""
    return clear_card_data_in
