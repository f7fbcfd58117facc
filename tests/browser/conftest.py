"""Real-browser fixtures: the running services, Debian's Chromium driven by Playwright, screenshots.

The host and the portal run as ``poskit up`` runs them (:class:`RunningServices`) on free
ports in a background thread, over a freshly provisioned data directory. Chromium is the
system package (``/usr/bin/chromium``, installed by ``.ci/run``), never a Playwright
download; tests skip only when it is absent. Screenshots of the main pages go to
``test-artifacts/screenshots/`` (git-ignored) for people to look at.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from tests.net import free_port

from poskit.config import Settings
from poskit.demo.world import DEMO_USERS, provision_demo
from poskit.portal.pos import PosConfig
from poskit.testing import LiveServices

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--headless=new",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
#: How long a step in the browser may take (the host round trip, a chip card's RSA).
STEP_MS = 20_000


def chromium_path() -> str | None:
    found = os.environ.get("POSKIT_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    return found if Path(found).exists() else None


class BrowserServices(LiveServices):
    """Host and portal as ``poskit up`` runs them (the browser POS enabled by the running services)."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings, portal=True)

    def start(self) -> BrowserServices:
        super().start()
        assert self.services is not None and isinstance(
            getattr(self.services.portal_app.state, "pos", None), PosConfig
        )
        return self


@pytest.fixture(scope="session")
def pos_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A data directory with the demo world (merchants, terminals, users, cards) provisioned."""
    data_dir = tmp_path_factory.mktemp("poskit-browser")
    settings = Settings(data_dir=data_dir, host_port=0, portal_port=free_port(), locale="en")
    provision_demo(settings)
    return settings


@pytest.fixture(scope="session")
def live(pos_settings: Settings) -> Iterator[LiveServices]:
    """The real host and portal for the whole browser session."""
    services = BrowserServices(pos_settings).start()
    yield services
    services.stop()


@pytest.fixture(scope="module")
def chromium_context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Debian's Chromium with a fresh profile directory, driven by Playwright.

    Module-scoped: Playwright's sync API runs an event loop in the main thread while it is
    open, and the asyncio tests of other folders need that thread back when these are done.
    """
    executable = chromium_path()
    if executable is None:
        pytest.skip("system Chromium not installed (.ci/run installs the Debian package `chromium`)")
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=executable,
            args=CHROMIUM_ARGS,
            headless=True,
            viewport=DESKTOP,
            locale="en-US",
        )
        context.set_default_timeout(STEP_MS)
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def page(chromium_context: Any, live: LiveServices) -> Iterator[Any]:
    """A fresh tab with no portal session; page errors fail the test."""
    chromium_context.clear_cookies()
    tab = chromium_context.new_page()
    tab.set_viewport_size(DESKTOP)
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    yield tab
    tab.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


@pytest.fixture
def shoot() -> Callable[[Any, str], Path]:
    """Save a screenshot of a page under test-artifacts/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(tab: Any, name: str, *, full_page: bool = True) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        tab.screenshot(path=str(path), full_page=full_page, animations="disabled")
        return path

    return take


def password_of(username: str) -> str:
    return DEMO_USERS[username][0]


def log_in(
    tab: Any, base_url: str, username: str, password: str | None = None, *, next_path: str = "/"
) -> None:
    """Log in through the portal's login form and wait for the page after it."""
    tab.goto(f"{base_url}/login?next={next_path}")
    tab.fill("input[name=username]", username)
    tab.fill("input[name=password]", password if password is not None else password_of(username))
    with tab.expect_navigation():
        tab.click("form[action='/login'] button[type=submit]")


class PosDriver:
    """The person at the counter, using the browser POS page like a cashier and a cardholder."""

    def __init__(self, tab: Any, base_url: str, terminal_id: str) -> None:
        self.tab = tab
        self.base_url = base_url
        self.terminal_id = terminal_id

    def open(self, *, lang: str | None = None) -> None:
        query = f"?lang={lang}" if lang else ""
        self.tab.goto(f"{self.base_url}/pos/{self.terminal_id}{query}")
        # Remember every question the terminal asks, to check later which ones came up.
        self.tab.evaluate(
            """() => {
                window.__prompts = [];
                const screen = document.getElementById('screen');
                new MutationObserver(() => {
                    const kind = screen.dataset.prompt;
                    const last = window.__prompts[window.__prompts.length - 1];
                    if (kind && last !== kind) window.__prompts.push(kind);
                }).observe(screen, {attributes: true, attributeFilter: ['data-prompt']});
            }"""
        )
        self.wait_idle()

    def wait_idle(self) -> None:
        self.tab.wait_for_selector('#screen[data-mode="idle"]')

    def wait_prompt(self, kind: str) -> None:
        self.tab.wait_for_selector(f'#screen[data-prompt="{kind}"]')

    def key(self, *keys: str) -> None:
        for k in keys:
            self.tab.click(f'#keypad [data-key="{k}"]')

    def type_digits(self, digits: str) -> None:
        self.key(*digits)

    def prompts(self) -> list[str]:
        return list(self.tab.evaluate("() => window.__prompts"))

    def function(self, name: str) -> None:
        """A function from the idle menu (the screen's list), like pressing its number."""
        self.wait_idle()
        self.tab.click(f'#screen [data-menu="{name}"]')

    def start_sale(self, amount_digits: str) -> str:
        """Sale: type the amount, confirm it, and wait for the card; returns the confirmation question."""
        self.tab.click('.fkeys [data-fn="sale"]')
        self.wait_prompt("amount")
        self.type_digits(amount_digits)
        self.key("enter")
        self.wait_prompt("confirm")
        question = str(self.tab.inner_text("#title"))
        self.key("enter")
        self.wait_prompt("card")
        return question

    def present(self, card: str, entry: str) -> None:
        self.tab.click(f'.testcard[data-card="{card}"] button[data-entry="{entry}"]')

    def enter_pin(self, pin: str) -> None:
        self.wait_prompt("pin")
        self.type_digits(pin)
        # The PIN pad on the server counts the digits; the page shows that many asterisks, nothing else.
        self.tab.wait_for_function(
            "n => document.getElementById('pin').textContent === '*'.repeat(n)", arg=len(pin)
        )
        self.key("enter")

    def sign(self) -> None:
        """The cardholder signs on the pad with a few strokes and presses Done."""
        self.wait_prompt("signature")
        canvas = self.tab.locator("#sig-canvas")
        box = canvas.bounding_box()
        assert box is not None
        x, y, h = box["x"], box["y"], box["height"]
        self.tab.mouse.move(x + 20, y + h / 2)
        self.tab.mouse.down()
        for i in range(1, 24):
            self.tab.mouse.move(x + 20 + i * 14, y + h / 2 + (h / 4 if i % 2 else -h / 4))
        self.tab.mouse.up()
        self.tab.click("#sig-done")

    def result(self) -> dict[str, str]:
        """Wait for the result screen; its status, message and rows."""
        self.tab.wait_for_selector('#screen[data-mode="result"]')
        rows = self.tab.evaluate(
            """() => {
                const out = {};
                const dts = document.querySelectorAll('#screen .result dt');
                dts.forEach((dt) => { out[dt.textContent] = dt.nextElementSibling.textContent; });
                return out;
            }"""
        )
        rows["status"] = self.tab.get_attribute("#screen", "data-status") or ""
        rows["message"] = self.tab.inner_text("#screen .result-message")
        return dict(rows)

    def dismiss(self) -> None:
        self.key("enter")
        self.wait_idle()

    def receipts(self) -> list[str]:
        return [el.inner_text() for el in self.tab.query_selector_all("#receipts .receipt pre")]


@pytest.fixture
def login(page: Any, live: LiveServices) -> Callable[..., None]:
    """Log the test's tab in through the portal's login form."""

    def run(username: str, password: str | None = None, *, next_path: str = "/") -> None:
        log_in(page, live.url, username, password, next_path=next_path)

    return run


@pytest.fixture
def pos(page: Any, live: LiveServices) -> Callable[[str], PosDriver]:
    """A driver for the browser POS of a terminal (log in first)."""

    def make(terminal_id: str) -> PosDriver:
        return PosDriver(page, live.url, terminal_id)

    return make


# --- payments made by a scripted terminal (to have data in the portal without the browser) ------
@pytest.fixture(scope="session")
def pay(live: LiveServices) -> Callable[..., Any]:
    """Take a payment on terminal 10000002 with a scripted cashier and cardholder; the outcome."""
    from poskit.cards.book import card_by_name
    from poskit.money import Amount
    from poskit.terminal.devices.ports import Devices, HostLink
    from poskit.terminal.devices.scripted import ScriptedPinEntry, TestCardReader, scripted_devices
    from poskit.terminal.runtime import open_terminal

    assert live.services is not None

    def run(
        amount: str, card: str, *, entry: str = "swipe", pin: str | None = None, terminal: str = "10000002"
    ) -> Any:
        def devices(link: HostLink) -> Devices:
            return scripted_devices(
                link,
                TestCardReader(card_by_name(card), entry, wallet=live.settings.data_dir / "cards"),  # type: ignore[arg-type]
                ScriptedPinEntry([pin] if pin else []),
            )

        assert live.services is not None
        store, engine = open_terminal(
            live.settings, terminal, devices, host_address=live.services.host.address
        )
        try:
            # Playwright's sync API keeps an event loop running in this thread: use another one.
            with ThreadPoolExecutor(1) as worker:
                outcome = worker.submit(asyncio.run, engine.sale(Amount.parse(amount, "CNY"))).result(60)
        finally:
            store.close()
        assert outcome.approved, outcome.message
        return outcome

    return run


@pytest.fixture(scope="session")
def host_db(live: LiveServices) -> Iterator[Any]:
    """The host database, for looking up what the portal shows and adding test users."""
    from poskit.store.db import make_engine

    engine = make_engine(live.settings.resolved_database_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def txn_id(host_db: Any) -> Callable[[str], int]:
    """The host's transaction id (as in /transactions/{id}) of the sale with this reference number."""
    from sqlalchemy import select

    from poskit.store.schema import transactions

    def find(rrn: str) -> int:
        with host_db.connect() as conn:
            return int(
                conn.execute(
                    select(transactions.c.id)
                    .where(transactions.c.rrn == rrn)
                    .order_by(transactions.c.id)
                    .limit(1)
                ).scalar_one()
            )

    return find
