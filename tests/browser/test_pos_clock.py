"""The browser POS clock keeps the merchant's time, zone named, whatever the browser's zone is."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

pytestmark = pytest.mark.browser


@pytest.mark.parametrize(
    ("user", "terminal", "zone", "offset"),
    [("lagos", "30000001", "Africa/Lagos", "+1"), ("cafe", "10000001", "Asia/Shanghai", "+8")],
)
def test_the_pos_status_bar_clock_shows_the_merchant_zone(
    page: Any, live: Any, login: Callable[..., None], user: str, terminal: str, zone: str, offset: str
) -> None:
    """Lagos reads UTC+1 and Shanghai UTC+8 on the device's clock (the browser's own zone cannot be both)."""
    login(user, next_path=f"/pos/{terminal}")
    clock = page.locator("#clock")
    assert clock.get_attribute("data-zone") == zone
    page.wait_for_function("document.getElementById('clock').textContent.length > 0")
    shown = clock.text_content() or ""
    now = datetime.now(UTC)
    expected = {
        (now + timedelta(seconds=s)).astimezone(ZoneInfo(zone)).strftime("%H:%M") for s in (-60, 0, 60)
    }
    assert shown[:5] in expected, shown
    assert shown[6:] in ({"WAT", f"GMT{offset}"} if offset == "+1" else {"CST", f"GMT{offset}"}), shown
