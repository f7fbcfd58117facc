"""Portal fixtures: one demo world with real sales through the host, a portal app over it, clients.

The world is built once per session: ``provision_demo`` into a temporary data
directory, two extra terminals (one per merchant), and real sales through the real
host over TCP (scripted terminals): a PIN sale, a no-PIN fallback swipe that needs a
signature, a small contactless tap, a declined sale, a voided sale, and at the noodle
house a sale, an operator, a ticket, a dispute, a change request and a flag — the
"other merchant's" records every isolation test tries to reach.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import re
import uuid
import warnings
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from starlette.exceptions import StarletteDeprecationWarning

from poskit.cards.book import card_by_name
from poskit.config import Settings
from poskit.demo.world import DEMO_USERS, provision_demo
from poskit.host.runtime import RunningServices
from poskit.ledger.disputes import open_dispute
from poskit.ledger.merchant_changes import request_change
from poskit.ledger.monitoring import raise_flag
from poskit.ledger.settlement import settle_day
from poskit.money import Amount
from poskit.portal.accounts import get_user
from poskit.portal.app import create_app
from poskit.portal.data.support import open_ticket
from poskit.portal.tokens import create_token
from poskit.store.db import WRITE, make_engine
from poskit.store.schema import fee_lines, merchants, operators, transactions
from poskit.terminal.devices.network import TcpHostLink
from poskit.terminal.devices.scripted import (
    ScriptedPinEntry,
    TestCardReader,
    scripted_devices,
)
from poskit.terminal.engine import TerminalEngine
from poskit.terminal.runtime import terminal_files
from poskit.terminal.secure_element import SecureElement
from poskit.terminal.store import TerminalStore
from poskit.tms.registry import register_terminal

with warnings.catch_warnings():
    # starlette's test client warns that its httpx transport is deprecated (httpx2 is not installed here).
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

CAFE_TERMINAL = "PT000001"
NOODLE_TERMINAL = "PT000002"
SUPERVISOR = "123456"
SESSION_SECRET = "portal-tests-" + "x" * 40


@dataclasses.dataclass
class World:
    """The demo world and the ids tests need."""

    settings: Settings
    engine: Engine
    cafe_id: int
    noodle_id: int
    txns: dict[str, int]  # name -> transaction id (cafe_pin, cafe_nopin, cafe_tap, cafe_declined, ...)
    noodle: dict[
        str, Any
    ]  # the noodle house's records: txn, fee_line, operator, ticket, dispute, change, flag ...

    def txn(self, name: str) -> dict[str, Any]:
        with self.engine.connect() as conn:
            return dict(
                conn.execute(select(transactions).where(transactions.c.id == self.txns[name]))
                .mappings()
                .one()
            )


async def _no_sleep(_seconds: float) -> None:
    return None


def _engine_for(
    settings: Settings,
    address: str,
    tid: str,
    card: str | None,
    entry: str,
    pins: tuple[str, ...],
    chip_ok: bool,
) -> tuple[TerminalEngine, TerminalStore]:
    store_file, key_file = terminal_files(settings, tid)
    store = TerminalStore.open(store_file)
    element = SecureElement.open(key_file, store, mac_algorithm=store.profile().mac_algorithm)
    devices = scripted_devices(
        TcpHostLink(address),
        TestCardReader(card_by_name(card) if card else None, entry, chip_reader_ok=chip_ok),  # type: ignore[arg-type]
        ScriptedPinEntry(list(pins)),
    )
    return TerminalEngine(store, element, devices, sleep=_no_sleep), store


async def _run_sales(settings: Settings) -> dict[str, str]:
    """Real sales through the real host; returns name -> RRN."""
    services = RunningServices(settings, portal=False)
    await services.start()
    rrns: dict[str, str] = {}
    try:
        plan = [
            ("cafe_pin", CAFE_TERMINAL, "magstripe-debit", "swipe", ("654321",), "123.45", True),
            ("cafe_nopin", CAFE_TERMINAL, "visa-credit", "swipe", (), "88.00", False),
            ("cafe_declined", CAFE_TERMINAL, "magstripe-debit", "swipe", ("111111",), "10.00", True),
            ("cafe_tap", CAFE_TERMINAL, "quickpass-phone", "tap", (), "35.00", True),
            ("cafe_nopin2", CAFE_TERMINAL, "visa-credit", "swipe", (), "12.00", False),
            ("cafe_voided", CAFE_TERMINAL, "magstripe-debit", "swipe", ("654321",), "20.00", True),
            ("noodle_nopin", NOODLE_TERMINAL, "visa-credit", "swipe", (), "66.00", False),
        ]
        for name, tid, card, entry, pins, amount, chip_ok in plan:
            engine, store = _engine_for(settings, services.host.address, tid, card, entry, pins, chip_ok)
            outcome = await engine.sale(Amount.parse(amount, "CNY"))
            store.close()
            rrns[name] = outcome.rrn or f"stan:{tid}:{outcome.stan}"
            if name == "cafe_voided":
                engine, store = _engine_for(settings, services.host.address, tid, None, "swipe", (), True)
                void = await engine.void(outcome.stan, SUPERVISOR)
                store.close()
                assert void.approved, void.message
                rrns["cafe_void"] = void.rrn or ""
    finally:
        await services.stop()
    return rrns


def _seed_noodle_records(engine: Engine, noodle_id: int, now: datetime) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with engine.connect().execution_options(**WRITE) as conn, conn.begin():
        noodle_user = get_user(conn, "noodle")
        assert noodle_user is not None
        txn_id = conn.execute(
            select(transactions.c.id).where(
                transactions.c.merchant_id == noodle_id, transactions.c.txn_type == "sale"
            )
        ).scalar_one()
        out["txn"] = int(txn_id)
        out["fee_line"] = int(
            conn.execute(select(fee_lines.c.id).where(fee_lines.c.transaction_id == txn_id)).scalar_one()
        )
        out["operator"] = int(
            conn.execute(
                select(operators.c.id).where(operators.c.merchant_id == noodle_id, operators.c.code == "01")
            ).scalar_one()
        )
        out["ticket"] = open_ticket(
            conn,
            noodle_user,
            subject="Paper rolls",
            category="terminal",
            body="Please send 10 rolls",
            now=now,
        )
        out["dispute"] = open_dispute(
            conn,
            merchant_id=noodle_id,
            reason="fee looks high",
            opened_by="noodle",
            fee_line_id=out["fee_line"],
            now=now,
        ).id
        out["change"] = request_change(
            conn,
            merchant_id=noodle_id,
            field="address",
            new_value="202 North Caoxi Road",
            effective_from=now,
            requested_by="noodle",
            now=now,
        ).id
        out["flag"] = raise_flag(
            conn,
            key=f"test-flag-{noodle_id}",
            kind="mcc_mismatch",
            severity="warning",
            summary="MCC 5812 seen",
            details={},
            now=now,
            merchant_id=noodle_id,
            terminal_id=NOODLE_TERMINAL,
            transaction_id=int(txn_id),
        ).id
        out["token"] = create_token(conn, noodle_user.id, "noodle script", now=now).id
        out["user"] = noodle_user.id
    return out


def _database_url() -> Iterator[str | None]:
    """SQLite in the data directory; PostgreSQL when POSKIT_PORTAL_ON_POSTGRES=1 (and the URL is set)."""
    base = os.environ.get("POSKIT_TEST_POSTGRES_URL")
    if not (base and os.environ.get("POSKIT_PORTAL_ON_POSTGRES") == "1"):
        yield None
        return
    import psycopg

    admin = base.replace("postgresql+psycopg://", "postgresql://")
    name = f"poskit_portal_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{admin.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """The demo world with real sales, settled once (yesterday's cut-off ran at the end of today)."""
    data_dir: Path = tmp_path_factory.mktemp("portal-data")
    database = _database_url()
    settings = Settings(data_dir=data_dir, host_port=0, portal_port=0, database_url=next(database))
    provision_demo(settings)
    register_terminal(settings, CAFE_TERMINAL, "898310058120001", location="terrace")
    register_terminal(settings, NOODLE_TERMINAL, "898310058140002", location="kitchen")
    rrns = asyncio.run(_run_sales(settings))
    engine = make_engine(settings.resolved_database_url)
    now = datetime.now(UTC)
    with engine.connect() as conn:
        ids = {
            r.merchant_no: int(r.id) for r in conn.execute(select(merchants.c.id, merchants.c.merchant_no))
        }
        by_rrn = {r.rrn: int(r.id) for r in conn.execute(select(transactions.c.id, transactions.c.rrn))}
        declined = conn.execute(
            select(transactions.c.id).where(
                transactions.c.status == "declined", transactions.c.terminal_id == CAFE_TERMINAL
            )
        ).scalar_one()
    cafe_id, noodle_id = ids["898310058120001"], ids["898310058140002"]
    txns = {name: by_rrn[rrn] for name, rrn in rrns.items() if rrn in by_rrn}
    txns["cafe_declined"] = int(declined)
    noodle = _seed_noodle_records(engine, noodle_id, now)
    with engine.connect().execution_options(**WRITE) as conn, conn.begin():
        from poskit.ledger.directory import business_date_of

        today = business_date_of(now, "Asia/Shanghai")
        settle_day(conn, business_date=today, now=now + timedelta(days=1))
    yield World(settings, engine, cafe_id, noodle_id, txns, noodle)
    engine.dispose()
    database.close()  # drops the PostgreSQL database, if one was made


class Clock:
    """The portal's clock: real time plus an offset tests can move forward."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


@pytest.fixture(scope="session")
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="session")
def app(world: World, clock: Clock) -> Any:
    return create_app(world.engine, session_secret=SESSION_SECRET, secure_cookies=True, now=clock)


_CSRF = re.compile(r'name="csrf-token" content="([^"]+)"|name="csrf" value="([^"]+)"')


class Portal:
    """A browser-like client: cookies, the CSRF token of the last page, form posts."""

    def __init__(self, app: Any) -> None:
        self.client = TestClient(app, base_url="https://testserver")
        self.csrf = ""

    def get(self, url: str, **kwargs: Any) -> Any:
        response = self.client.get(url, **kwargs)
        self._remember(response)
        return response

    def _remember(self, response: Any) -> None:
        if response.headers.get("content-type", "").startswith("text/html"):
            found = _CSRF.search(response.text)
            if found:
                self.csrf = found.group(1) or found.group(2)

    def post(self, url: str, data: dict[str, Any] | None = None, *, csrf: bool = True, **kwargs: Any) -> Any:
        if not self.csrf:
            self.get("/login")
        form = dict(data or {})
        if csrf:
            form.setdefault("csrf", self.csrf)
        kwargs.setdefault("follow_redirects", False)
        response = self.client.post(url, data=form, **kwargs)
        self._remember(response)
        return response

    def login(self, username: str, password: str | None = None) -> Any:
        self.get("/login")
        return self.post(
            "/login", {"username": username, "password": password or DEMO_USERS[username][0], "next": "/"}
        )


@pytest.fixture
def portal(app: Any) -> Callable[..., Portal]:
    """``portal("cafe")``: a client logged in as a demo user (``portal(None)``: anonymous)."""

    def make(username: str | None = None) -> Portal:
        client = Portal(app)
        if username is not None:
            response = client.login(username)
            assert response.status_code == 303, response.text
            client.get("/")
        return client

    return make


@pytest.fixture(scope="session")
def token_for(world: World) -> Callable[[str], str]:
    """A fresh API token (the clear secret) for a demo user."""

    def make(username: str) -> str:
        with world.engine.connect().execution_options(**WRITE) as conn, conn.begin():
            user = get_user(conn, username)
            assert user is not None
            return create_token(conn, user.id, f"tests {username}", now=datetime.now(UTC)).secret

    return make


@pytest.fixture
def api(app: Any, token_for: Callable[[str], str]) -> Callable[[str], Any]:
    """``api("cafe")``: a test client sending that user's bearer token."""

    def make(username: str) -> Any:
        client = TestClient(app, base_url="https://testserver")
        client.headers["Authorization"] = f"Bearer {token_for(username)}"
        return client

    return make


@dataclasses.dataclass(frozen=True)
class RouteInfo:
    path: str
    methods: frozenset[str]
    api: bool


@pytest.fixture(scope="session")
def portal_routes() -> list[RouteInfo]:
    """Every route the portal defines (pages and API), read from each router module."""
    from fastapi.routing import APIRoute

    from poskit.portal import api
    from poskit.portal.routes import (
        account,
        acquirer,
        dashboard,
        disputes,
        finance,
        merchant,
        support,
        terminals,
    )
    from poskit.portal.routes import (
        transactions as txn_routes,
    )

    out = []
    for module in (
        account,
        acquirer,
        dashboard,
        disputes,
        finance,
        merchant,
        support,
        terminals,
        txn_routes,
        api,
    ):
        for route in module.router.routes:
            assert isinstance(route, APIRoute)
            out.append(RouteInfo(route.path, frozenset(route.methods or ()), module is api))
    return out
