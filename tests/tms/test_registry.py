"""Provisioning and parameter updates: operators managed at the host reach the terminals."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from poskit.passwords import hash_password, verify_password
from poskit.store.db import WRITE, make_engine
from poskit.store.schema import merchants, operators
from poskit.terminal.runtime import terminal_files
from poskit.terminal.store import TerminalStore
from poskit.tms.registry import sync_operators


def test_operator_changes_reach_the_terminal_stores(demo_settings: Any) -> None:
    """A new password and a disabled operator are pushed to every terminal of the merchant."""
    engine = make_engine(demo_settings.resolved_database_url)
    try:
        with engine.connect().execution_options(**WRITE) as conn, conn.begin():
            mid = (
                conn.execute(merchants.select().where(merchants.c.merchant_no == "898310058140002"))
                .first()
                .id
            )
            conn.execute(
                update(operators)
                .where(operators.c.merchant_id == mid, operators.c.code == "01")
                .values(password_hash=hash_password("2468"))
            )
            conn.execute(
                update(operators)
                .where(operators.c.merchant_id == mid, operators.c.code == "02")
                .values(status="disabled")
            )
        assert sync_operators(demo_settings, engine, merchant_id=mid) == 1
    finally:
        engine.dispose()
    store = TerminalStore.open(terminal_files(demo_settings, "20000001")[0])
    try:
        assert verify_password(store.operator("01")["password_hash"], "2468")
        assert store.operator("02") is None
        assert store.operator("00") is not None
    finally:
        store.close()
