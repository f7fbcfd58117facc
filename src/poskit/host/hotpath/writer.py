"""The in-memory host's writer thread: decide in memory, persist each group with one COMMIT.

It is the group-commit writer (:class:`~poskit.store.writer.GroupCommitWriter`) with a second
kind of job. ``authorise`` jobs are decided over :class:`~poskit.host.hotpath.state.HostState`
and their rows appended to the group; ordinary ``submit`` jobs (sign-on, settlement,
reversals, adjustments, and requests the memory hands back) run as SQL as before, after the
rows gathered so far are written, so they see them — then the memory re-reads what they
changed. Every caller is answered only after the group's COMMIT returned: SQLite runs WAL with
``synchronous=FULL`` and PostgreSQL ``synchronous_commit=on``, so the answer is durable.

If a COMMIT fails, nobody is answered with success and the memory is rebuilt from the
database, which holds exactly what was acknowledged.

Changes made by other programs (portal, CLI) reach the memory through a change check between
groups: SQLite's ``PRAGMA data_version`` (it moves when another connection commits), or on
PostgreSQL a periodic re-read. One host process per database in this mode: the memory is the
authority on balances while it runs.
"""

from __future__ import annotations

import asyncio
import dataclasses
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.engine import Connection

from poskit.host.authorization import AuthResult, TxnInput
from poskit.host.hotpath.decide import Decision, GroupRows, decide
from poskit.host.hotpath.persist import IdAllocator, flush_rows
from poskit.host.hotpath.state import (
    HostState,
    load_accounts,
    load_cards,
    load_ledger_accounts,
    load_state,
)
from poskit.host.issuer import IssuerCard
from poskit.host.registry import load_terminals
from poskit.ledger.fees import load_schedules
from poskit.logs import get_logger
from poskit.store.db import WRITE, is_sqlite
from poskit.store.schema import issuer_cards, ledger_accounts, transactions
from poskit.store.schema_terminal_day import transaction_effects
from poskit.store.writer import _STOP, GroupCommitWriter, WriterStoppedError, _Job

__all__ = ["MemoryWriter"]

_log = get_logger("poskit.host.hotpath")


@dataclasses.dataclass
class _Authorise(_Job[AuthResult]):
    """A request for the memory to decide; ``fn`` is the SQL path for the same request."""

    inp: TxnInput | None = None
    kind: str = ""


class MemoryWriter(GroupCommitWriter):
    """Group commit with decisions in memory (see the module docstring)."""

    #: How often to look for changes other programs committed (SQLite: a cheap pragma; PostgreSQL:
    #: a re-read of the cards, accounts, schedules and terminals, so less often).
    poll_seconds: float = 0.25
    postgres_poll_seconds: float = 1.0

    def __init__(self, engine: Engine, *, max_batch: int = 512, name: str = "poskit-memory-writer") -> None:
        super().__init__(engine, max_batch=max_batch, name=name)
        self._sqlite = is_sqlite(engine)
        if not self._sqlite:
            self.poll_seconds = self.postgres_poll_seconds
        self._conn: Connection | None = None
        self._data_version: int | None = None
        self._last_poll = 0.0
        self.state: HostState | None = None
        self.decided_in_memory = 0
        self.handed_to_sql = 0
        self.refreshes = 0

    # lifecycle ------------------------------------------------------------------
    def start(self) -> MemoryWriter:
        if not self._started:
            self._load()
            super().start()
        return self

    # reads from the event loop --------------------------------------------------
    def card(self, pan_hash: str) -> IssuerCard | None:
        """The issuer's card record as the memory holds it (whole records, replaced, never edited)."""
        assert self.state is not None
        return self.state.cards.get(pan_hash)

    def message_stored(self, terminal_id: str, batch: int, stan: int, mti: str) -> bool | None:
        """Whether the key is taken; None when that batch is not in memory (ask the database)."""
        assert self.state is not None
        keys = self.state.messages.known(terminal_id, batch)
        return None if keys is None else (stan, mti) in keys

    # submission -----------------------------------------------------------------
    async def authorise(
        self, kind: str, inp: TxnInput, sql: Callable[[Connection], AuthResult]
    ) -> AuthResult:
        """Decide ``inp`` in memory (``sql`` answers when the memory hands it back); durable on return."""
        if not self._started or self._stopped:
            raise WriterStoppedError("the database writer is not running")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[AuthResult] = loop.create_future()
        self._queue.put(_Authorise(sql, loop, future, inp=inp, kind=kind))
        return await future

    # writer thread --------------------------------------------------------------
    def _run(self) -> None:
        stopping = False
        while not stopping:
            try:
                first = self._queue.get(timeout=self.poll_seconds)
            except queue.Empty:
                self._poll()
                continue
            if first is _STOP:
                break
            group, stopping = self._group_after(first)
            if time.monotonic() - self._last_poll >= self.poll_seconds:
                self._poll()
            self._execute(group)
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _connection(self) -> Connection:
        if self._conn is None or self._conn.closed or self._conn.invalidated:
            self._conn = self._engine.connect().execution_options(**WRITE)
            self._data_version = None
        return self._conn

    def _execute(self, group: list[_Job[Any]]) -> None:
        self.stats.largest_group = max(self.stats.largest_group, len(group))
        assert self.state is not None
        state = self.state
        try:
            conn = self._connection()
            dbapi = conn.connection.dbapi_connection
            with conn.begin():
                ids = IdAllocator(dbapi, sqlite=self._sqlite, block=len(group))
                pending = GroupRows()
                for job in group:
                    if isinstance(job, _Authorise):
                        assert job.inp is not None
                        inp = job.inp
                        if state.messages.known(inp.terminal.terminal_id, inp.batch) is None:
                            # a batch opened since the start (sign-on, settlement): its keys are read once
                            state.messages.load_batch(conn, inp.terminal.terminal_id, inp.batch)
                        try:
                            decision: Decision | None = decide(state, job.inp, job.kind, ids)
                        except Exception as exc:
                            job.error = exc
                            self.stats.failed_jobs += 1
                            continue
                        if decision is not None:
                            decision.apply(state)
                            pending.extend(decision.rows)
                            job.result = decision.result
                            self.decided_in_memory += 1
                            continue
                        self.handed_to_sql += 1
                    if pending:
                        flush_rows(dbapi, pending, sqlite=self._sqlite)
                        pending = GroupRows()
                    self._run_sql_job(conn, job, ids)
                if pending:
                    flush_rows(dbapi, pending, sqlite=self._sqlite)
            # leaving conn.begin() has committed: the data is durable now
            self.stats.commits += 1
            self.stats.jobs += len(group)
        except BaseException as exc:
            self.stats.failed_commits += 1
            _log.error("memory_writer.group_failed", error=type(exc).__name__, detail=str(exc)[:200])
            for job in group:
                job.error = job.error or exc
                job.result = None
            self._rebuild()
        for job in group:
            self._deliver(job)

    def _run_sql_job(self, conn: Connection, job: _Job[Any], ids: IdAllocator) -> None:
        """An SQL job in its own SAVEPOINT; then the memory learns what it wrote."""
        before = int(conn.execute(select(func.coalesce(func.max(transactions.c.id), 0))).scalar_one())
        known_ledger = max(self.state.ledger_accounts.values(), default=0) if self.state else 0
        savepoint = conn.begin_nested()
        try:
            job.result = job.fn(conn)
            savepoint.commit()
        except BaseException as exc:
            savepoint.rollback()
            job.error = exc
            self.stats.failed_jobs += 1
            return
        finally:
            ids.forget()
        self._learn(conn, before, known_ledger)

    def _learn(self, conn: Connection, before: int, known_ledger: int) -> None:
        """Re-read the rows an SQL job inserted, and the cards and accounts it may have changed."""
        state = self.state
        assert state is not None
        rows = conn.execute(
            select(
                transactions.c.id,
                transactions.c.terminal_id,
                transactions.c.batch_no,
                transactions.c.stan,
                transactions.c.mti,
                transactions.c.txn_type,
                transactions.c.status,
                transactions.c.response,
                transactions.c.original_id,
                transactions.c.pan_hash,
                transactions.c.issuer_account_id,
            ).where(transactions.c.id > before)
        ).all()
        if rows:
            account_ids: set[int] = set()
            related = {r.id for r in rows} | {r.original_id for r in rows if r.original_id is not None}
            for row in rows:
                state.messages.note_row(row)
                if row.issuer_account_id is not None:
                    account_ids.add(int(row.issuer_account_id))
            account_ids.update(
                int(a)
                for a in conn.execute(
                    select(transaction_effects.c.issuer_account_id).where(
                        transaction_effects.c.transaction_id.in_(related),
                        transaction_effects.c.issuer_account_id.is_not(None),
                    )
                ).scalars()
            )
            hashes = {r.pan_hash for r in rows if r.pan_hash is not None}
            if hashes:
                cards = load_cards(conn, where=issuer_cards.c.pan_hash.in_(hashes))
                state.cards.update(cards)
                account_ids.update(c.account_id for c in cards.values())
            if account_ids:
                state.accounts.update(load_accounts(conn, sorted(account_ids)))
        created = conn.execute(
            select(ledger_accounts.c.code, ledger_accounts.c.id).where(ledger_accounts.c.id > known_ledger)
        ).all()
        state.ledger_accounts.update({r.code: int(r.id) for r in created})

    # keeping the memory current ---------------------------------------------------
    def _poll(self) -> None:
        """Re-read what other programs may have changed, when they committed something."""
        self._last_poll = time.monotonic()
        try:
            conn = self._connection()
            if self._sqlite:
                version = self._data_version_now(conn)
                if version == self._data_version:
                    return
                self._data_version = version
            self._refresh()
        except Exception as exc:  # the next poll tries again; answers keep flowing meanwhile
            _log.warning("memory_writer.poll_failed", error=type(exc).__name__, detail=str(exc)[:200])
            if self._conn is not None:
                self._conn.invalidate()

    def _data_version_now(self, conn: Connection) -> int | None:
        """SQLite's count of commits by other connections, as this connection sees it."""
        if not self._sqlite:
            return None
        dbapi = conn.connection.dbapi_connection
        assert dbapi is not None
        cursor = dbapi.cursor()
        try:
            cursor.execute("PRAGMA data_version")
            row = cursor.fetchone()
            assert row is not None
            return int(row[0])
        finally:
            cursor.close()

    def _load(self) -> None:
        """The whole state from the database; the change check counts from just before it."""
        conn = self._connection()
        self._data_version = self._data_version_now(conn)
        with self._engine.connect() as reader:
            self.state = load_state(reader)

    def _refresh(self) -> None:
        """Terminals, cards, accounts, fee schedules and ledger accounts as stored now."""
        assert self.state is not None
        with self._engine.connect() as conn:
            terminals = load_terminals(conn)
            cards = load_cards(conn)
            accounts = load_accounts(conn)
            schedules = load_schedules(conn)
            ledger = load_ledger_accounts(conn)
        state = self.state
        state.terminals, state.cards, state.accounts = terminals, cards, accounts
        state.schedules, state.ledger_accounts = schedules, ledger
        self.refreshes += 1

    def _rebuild(self) -> None:
        """After a failed COMMIT: forget everything, read it all again from the database."""
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None
        for attempt in range(50):
            try:
                self._load()
                return
            except Exception as exc:
                _log.error("memory_writer.rebuild_failed", attempt=attempt, error=type(exc).__name__)
                threading.Event().wait(0.2)
