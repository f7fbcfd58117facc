"""Operator lock-outs at the counter, told in the terminal's own time zone."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from poskit.passwords import hash_password
from poskit.terminal.operators import LOCK_MINUTES, MAX_ATTEMPTS, check_operator_password
from poskit.terminal.store import TerminalStore


@pytest.mark.parametrize(
    ("zone", "shown"),
    [("Africa/Lagos", "13:30 WAT"), ("Asia/Shanghai", "20:30 CST"), ("UTC", "12:30 UTC")],
)
def test_a_locked_operator_is_told_the_local_unlock_time_with_its_zone(
    tmp_path: Path, zone: str, shown: str
) -> None:
    """After MAX_ATTEMPTS wrong passwords at 12:00 UTC the lock lasts LOCK_MINUTES; the message
    gives the end in the terminal's zone (stored in UTC), named so nobody reads it as UTC."""
    assert LOCK_MINUTES == 30
    store = TerminalStore.open(tmp_path / "terminal.sqlite")
    try:
        store.set_operators(
            [{"code": "01", "name": "Cashier 1", "role": "operator", "password_hash": hash_password("0000")}]
        )
        now = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
        for _ in range(MAX_ATTEMPTS):
            check = check_operator_password(store, "01", "9999", now=now, zone=ZoneInfo(zone))
        assert not check.ok and "now locked" in check.message
        locked = check_operator_password(store, "01", "0000", now=now, zone=ZoneInfo(zone))
        assert not locked.ok and f"locked until {shown} after" in locked.message
    finally:
        store.close()


def test_wrong_password_counts_the_tries_left_in_good_english(tmp_path: Path) -> None:
    """Two tries left, then one try left (not "1 tries left"), then the lock."""
    assert MAX_ATTEMPTS == 3
    store = TerminalStore.open(tmp_path / "terminal.sqlite")
    try:
        store.set_operators(
            [{"code": "01", "name": "Cashier 1", "role": "operator", "password_hash": hash_password("0000")}]
        )
        now = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
        messages = [check_operator_password(store, "01", "9999", now=now).message for _ in range(3)]
        assert messages[:2] == ["wrong password (2 tries left)", "wrong password (1 try left)"]
        assert "now locked" in messages[2]
    finally:
        store.close()
