"""The demo ledger data: terminal sites, a notified schedule change, a pending merchant change."""

from __future__ import annotations

from datetime import timedelta

from ledger_world import NOW, World

from poskit.ledger.demo import seed_demo_ledger
from poskit.ledger.fees import lawful_timeline, load_schedules
from poskit.ledger.merchant_changes import list_changes
from poskit.ledger.monitoring import check_terminal_location


def test_demo_seed_gives_history_to_show(sqlite_world: World) -> None:
    """v2 is notified 45 days ahead and binds from its effective date; a change is pending."""
    with sqlite_world.begin() as conn:
        seed_demo_ledger(conn, merchant_ids=sqlite_world.merchants, at=NOW)
        versions = load_schedules(conn, sqlite_world.cafe)[sqlite_world.cafe]
        segments = lawful_timeline(versions)
        assert [s.schedule.version for s in segments] == [1, 2]
        assert segments[1].start == NOW + timedelta(days=45)
        [change] = list_changes(conn, merchant_id=sqlite_world.noodle)
        assert (change.field, change.status) == ("settlement_account", "pending")
        assert (
            check_terminal_location(
                conn, terminal_id="20000001", latitude=31.1921, longitude=121.4368, now=NOW
            )
            is None
        )
