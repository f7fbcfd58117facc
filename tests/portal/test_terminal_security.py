"""The acquirer's terminal page shows the terminal's working-key state and open security flags."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select, update
from tests.portal.conftest import CAFE_TERMINAL

from poskit.ledger.monitoring import clear_flag, raise_flag
from poskit.store.db import WRITE
from poskit.store.schema import terminals

Portal = World = Any  # fixture types live in conftest.py


@pytest.fixture
def flagged(world: World) -> Iterator[int]:
    """CAFE_TERMINAL with a duplicate_mismatch flag and pending keys; both undone afterwards."""
    with world.engine.connect().execution_options(**WRITE) as conn, conn.begin():
        before = conn.execute(
            select(terminals.c.pending_mak).where(terminals.c.terminal_id == CAFE_TERMINAL)
        ).scalar()
        flag = raise_flag(
            conn,
            key=f"duplicate_mismatch:portal-test:{CAFE_TERMINAL}",
            kind="duplicate_mismatch",
            severity="high",
            summary="terminal PT000001 repeated batch 1 trace 000042 0200 with another amount",
            details={},
            now=datetime.now(UTC),
            terminal_id=CAFE_TERMINAL,
        )
        conn.execute(
            update(terminals)
            .where(terminals.c.terminal_id == CAFE_TERMINAL)
            .values(pending_mak="pending-test")
        )
    yield flag.id
    with world.engine.connect().execution_options(**WRITE) as conn, conn.begin():
        clear_flag(conn, flag.id, actor="tests", note="test over")
        conn.execute(
            update(terminals).where(terminals.c.terminal_id == CAFE_TERMINAL).values(pending_mak=before)
        )


def test_acquirer_terminal_page_shows_security_flags_and_pending_keys(
    portal: Callable[..., Portal], flagged: int
) -> None:
    """Acquirer staff see the open duplicate_mismatch flag and that a newer sign-on's keys are pending."""
    page = portal("acquirer").get(f"/terminals/{CAFE_TERMINAL}")
    assert page.status_code == 200
    assert 'id="security"' in page.text
    assert "repeated batch 1 trace 000042" in page.text
    assert "repeat with other content (same trace number)" in page.text  # the flag kind, in English
    assert (
        "a newer sign-on&#39;s keys are pending" in page.text
        or "a newer sign-on's keys are pending" in page.text
    )


def test_merchant_terminal_page_has_no_security_section(portal: Callable[..., Portal], flagged: int) -> None:
    """The merchant's own view of its terminal carries no key state or security flags."""
    page = portal("cafe").get(f"/terminals/{CAFE_TERMINAL}")
    assert page.status_code == 200
    assert 'id="security"' not in page.text
    assert "repeated batch 1 trace 000042" not in page.text
