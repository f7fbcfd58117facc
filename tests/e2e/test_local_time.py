"""`poskit unsigned` lists the slips waiting for a signature in the merchant's time, zone named."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from poskit.cli import commands  # noqa: F401  (registers the sub-commands)
from poskit.cli.app import app

pytestmark = pytest.mark.usefixtures("live_host")

runner = CliRunner()


@pytest.mark.parametrize(
    ("merchant_no", "card", "entry", "currency", "zone", "offset", "name"),
    [
        ("898234058120003", "mastercard-ngn", "chip", "NGN", "Africa/Lagos", "+01:00", "WAT"),
        ("898310058120001", "daily-limit", "swipe", "CNY", "Asia/Shanghai", "+08:00", "CST"),
    ],
)
async def test_unsigned_lists_the_local_time_of_the_merchant(
    demo_settings: Any,
    live_host: Any,
    new_counter: Any,
    merchant_no: str,
    card: str,
    entry: str,
    currency: str,
    zone: str,
    offset: str,
    name: str,
) -> None:
    """A swiped sale without PIN awaits its signature; `poskit unsigned` shows it at Lagos time
    (WAT, +01:00) or Shanghai time (CST, +08:00), in the text listing and in --json."""
    counter = new_counter(merchant_no=merchant_no)
    common = ["--terminal", counter.terminal_id, "--data-dir", str(demo_settings.data_dir)]
    common += ["--host", live_host.address]
    # through the CLI, as a merchant would: the chip card's counters live in the data directory's wallet
    paid = await asyncio.to_thread(
        runner.invoke, app, ["pay", "2.00", "--card", card, "--entry", entry, *common, "--json"]
    )
    sale = json.loads([line for line in paid.stdout.splitlines() if line.startswith("{")][-1])
    assert sale["approved"] and sale["currency"] == currency, sale
    stored = counter.store.find_voucher(int(sale["stan"]))
    assert stored.signature_required and stored.local_datetime.utcoffset().total_seconds() == 0
    local = stored.local_datetime.astimezone(ZoneInfo(zone))
    listed = await asyncio.to_thread(runner.invoke, app, ["unsigned", *common, "--json"])
    assert listed.exit_code == 0, listed.stdout
    rows = json.loads([line for line in listed.stdout.splitlines() if line.startswith(("[", "{"))][-1])
    row = next(
        r
        for r in (rows if isinstance(rows, list) else rows["unsigned"])
        if int(r["voucher"]) == int(sale["stan"])
    )
    assert row["date_time"] == local.isoformat() and row["date_time"].endswith(offset)
    assert row["zone"] == name
    text = await asyncio.to_thread(runner.invoke, app, ["unsigned", *common], terminal_width=200)
    assert f"{local:%Y-%m-%d %H:%M} {name}" in " ".join(text.stdout.split()), text.stdout
