"""The browser POS without a browser: its menu session over the real engine and host, its pages' guards.

These run wherever the services run (no Chromium needed) and check the server side the
page relies on: the prompts and answers of a sale, cancelling, the access rules and the
translations.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from poskit.money import Amount
from poskit.portal.pos.i18n import pos_translator
from poskit.portal.pos.session import MENU, PosSession, param_spec, safe_fields
from poskit.terminal.devices.browser import BrowserChannel, browser_kit
from poskit.terminal.runtime import open_terminal
from poskit.tms.registry import register_terminal

_tids = itertools.count(1)


class Counter:
    """A page's side of the channel: reads what the terminal shows, answers its questions."""

    def __init__(self, channel: BrowserChannel) -> None:
        self.channel = channel
        self.seen: list[dict[str, Any]] = []

    async def until(self, t: str, kind: str | None = None) -> dict[str, Any]:
        while True:
            event = await asyncio.wait_for(self.channel.outbox.get(), 20)
            self.seen.append(event)
            if event["t"] == t and (kind is None or event.get("kind") == kind):
                return event

    def answer(self, prompt: dict[str, Any], **values: Any) -> None:
        self.channel.feed({"t": "answer", "id": prompt["id"], **values})

    def press(self, key: str) -> None:
        self.channel.feed({"t": "menu", "key": key})


def run(scenario: Coroutine[Any, Any, None]) -> None:
    """Run a scenario in its own event loop and thread (Playwright's sync API may hold this thread's)."""
    with ThreadPoolExecutor(1) as worker:
        worker.submit(asyncio.run, scenario).result(120)


@contextlib.asynccontextmanager
async def pos_session(live: Any) -> AsyncIterator[tuple[Counter, PosSession]]:
    """A fresh terminal of the cafe with a POS session running on it."""
    tid = f"BRWS{next(_tids):04d}"
    await asyncio.to_thread(register_terminal, live.settings, tid, "898310058120001")
    channel = BrowserChannel(prompt_timeout=20)
    kit = browser_kit(channel, wallet=live.settings.data_dir / "cards")
    store, engine = await asyncio.to_thread(
        open_terminal, live.settings, tid, kit.devices, host_address=live.services.host.address
    )
    session = PosSession(engine, kit, status_interval=3600)
    task = asyncio.create_task(session.run())
    page = Counter(channel)
    await page.until("idle")
    yield page, session
    channel.close()
    await asyncio.wait_for(task, 20)
    store.close()


def test_sale_over_the_real_host(live: Any) -> None:
    """Sale from the menu: amount, confirmation, swipe, PIN key by key, then the approval and both
    copies, the cardholder's with its e-receipt QR code."""
    run(_sale(live))


async def _sale(live: Any) -> None:
    async with pos_session(live) as (page, _session):
        page.press("sale")
        page.answer(await page.until("prompt", "amount"), value="88.00")
        confirm = await page.until("prompt", "confirm")
        assert "CNY 88.00" in confirm["prompt"]
        page.answer(confirm, value=True)
        page.answer(await page.until("prompt", "card"), card="magstripe-debit", entry="swipe")
        pin = await page.until("prompt", "pin")
        for key in [*"654321", "enter"]:
            page.answer(pin, key=key)
        result = await page.until("result")
        assert result["status"] == "approved", result
        rows = dict(result["rows"])
        assert rows["Amount"] == "CNY 88.00" and rows["Entry"] == "swipe" and rows["Response code"] == "00"
        copies = [e["copy"] for e in page.seen if e["t"] == "receipt"]
        assert copies == ["merchant", "cardholder"]
        slips = {e["copy"]: e for e in page.seen if e["t"] == "receipt"}
        assert "/r/" in slips["merchant"]["text"] and slips["merchant"]["qr"] is None
        assert str(slips["cardholder"]["qr"]).startswith("data:image/svg+xml")  # the e-receipt QR code
        status = await page.until("status")
        assert status["network"] is True and status["operator"] == "01"
        assert "654321" not in repr(page.seen)


def test_cancel_and_bad_amounts(live: Any) -> None:
    """A zero amount is asked again; Cancel ends the function with "cancelled" and back to the menu."""
    run(_cancel(live))


async def _cancel(live: Any) -> None:
    async with pos_session(live) as (page, _session):
        page.press("refund")
        first = await page.until("prompt", "amount")
        page.answer(first, value="0.00")
        error = await page.until("display")
        assert error["level"] == "error"
        again = await page.until("prompt", "amount")
        assert again["id"] != first["id"]
        page.answer(again, cancel=True)
        result = await page.until("result")
        assert (result["status"], result["message"]) == ("failed", "cancelled")
        await page.until("idle")
        page.press("no-such-function")
        assert (await page.until("result"))["message"] == "not available on this terminal yet"


def test_menu_follows_the_engine(live: Any) -> None:
    """Each menu item is enabled exactly when the engine has its function."""
    run(_menu(live))


async def _menu(live: Any) -> None:
    async with pos_session(live) as (_page, session):
        menu = {m["key"]: m["enabled"] for m in session.menu()}
        assert list(menu) == [m.key for m in MENU]
        for item in MENU:
            has = callable(getattr(session.engine, item.method, None))
            if item.key == "unsigned":
                has = has and callable(getattr(session.engine, "sign", None))
            assert menu[item.key] is has


def test_pages_need_the_merchants_login(live: Any) -> None:
    """Without a session the POS page sends you to log in; its script and style are public files."""
    with httpx.Client(base_url=live.url) as client:
        response = client.get("/pos/10000001")
        assert response.status_code == 303
        assert response.headers["location"] == "/login?next=/pos/10000001"
        assert client.get("/pos").status_code == 303
        script = client.get("/pos/static/pos.js")
        assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
        assert client.get("/pos/static/pos.css").status_code == 200
        assert client.get("/pos/static/routes.py").status_code == 404


def test_translations() -> None:
    """Labels and the engine's messages, values and response texts included, read in Chinese."""
    zh = pos_translator("zh_CN")
    assert zh("Sale") == "消费"
    assert zh("Amount CNY 1,234.50 — confirm?") == "金额 CNY 1,234.50，请确认"
    assert zh("CNY 12.50  Enter PIN (or bypass)") == "CNY 12.50  请输入密码（或跳过）"
    assert zh("Declined: Insufficient funds") == "交易拒绝：可用余额不足"
    assert zh("something new from the engine") == "something new from the engine"
    en = pos_translator("en")
    assert en("Sale") == "Sale" and en("Declined: Insufficient funds") == "Declined: Insufficient funds"


def test_results_never_show_secrets() -> None:
    """Tokens, PIN blocks, keys and signatures are left out of what the screen shows; masked PANs stay."""
    rows = dict(
        safe_fields(
            {
                "pan_token": "ENC:abc",
                "pin_block": "1234",
                "masked_pan": "622202*********6789",
                "signature": b"\x89PNG",
                "key": "00112233",
                "amount": Amount.parse("12.50", "CNY"),
                "stan": 7,
                "totals": {"sale_count": 2, "pan": "6222021001123456789"},
            }
        )
    )
    assert rows == {
        ("masked_pan",): "622202*********6789",
        ("amount",): "CNY 12.50",
        ("stan",): "000007",
        ("totals", "sale_count"): "2",
    }


def test_questions_come_from_argument_names() -> None:
    """The POS asks for each engine argument in the cashier's words."""
    assert param_spec("void", "voucher").prompt == "Original voucher no."
    assert param_spec("reprint", "voucher").prompt == "Voucher no. (Enter for the last)"
    assert param_spec("refund", "rrn").kind == "digits" and param_spec("refund", "rrn").max_length == 12
    assert param_spec("sign_in", "password").kind == "secret"
    assert param_spec("something", "tip_amount").kind == "amount"
    assert param_spec("something", "new_thing").prompt == "New thing"
