"""Merchant change requests (变更商户): four-eyes review, effective dates, audit log, frequent-change flag."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from ledger_world import NOW, World
from sqlalchemy import select

from poskit.ledger.merchant_changes import (
    ChangeRequestError,
    apply_due_changes,
    effective_start,
    list_changes,
    request_change,
    review_change,
    settlement_account_in_force,
    value_in_force,
)
from poskit.ledger.monitoring import list_flags
from poskit.store.schema import audit_log, merchants


def test_change_is_reviewed_then_applied_from_its_date(world: World) -> None:
    """An approved MCC change waits for its date, then updates the merchant; every step is logged."""
    with world.begin() as conn:
        change = request_change(
            conn,
            merchant_id=world.cafe,
            field="mcc",
            new_value="5814",
            effective_from=NOW + timedelta(days=2),
            requested_by="cafe",
            reason="menu",
            now=NOW,
        )
        assert (change.status, change.old_value) == ("pending", "5812")
        with pytest.raises(ChangeRequestError, match="cannot review their own"):
            review_change(conn, change.id, reviewer="cafe", approve=True, now=NOW)
        approved = review_change(
            conn, change.id, reviewer="reviewer", approve=True, note="licence seen", now=NOW
        )
        assert approved.status == "approved"
        assert value_in_force(conn, world.cafe, "mcc", NOW) == "5812"
        assert value_in_force(conn, world.cafe, "mcc", NOW + timedelta(days=3)) == "5814"
        assert apply_due_changes(conn, now=NOW + timedelta(days=1)) == []
        [applied] = apply_due_changes(conn, now=NOW + timedelta(days=2))
        assert applied.status == "applied"
        assert (
            conn.execute(select(merchants.c.mcc).where(merchants.c.id == world.cafe)).scalar_one() == "5814"
        )
        assert value_in_force(conn, world.cafe, "mcc", NOW) == "5812"  # history still answers for the past
        actions = conn.execute(select(audit_log.c.action).order_by(audit_log.c.id)).scalars().all()
    assert actions == ["merchant_change.requested", "merchant_change.approved", "merchant_change.applied"]


def test_invalid_or_unchanged_requests_are_refused(sqlite_world: World) -> None:
    """Unknown fields, malformed MCCs or accounts, and no-op changes raise typed errors."""
    with sqlite_world.begin() as conn:
        for field, value, match in (
            ("status", "closed", "cannot be changed"),
            ("mcc", "58A2", "invalid new mcc"),
            ("settlement_account", "12-34", "invalid new settlement_account"),
            ("mcc", "5812", "already"),
        ):
            with pytest.raises(ChangeRequestError, match=match):
                request_change(
                    conn,
                    merchant_id=sqlite_world.cafe,
                    field=field,
                    new_value=value,
                    effective_from=NOW,
                    requested_by="cafe",
                    now=NOW,
                )


def test_rejected_change_never_applies_and_frequent_account_changes_are_flagged(sqlite_world: World) -> None:
    """A rejected change is inert; a second settlement-account change within 90 days raises a flag."""
    w = sqlite_world
    with w.begin() as conn:
        rejected = request_change(
            conn,
            merchant_id=w.cafe,
            field="name",
            new_value="别的名字",
            effective_from=NOW,
            requested_by="cafe",
            now=NOW,
        )
        review_change(conn, rejected.id, reviewer="reviewer", approve=False, note="no licence", now=NOW)
        assert value_in_force(conn, w.cafe, "name", NOW + timedelta(days=1)) == "快乐豆咖啡"
        for i, account in enumerate(("6222000000000000001", "6222000000000000002")):
            c = request_change(
                conn,
                merchant_id=w.cafe,
                field="settlement_account",
                new_value=account,
                effective_from=NOW + timedelta(days=10 * i),
                requested_by="cafe",
                now=NOW,
            )
            review_change(conn, c.id, reviewer="reviewer", approve=True, now=NOW)
        assert (
            settlement_account_in_force(conn, w.cafe, NOW + timedelta(days=11)).account_no
            == "6222000000000000002"
        )
        assert settlement_account_in_force(conn, w.cafe, NOW).account_no == "6222000000000000001"
        [flag] = list_flags(conn, merchant_id=w.cafe)
        assert flag.kind == "frequent_account_change"
        assert [c.status for c in list_changes(conn, merchant_id=w.cafe)] == [
            "rejected",
            "applied",
            "approved",
        ]


def test_effective_start_is_the_acquirers_business_date_and_never_past(world: World) -> None:
    """A change effective on a business date starts at that date's midnight in the acquirer's zone
    (Shanghai: 16:00 UTC the day before); yesterday is refused, whoever asks."""
    late_evening = datetime(2026, 11, 24, 15, 30, tzinfo=UTC)  # 23:30 in Shanghai, still the 24th
    with world.begin() as conn:
        start = effective_start(conn, world.cafe, date(2026, 11, 24), now=late_evening)
        assert start == datetime(2026, 11, 23, 16, 0, tzinfo=UTC)
        with pytest.raises(ChangeRequestError, match="the effective date is in the past") as refused:
            effective_start(conn, world.cafe, date(2026, 11, 24), now=late_evening + timedelta(hours=1))
        assert refused.value.field == "effective_from"
