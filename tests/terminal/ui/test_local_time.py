"""The terminal app's transaction query tells the time in the merchant's zone, zone named."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from poskit.cli import commands  # noqa: F401  (registers the sub-commands)
from poskit.cli.app import app as cli
from poskit.terminal.ui.admin_screens import MenuScreen
from poskit.terminal.ui.app import PosApp
from poskit.terminal.ui.screens import TextEntryScreen
from poskit.terminal.ui.txn_screens import ResultScreen

from .test_app import SIZE, press

LAGOS_MERCHANT = "898234058120003"
CAFE_MERCHANT = "898310058120001"


@pytest.mark.parametrize(
    ("merchant_no", "card", "entry", "pin", "currency", "zone", "offset", "name"),
    [
        (LAGOS_MERCHANT, "verve-ngn", "chip", "1111", "NGN", "Africa/Lagos", "+0100", "WAT"),
        (CAFE_MERCHANT, "magstripe-debit", "swipe", "654321", "CNY", "Asia/Shanghai", "+0800", "CST"),
    ],
)
async def test_query_shows_the_sale_in_the_merchant_zone(
    make_app: Callable[..., PosApp],
    wait_for: Callable[..., Any],
    live_host: Any,
    merchant_no: str,
    card: str,
    entry: str,
    pin: str,
    currency: str,
    zone: str,
    offset: str,
    name: str,
) -> None:
    """Menu 8 (query) shows the stored UTC time as Lagos time (WAT, +01:00) or Shanghai time (CST, +08:00)."""
    app = make_app(self_test_on_start=False, merchant_no=merchant_no)
    counter: Any = app.counter  # type: ignore[attr-defined]
    # paid through the CLI, whose card wallet keeps the chip's counters for every front end
    args = ["pay", "15.00", "--card", card, "--entry", entry, "--pin", pin, "--terminal", counter.terminal_id]
    args += ["--data-dir", str(counter.settings.data_dir), "--host", live_host.address, "--json"]
    paid = await asyncio.to_thread(CliRunner().invoke, cli, args)
    sale = json.loads([line for line in paid.stdout.splitlines() if line.startswith("{")][-1])
    assert sale["approved"] and sale["currency"] == currency, sale
    stan = int(sale["stan"])
    stored = counter.store.find_voucher(stan)
    assert stored.local_datetime.utcoffset().total_seconds() == 0  # kept in UTC
    local = stored.local_datetime.astimezone(ZoneInfo(zone))
    assert local.strftime("%z") == offset
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, MenuScreen)
        await press(pilot, "8")
        await wait_for(pilot, TextEntryScreen)
        await press(pilot, *f"{stan}", "enter")
        result: ResultScreen = await wait_for(pilot, ResultScreen)
        shown = dict(result.view.details)["Date/time"]
    assert shown == f"{local:%Y-%m-%d %H:%M:%S} {name}", shown
    assert datetime.strptime(shown[:19], "%Y-%m-%d %H:%M:%S") != stored.local_datetime.replace(tzinfo=None)
