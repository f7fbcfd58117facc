"""``ledger check``: a clean ledger passes; each kind of break is found and named."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from ledger_world import NOW, World
from sqlalchemy import insert, select, update

from poskit.ledger.check import check_ledger
from poskit.ledger.events import negate_transaction
from poskit.ledger.settlement import settle_day
from poskit.store.schema import journal_entries, ledger_entries, transactions

NEXT = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)


def _settle(world: World) -> None:
    with world.begin() as conn:
        settle_day(conn, business_date=date(2026, 11, 24), now=NEXT)


def _kinds(world: World) -> dict[str, int]:
    with world.engine.connect() as conn:
        return check_ledger(conn).counts


def test_clean_ledger_passes(world: World) -> None:
    """Sales, a reversal and a cut-off: no break, and the stats count what was checked."""
    world.sale(10000)
    world.reverse(world.sale(20000))
    _settle(world)
    with world.engine.connect() as conn:
        report = check_ledger(conn)
    assert report.ok and report.breaks == []
    assert report.stats["settlement_items"] == 3 and report.stats["rollups"] > 0


def test_tampered_entry_breaks_balance_and_rollup(world: World) -> None:
    """Editing an entry after the cut-off unbalances its journal and the day's roll-up."""
    world.sale(10000)
    _settle(world)
    with world.begin() as conn:
        first = conn.execute(select(ledger_entries.c.id).order_by(ledger_entries.c.id)).scalars().first()
        conn.execute(update(ledger_entries).where(ledger_entries.c.id == first).values(amount=9999))
    counts = _kinds(world)
    assert counts["journal_unbalanced"] == 1
    assert counts["rollup_differs_from_entries"] == 1
    assert "settlement_item_mismatch" not in counts  # the edited entry is the issuer side, not the payable


def test_transaction_breaks_are_named(sqlite_world: World) -> None:
    """Approved without journal, reversed without negation, negated twice: each is its own break."""
    w = sqlite_world
    w.sale(1000, post=False)  # approved, but the host never posted it
    not_reversed = w.sale(2000)
    twice = w.sale(3000)
    with w.begin() as conn:
        conn.execute(
            update(transactions).where(transactions.c.id == not_reversed.id).values(status="reversed")
        )
        negate_transaction(conn, txn_id=twice.id, at=NOW, reason="reversal")
        negate_transaction(conn, txn_id=twice.id, at=NOW, reason="void")
        conn.execute(update(transactions).where(transactions.c.id == twice.id).values(status="voided"))
    with w.engine.connect() as conn:
        report = check_ledger(conn)
    assert report.counts == {"approved_without_journal": 1, "reversal_not_posted": 1, "reversed_twice": 1}
    subjects = {b.kind: b.subject for b in report.breaks}
    assert subjects["reversed_twice"].endswith(f"rrn {twice.rrn}")


def test_backdated_journal_is_unsettled_and_breaks_the_rollup(sqlite_world: World) -> None:
    """A sale posted into a closed day after its cut-off is reported unsettled and the roll-up differs."""
    sqlite_world.sale(1000)
    _settle(sqlite_world)
    sqlite_world.sale(5000, at=NOW - timedelta(hours=1))
    counts = _kinds(sqlite_world)
    assert counts["unsettled"] == 1
    assert counts["rollup_differs_from_entries"] >= 1


def test_unbalanced_journal_written_outside_posting_is_found(sqlite_world: World) -> None:
    """A journal inserted by hand with one-sided entries is named with its key."""
    sqlite_world.sale(1000)
    with sqlite_world.begin() as conn:
        jid = conn.execute(
            insert(journal_entries).values(
                idempotency_key="manual:oops",
                kind="manual",
                description="x",
                currency="CNY",
                posted_at=NOW,
            )
        ).inserted_primary_key[0]
        conn.execute(insert(ledger_entries).values(journal_id=jid, account_id=1, amount=42, currency="CNY"))
    with sqlite_world.engine.connect() as conn:
        report = check_ledger(conn)
    assert [b.kind for b in report.breaks] == ["journal_unbalanced"]
    assert "manual:oops" in report.breaks[0].subject and "42" in report.breaks[0].detail


def test_host_voids_completions_and_cancels_are_consistent(world: World) -> None:
    """Voids mirrored into their own transaction, a reversed void, a completion and a cancel: no break."""
    voided = world.sale(10000)
    world.void(voided)
    revived = world.sale(20000)
    void = world.void(revived)
    world.reverse_void(void, revived)
    world.complete(world.preauth(50000), 45000)
    world.cancel(world.preauth(30000))
    _settle(world)
    with world.engine.connect() as conn:
        report = check_ledger(conn)
    assert report.ok, report.breaks


def test_void_and_hold_breaks_are_named(sqlite_world: World) -> None:
    """A voided sale whose void posted nothing, a sale voided twice and a cancel that released nothing."""
    w = sqlite_world
    no_mirror = w.sale(1000)
    with w.begin() as conn:
        conn.execute(update(transactions).where(transactions.c.id == no_mirror.id).values(status="voided"))
    twice = w.sale(2000)
    w.void(twice)
    w.void(twice)
    preauth = w.preauth(5000)
    with w.begin() as conn:
        conn.execute(update(transactions).where(transactions.c.id == preauth.id).values(status="cancelled"))
    assert _kinds(w) == {"reversal_not_posted": 1, "reversed_twice": 1, "hold_not_released": 1}
