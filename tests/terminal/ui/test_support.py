"""The terminal app's support screen: phone and hours, and a ticket that reaches the portal."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, select
from tests.portal.conftest import Portal
from tests.terminal.ui.test_app import SIZE, press, text_of

from poskit.config import Settings
from poskit.portal.accounts import authenticate
from poskit.portal.app import create_app
from poskit.portal.data.terminal_desk import PortalSupportDesk
from poskit.store.db import WRITE, make_engine
from poskit.store.schema_portal import support_tickets, ticket_messages
from poskit.terminal.support import SupportUnavailableError, TicketRequest
from poskit.terminal.ui.admin_screens import MenuScreen
from poskit.terminal.ui.app import PosApp
from poskit.terminal.ui.screens import ChoiceScreen, TextEntryScreen
from poskit.terminal.ui.support_screen import SupportScreen
from poskit.terminal.ui.txn_screens import ResultScreen

SESSION_SECRET = "terminal-support-tests-" + "y" * 40


@pytest.fixture(scope="module")
def host_db(demo_settings: Settings) -> Iterator[Engine]:
    engine = make_engine(demo_settings.resolved_database_url)
    yield engine
    engine.dispose()


async def _open_support(pilot: Any, wait_for: Callable[..., Any]) -> SupportScreen:
    await wait_for(pilot, MenuScreen)
    await press(pilot, "s")
    screen: SupportScreen = await wait_for(pilot, SupportScreen)
    return screen


async def test_a_ticket_from_the_terminal_reaches_the_portals_ticket_list(
    make_app: Callable[..., PosApp], wait_for: Callable[..., Any], host_db: Engine
) -> None:
    """Menu S shows the acquirer's phone and hours; T files a ticket the merchant and the
    acquirer's staff then find on the portal's Support page, with the terminal and operator named."""
    app = make_app(self_test_on_start=False)
    tid = app.engine.profile.terminal_id
    app.support = PortalSupportDesk(host_db, tid)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open_support(pilot, wait_for)
        contact = text_of(screen, "#contact")
        assert "400-858-3000" in contact and "08:00-22:00" in contact
        await press(pilot, "t")
        await wait_for(pilot, ChoiceScreen)
        await press(pilot, "1")  # the terminal or its printer
        await wait_for(pilot, TextEntryScreen)
        await pilot.press(*"Printer jams after every slip")
        await press(pilot, "enter")
        result = await wait_for(pilot, ResultScreen)
        message = text_of(result, "#message")
        assert result.view.status == "info" and "Ticket #" in message, message
        number = int(message.split("#", 1)[1].split(" ", 1)[0].rstrip(":"))

    with host_db.connect() as conn:
        ticket = conn.execute(select(support_tickets).where(support_tickets.c.id == number)).mappings().one()
        body = conn.execute(
            select(ticket_messages.c.body).where(ticket_messages.c.ticket_id == number)
        ).scalar_one()
    assert ticket["category"] == "terminal" and ticket["status"] == "open"
    assert f"terminal {tid}" in ticket["subject"]
    assert "Printer jams after every slip" in body and f"terminal {tid} by operator 01" in body

    portal = create_app(host_db, session_secret=SESSION_SECRET)
    for user in ("cafe", "acquirer"):
        client = Portal(portal)
        assert client.login(user).status_code == 303
        page = client.get("/support").text
        assert f'href="/support/tickets/{number}"' in page and f"terminal {tid}" in page, user
        assert "Printer jams after every slip" in client.get(f"/support/tickets/{number}").text
    noodle = Portal(portal)
    assert noodle.login("noodle").status_code == 303
    assert noodle.get(f"/support/tickets/{number}").status_code == 404  # another merchant's


async def test_in_chinese_the_support_screen_reads_chinese(
    make_app: Callable[..., PosApp], wait_for: Callable[..., Any], host_db: Engine
) -> None:
    """中文 mode: 客服, 电话, 服务时间 and 提交工单."""
    app = make_app(self_test_on_start=False, language="zh_CN")
    app.support = PortalSupportDesk(host_db, app.engine.profile.terminal_id)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open_support(pilot, wait_for)
        assert text_of(screen, "#title") == "客服"
        contact = text_of(screen, "#contact")
        assert "电话" in contact and "服务时间" in contact
        assert "提交工单" in app.export_screenshot()


async def test_without_a_desk_the_provisioned_phone_is_shown_and_no_ticket_offered(
    make_app: Callable[..., PosApp], wait_for: Callable[..., Any]
) -> None:
    """A terminal with no support desk still shows the phone it was provisioned with; T does nothing."""
    app = make_app(self_test_on_start=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open_support(pilot, wait_for)
        assert app.engine.profile.support_phone in text_of(screen, "#contact")
        assert not screen.query("#support-ticket")
        await press(pilot, "t")
        assert isinstance(app.screen, SupportScreen)
        await press(pilot, "escape")
        await wait_for(pilot, MenuScreen)


def test_the_terminals_ticket_account_can_never_log_in(host_db: Engine, new_counter: Any) -> None:
    """The account a terminal files tickets as belongs to its merchant and accepts no password."""
    tid = new_counter().store.profile().terminal_id
    desk = PortalSupportDesk(host_db, tid)
    number = desk.open_ticket(TicketRequest(tid, "general", "a question", "what is a batch?"))
    assert number > 0
    with host_db.connect().execution_options(**WRITE) as conn, conn.begin():
        for guess in ("", "!terminal-account", "poskit-cafe-1"):
            result = authenticate(conn, f"terminal-{tid}", guess, now=datetime.now(UTC))
            assert result.user is None, guess


def test_an_unknown_terminal_cannot_file_a_ticket(host_db: Engine) -> None:
    """A terminal the host does not know gets a clear refusal, not a ticket for nobody."""
    with pytest.raises(SupportUnavailableError, match="not registered"):
        PortalSupportDesk(host_db, "NOSUCH01").open_ticket(
            TicketRequest("NOSUCH01", "general", "hello", "is anyone there?")
        )
