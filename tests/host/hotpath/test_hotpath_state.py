"""The in-memory host's state is built from the database alone and reflects what is stored."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, insert, select, update

from poskit.host.hotpath.state import load_state
from poskit.host.registry import load_terminal
from poskit.ledger.fees import NoFeeScheduleError, schedule_in_force
from poskit.store.db import WRITE
from poskit.store.schema import issuer_accounts, issuer_cards, transactions

NOW = datetime(2026, 12, 8, 2, 0, tzinfo=UTC)


def test_state_holds_terminals_cards_accounts_and_schedules(demo_engine: Engine) -> None:
    """Every terminal, card and account of the database is in memory with the stored values, and the
    schedule chosen in memory is the one the SQL path finds in force."""
    with demo_engine.connect() as conn:
        state = load_state(conn)
        for tid, record in state.terminals.items():
            assert load_terminal(conn, tid) == record
        rows = conn.execute(select(issuer_cards)).mappings().all()
        assert {r["pan_hash"] for r in rows} == set(state.cards)
        for row in rows:
            card = state.cards[row["pan_hash"]]
            assert (card.id, card.status, card.pin_tries) == (row["id"], row["status"], row["pin_tries"])
        for acc in conn.execute(select(issuer_accounts)).mappings():
            mem = state.accounts[acc["id"]]
            assert (mem.balance, mem.holds, mem.daily_limit) == (
                acc["balance"],
                acc["holds"],
                acc["daily_limit"],
            )
        for record in state.terminals.values():
            try:
                expected = schedule_in_force(conn, record.merchant_id, NOW)
            except NoFeeScheduleError:
                expected = None
            assert state.schedule_at(record.merchant_id, NOW) == expected
        assert state.terminals, "the demo world has terminals"


def test_rebuild_after_writes_elsewhere(demo_engine: Engine) -> None:
    """After rows change in the database, a rebuild shows the new balance, card status, PIN tries,
    message keys of the open batch and an orphan reversal (what a late original is refused by)."""
    with demo_engine.connect() as conn:
        before = load_state(conn)
    pan_hash, card = next(iter(before.cards.items()))
    terminal = next(iter(before.terminals.values()))
    with demo_engine.connect() as conn, conn.execution_options(**WRITE).begin():
        conn.execute(
            update(issuer_accounts)
            .where(issuer_accounts.c.id == card.account_id)
            .values(balance=123, holds=45)
        )
        conn.execute(
            update(issuer_cards).where(issuer_cards.c.id == card.id).values(status="lost", pin_tries=2)
        )
        row = {
            "terminal_id": terminal.terminal_id,
            "merchant_id": terminal.merchant_id,
            "batch_no": terminal.batch_no,
            "received_at": NOW,
            "currency": terminal.currency,
            "response_code": "00",
        }
        conn.execute(
            insert(transactions).values(
                **row, mti="0200", txn_type="sale", stan=17, status="approved", response={}
            )
        )
        conn.execute(
            insert(transactions).values(
                **row,
                mti="0400",
                txn_type="reversal",
                stan=18,
                status="orphan",
                response={
                    "orphan_of": {"batch": terminal.batch_no, "stan": 9, "mti": "0200", "type": "sale"}
                },
            )
        )
    with demo_engine.connect() as conn:
        after = load_state(conn)
    account = after.accounts[card.account_id]
    assert (account.balance, account.holds) == (123, 45)
    assert (after.cards[pan_hash].status, after.cards[pan_hash].pin_tries) == ("lost", 2)
    keys = after.messages.known(terminal.terminal_id, terminal.batch_no)
    assert keys is not None and {(17, "0200"), (18, "0400")} <= keys
    assert (terminal.terminal_id, terminal.batch_no, 9, "0200", "sale") in after.messages.orphans
    assert before.summary() != after.summary()
    with demo_engine.connect() as conn:
        assert load_state(conn).summary() == after.summary()
