"""The in-memory engine writes what the SQL engine writes, answers the same, and its memory
equals a rebuild from the database afterwards."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select, update

from poskit.config import Settings
from poskit.host.authorization import (
    AuthResult,
    CardInfo,
    TxnInput,
    authorize_balance,
    authorize_preauth,
    authorize_sale,
)
from poskit.host.hotpath.persist import INSERTED_COLUMNS
from poskit.host.hotpath.state import HostState, load_state
from poskit.host.hotpath.writer import MemoryWriter
from poskit.host.issuer import PinCheck
from poskit.ledger.check import check_ledger
from poskit.ledger.fees import FeeRule, create_schedule
from poskit.store.db import WRITE, make_engine
from poskit.store.schema import (
    fee_lines,
    issuer_accounts,
    issuer_cards,
    journal_entries,
    ledger_accounts,
    ledger_entries,
    transactions,
)
from poskit.store.schema_terminal_day import transaction_effects
from poskit.store.writer import GroupCommitWriter

NOW = datetime(2026, 12, 8, 2, 0, tzinfo=UTC)
JOBS: dict[str, Callable[[Any, TxnInput], AuthResult]] = {
    "sale": authorize_sale,
    "preauth": authorize_preauth,
    "balance": authorize_balance,
}


def _inputs(state: HostState) -> list[tuple[str, TxnInput]]:
    """A morning at one terminal: sales on several cards, a wrong PIN, an unknown card, a sale over
    the balance, a true repeat, a repeat with another amount, a pre-authorisation, a balance."""
    terminal = sorted(state.terminals.values(), key=lambda t: t.terminal_id)[0]
    cards = sorted(state.cards.items(), key=lambda kv: kv[1].id)
    stan = iter(range(1, 1000))

    def inp(
        pan_hash: str, amount: int, *, kind: str = "sale", pin: str = PinCheck.CORRECT, **kw: Any
    ) -> TxnInput:
        card = state.cards.get(pan_hash)
        info = CardInfo(
            pan_hash=pan_hash,
            pan_token="token",
            pan_masked="622202******0001",
            expiry=card.expiry if card else "3012",
            service_code=card.service_code if card else "220",
            scheme="unionpay",
            funding="debit",
            origin="domestic",
            card_organisation="CUP",
            entry_mode="swipe",
            pin_entered=pin != PinCheck.ABSENT,
        )
        fields: dict[str, Any] = {
            "terminal": terminal,
            "mti": "0100" if kind == "preauth" else "0200",
            "txn_type": kind,
            "stan": next(stan),
            "batch": terminal.batch_no,
            "local_datetime": "1208100000",
            "amount": amount,
            "currency": terminal.currency,
            "card": info,
            "pin_check": pin,
            "pin_required": False,
            "received_at": NOW,
            "issuer_day": "2026-12-08",
            "business_date": NOW,
            "settlement_date": "1208",
            "julian": "6342",
            "auth_code": "123456",
            "submitted_merchant_no": terminal.merchant_no,
        }
        fields.update(kw)
        return TxnInput(**fields)

    (h1, _c1), (h2, _c2), (h3, _c3) = cards[0], cards[1], cards[2]
    first = inp(h1, 1000)
    out = [
        ("sale", first),  # the first posting creates the ledger accounts: the SQL path does it
        ("sale", inp(h1, 2500)),
        ("sale", inp(h2, 700, atc=41)),
        ("sale", inp(h2, 800, pin=PinCheck.WRONG)),
        ("sale", inp("0" * 64, 500)),
        ("sale", inp(h3, 10**12)),
        ("sale", dataclasses.replace(first)),  # a true repeat: the stored answer
        ("sale", dataclasses.replace(first, amount=999)),  # the key with other content: 94
        ("preauth", inp(h3, 4000)),
        ("balance", inp(h1, 0, kind="balance")),
        ("sale", inp(h3, 1200, pin=PinCheck.ABSENT, pin_required=True)),
        ("sale", inp(h2, 1)),  # no fee: the fee income line does not post
        ("sale", inp(h1, 300, pin=PinCheck.ABSENT)),  # no PIN: the slip needs a signature
    ]
    return out


def _snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    tables = {
        "transactions": transactions,
        "effects": transaction_effects,
        "journals": journal_entries,
        "entries": ledger_entries,
        "fee_lines": fee_lines,
        "ledger_accounts": ledger_accounts,
    }
    out: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for name, table in tables.items():
            cols = [c for c in table.c if c.name not in ("id", "created_at") or name != "ledger_accounts"]
            out[name] = [tuple(r) for r in conn.execute(select(*cols).order_by(*table.primary_key.columns))]
        out["accounts"] = [
            tuple(r) for r in conn.execute(select(issuer_accounts).order_by(issuer_accounts.c.id))
        ]
        out["cards"] = [tuple(r) for r in conn.execute(select(issuer_cards).order_by(issuer_cards.c.id))]
    return out


async def _run_memory(writer: MemoryWriter, inputs: list[tuple[str, TxnInput]]) -> list[AuthResult]:
    results = []
    for kind, inp in inputs:
        job = JOBS[kind]
        results.append(await writer.authorise(kind, inp, lambda conn, job=job, inp=inp: job(conn, inp)))
    return results


async def _run_sql(writer: GroupCommitWriter, inputs: list[tuple[str, TxnInput]]) -> list[AuthResult]:
    results = []
    for kind, inp in inputs:
        job = JOBS[kind]
        results.append(await writer.submit(lambda conn, job=job, inp=inp: job(conn, inp)))
    return results


def _two_copies(demo_copy: Settings, tmp_path: Any) -> tuple[Engine, Engine]:
    import shutil

    other = tmp_path / "data-sql"
    shutil.copytree(demo_copy.data_dir, other)
    return make_engine(demo_copy.resolved_database_url), make_engine(f"sqlite:///{other / 'poskit.sqlite'}")


def test_memory_engine_writes_what_the_sql_engine_writes(demo_copy: Settings, tmp_path: Any) -> None:
    """The same requests give the same answers and byte-for-byte the same rows (transactions,
    effects, journals, entries, fee lines, issuer accounts and cards) on both engines; the ledger
    check is clean; most requests were decided in memory, the rare ones handed to SQL."""
    memory_engine, sql_engine = _two_copies(demo_copy, tmp_path)
    with memory_engine.connect() as conn:
        inputs = _inputs(load_state(conn))
    memory = MemoryWriter(memory_engine).start()
    sql = GroupCommitWriter(sql_engine).start()
    try:
        got = asyncio.run(_run_memory(memory, inputs))
        want = asyncio.run(_run_sql(sql, inputs))
    finally:
        memory.stop()
        sql.stop()
    assert [r.response_code for r in got] == [
        "00",
        "00",
        "00",
        "55",
        "14",
        "51",
        "00",
        "94",
        "00",
        "00",
        "55",
        "00",
        "00",
    ]
    assert got == want
    assert _snapshot(memory_engine) == _snapshot(sql_engine)
    assert memory.decided_in_memory >= 8 and memory.handed_to_sql >= 3
    with memory_engine.connect() as conn:
        report = check_ledger(conn)
        assert report.ok, report.breaks
        rebuilt = load_state(conn)
    assert memory.state is not None
    assert rebuilt.summary() == memory.state.summary()


def test_changes_made_elsewhere_reach_the_memory(demo_copy: Settings) -> None:
    """A card blocked, a balance changed by another program: the writer's change check picks them up
    and the next sale on that card is decided on the new record."""
    engine = make_engine(demo_copy.resolved_database_url)
    writer = MemoryWriter(engine).start()
    try:
        assert writer.state is not None
        inputs = _inputs(writer.state)
        kind, sale = inputs[1]
        pan_hash = sale.card.pan_hash
        card_id = writer.state.cards[pan_hash].id
        with engine.connect().execution_options(**WRITE) as conn, conn.begin():
            conn.execute(update(issuer_cards).where(issuer_cards.c.id == card_id).values(status="lost"))
        for _ in range(100):
            if writer.state.cards[pan_hash].status == "lost":
                break
            asyncio.run(asyncio.sleep(0.05))
        assert writer.state.cards[pan_hash].status == "lost"
        result = asyncio.run(writer.authorise(kind, sale, lambda conn: authorize_sale(conn, sale)))
        assert result.response_code == "41"
    finally:
        writer.stop()
        engine.dispose()


def test_a_batch_opened_after_start_is_decided_in_memory(demo_copy: Settings) -> None:
    """A sale in a batch the memory did not load at start (the terminal signed on into a new one) is
    decided in memory once the batch's keys are read; its repeat is answered with the stored answer."""
    engine = make_engine(demo_copy.resolved_database_url)
    writer = MemoryWriter(engine).start()
    try:
        assert writer.state is not None
        _kind, sale = _inputs(writer.state)[1]
        new_batch = sale.batch + 7
        sale = dataclasses.replace(sale, batch=new_batch)
        assert writer.message_stored(sale.terminal.terminal_id, new_batch, sale.stan, sale.mti) is None

        def run(inp: TxnInput) -> AuthResult:
            return asyncio.run(writer.authorise("sale", inp, lambda conn: authorize_sale(conn, inp)))

        run(dataclasses.replace(sale, stan=900))  # the first sale creates the ledger accounts (SQL)
        before = writer.decided_in_memory
        first = run(sale)
        assert first.response_code == "00" and writer.decided_in_memory == before + 1
        assert writer.message_stored(sale.terminal.terminal_id, new_batch, sale.stan, sale.mti) is True
        repeat = run(sale)
        assert repeat.replayed and repeat.rrn == first.rrn
        assert writer.decided_in_memory == before + 1
    finally:
        writer.stop()
        engine.dispose()


@pytest.mark.postgres
def test_memory_engine_on_postgresql(postgres_demo: Settings) -> None:
    """On PostgreSQL the same morning gets the same answers, ids come from the tables' sequences
    (an insert by other code afterwards does not collide), the ledger checks clean and the memory
    equals a rebuild from the database."""
    engine = make_engine(postgres_demo.resolved_database_url)
    writer = MemoryWriter(engine).start()
    try:
        assert writer.state is not None
        inputs = _inputs(writer.state)
        got = asyncio.run(_run_memory(writer, inputs))
        assert [r.response_code for r in got] == [
            "00", "00", "00", "55", "14", "51", "00", "94", "00", "00", "55", "00", "00"
        ]  # fmt: skip
        assert writer.decided_in_memory >= 8
        after_memory = dataclasses.replace(inputs[1][1], stan=990, amount=5)
        sql = asyncio.run(writer.submit(lambda conn: authorize_sale(conn, after_memory)))
        assert sql.response_code == "00" and sql.transaction_id is not None
        assert sql.transaction_id > max(r.transaction_id or 0 for r in got)
    finally:
        writer.stop()
    with engine.connect() as conn:
        report = check_ledger(conn)
        assert report.ok, report.breaks
        rebuilt = load_state(conn)
    assert writer.state is not None and rebuilt.summary() == writer.state.summary()
    engine.dispose()


def _wait_for(check: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False


def test_fee_schedule_and_balance_changed_elsewhere_reach_the_memory(demo_copy: Settings) -> None:
    """A new fee schedule version in force and an issuer top-up, committed by another program while
    the host runs: the next sale is priced under the new version and decided on the new balance."""
    engine = make_engine(demo_copy.resolved_database_url)
    writer = MemoryWriter(engine).start()
    try:
        assert writer.state is not None
        inputs = _inputs(writer.state)
        asyncio.run(_run_memory(writer, inputs[:2]))  # ledger accounts exist: later sales stay in memory
        _kind, sale = inputs[2]
        merchant_id = sale.terminal.merchant_id
        account_id = writer.state.cards[sale.card.pan_hash].account_id
        version = max(s.version for s in writer.state.schedules[merchant_id]) + 1
        with engine.connect().execution_options(**WRITE) as conn, conn.begin():
            create_schedule(
                conn,
                merchant_id=merchant_id,
                version=version,
                effective_from=NOW - timedelta(days=1),
                notified_at=NOW - timedelta(days=60),
                rules=[FeeRule("domestic_debit", "fixed", "CNY", fixed=77)],
                now=NOW - timedelta(days=60),
            )
            conn.execute(
                update(issuer_accounts).where(issuer_accounts.c.id == account_id).values(balance=10**9)
            )
        state = writer.state
        assert _wait_for(
            lambda: writer.state is not None and writer.state.accounts[account_id].balance == 10**9
        )
        assert state is writer.state and writer.refreshes >= 1
        big = dataclasses.replace(sale, stan=777, amount=10**8)
        before = writer.decided_in_memory
        result = asyncio.run(writer.authorise("sale", big, lambda conn: authorize_sale(conn, big)))
        assert result.response_code == "00" and result.fee == 77
        assert writer.decided_in_memory == before + 1
    finally:
        writer.stop()
        engine.dispose()


def test_the_writer_fills_every_column_the_sql_path_fills() -> None:
    """A column added to the schema must be added to the in-memory path too: the rows it inserts name
    every column of their tables except those only later changes set."""
    later = {
        "transactions": {"original_id", "reversed_at"},
        "transaction_effects": {"related_id", "related_status_before", "related_status_after"},
        "ledger_entries": {"id"},
        "fee_lines": {"id"},
    }
    for table in (transactions, journal_entries, ledger_entries, transaction_effects, fee_lines):
        columns = {c.name for c in table.c} - later.get(table.name, set())
        assert set(INSERTED_COLUMNS[table.name]) == columns, table.name
