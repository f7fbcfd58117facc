"""A retired terminal is refused at the host with 97 (docs/protocol.md §9)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from poskit.store.db import WRITE, make_engine
from poskit.store.schema import terminals
from poskit.tms.inventory import retire_terminal


async def test_retired_terminal_is_answered_97(new_till: Callable[..., Any]) -> None:
    """After `terminals retire` the terminal's sign-on is declined 97 and its key blocks are gone."""
    till = new_till()
    engine = make_engine(till.settings.resolved_database_url)
    try:
        with engine.connect().execution_options(**WRITE) as conn, conn.begin():
            retire_terminal(conn, till.terminal_id, actor="ops", reason="stolen", now=datetime.now(UTC))
        with engine.connect() as conn:
            row = conn.execute(
                select(terminals.c.status, terminals.c.tmk).where(terminals.c.terminal_id == till.terminal_id)
            ).one()
    finally:
        engine.dispose()
    assert row.status == "retired" and row.tmk is None
    outcome = await till.engine().sign_on()
    assert outcome.status == "declined" and outcome.response_code == "97"
