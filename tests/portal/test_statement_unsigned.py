"""The statement page lists the same unsigned slips as the 补签 page, from the host's stored flag."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

Portal = World = Any  # fixture types live in conftest.py


def test_statement_and_unsigned_page_agree(portal: Callable[..., Portal], world: World) -> None:
    """Each of the month's payments is on the statement's unsigned list exactly when /unsigned lists it."""
    client = portal("cafe")
    period = datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")
    section = client.get(f"/statements/{period}").text.split('id="unsigned"', 1)[1]
    unsigned_page = client.get("/unsigned").text
    csv_text = client.get(f"/statements/{period}.csv").text
    for name in ("cafe_pin", "cafe_nopin", "cafe_nopin2", "cafe_tap", "cafe_voided"):
        rrn = str(world.txn(name)["rrn"])
        listed = rrn in unsigned_page
        assert (rrn in section) is listed, name
        assert (f",{rrn}," in csv_text.split("\nsection,received_at,", 1)[1]) is listed, name
    for name in ("cafe_pin", "cafe_tap", "cafe_voided"):  # PIN, small tap, voided: never
        assert str(world.txn(name)["rrn"]) not in section
