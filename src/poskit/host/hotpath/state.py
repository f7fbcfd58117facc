"""What the in-memory host holds: everything an authorisation reads, loaded from the database.

The database stays the only durable truth. :func:`load_state` builds a :class:`HostState`
from it at start (and again after a failed commit or an outside change), so after a crash
the host rebuilds exactly what it had acknowledged. The writer thread is the only code that
changes the state; the event loop reads whole, immutable card and terminal records from it.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.engine import Connection

from poskit.host.issuer import IssuerCard
from poskit.host.registry import TerminalRecord, load_terminals
from poskit.ledger.fees import FeeSchedule, load_schedules
from poskit.store.schema import issuer_accounts, issuer_cards, ledger_accounts, transactions

__all__ = [
    "AccountState",
    "HostState",
    "MessageIndex",
    "load_accounts",
    "load_cards",
    "load_ledger_accounts",
    "load_state",
    "schedule_at",
]


@dataclasses.dataclass(slots=True)
class AccountState:
    """An issuer account as the issuer simulator decides on it (minor units)."""

    id: int
    currency: str
    balance: int
    holds: int
    daily_limit: int | None
    daily_spent: int
    daily_date: str | None


#: (stan, mti) of the messages stored for one terminal and batch.
BatchKeys = set[tuple[int, str]]


@dataclasses.dataclass
class MessageIndex:
    """Which message keys are taken, for duplicates, late originals and reversals.

    Financial requests are only accepted in the terminal's open batch, so the index holds
    the keys of the batches it was asked about (loaded from the database on first use) and
    every key the host stores afterwards. Orphan reversals (which overtook their original)
    are held by what they named, so the late original is recognised without a query.
    """

    batches: dict[tuple[str, int], BatchKeys] = dataclasses.field(default_factory=dict)
    orphans: set[tuple[str, int, int, str, str]] = dataclasses.field(default_factory=set)

    def load_batch(self, conn: Connection, terminal_id: str, batch: int) -> BatchKeys:
        key = (terminal_id, batch)
        keys = self.batches.get(key)
        if keys is None:
            rows = conn.execute(
                select(transactions.c.stan, transactions.c.mti).where(
                    transactions.c.terminal_id == terminal_id, transactions.c.batch_no == batch
                )
            )
            keys = self.batches[key] = {(int(r.stan), r.mti) for r in rows}
        return keys

    def known(self, terminal_id: str, batch: int) -> BatchKeys | None:
        """The keys of a batch already loaded, or None (the caller loads it in the writer thread)."""
        return self.batches.get((terminal_id, batch))

    def add(self, terminal_id: str, batch: int, stan: int, mti: str) -> None:
        keys = self.batches.get((terminal_id, batch))
        if keys is not None:
            keys.add((stan, mti))

    def note_row(self, row: Any) -> None:
        """Learn a stored transaction row (one written by the SQL path)."""
        self.add(row.terminal_id, int(row.batch_no), int(row.stan), row.mti)
        if row.txn_type == "reversal" and row.status == "orphan":
            named = (row.response or {}).get("orphan_of")
            if named:
                self.orphans.add(
                    (row.terminal_id, int(named["batch"]), int(named["stan"]), named["mti"], named["type"])
                )


@dataclasses.dataclass
class HostState:
    """The host's working memory (see the module docstring)."""

    terminals: dict[str, TerminalRecord]
    cards: dict[str, IssuerCard]  # by keyed PAN hash
    accounts: dict[int, AccountState]
    schedules: dict[int, list[FeeSchedule]]  # merchant id -> versions in order
    ledger_accounts: dict[str, int]  # account code -> id
    messages: MessageIndex
    loaded_at: datetime | None = None

    def schedule_at(self, merchant_id: int, at: datetime) -> FeeSchedule | None:
        return schedule_at(self.schedules.get(merchant_id, ()), at)

    def summary(self) -> dict[str, Any]:
        """Everything except the message index, in comparable form (tests compare two loads)."""
        return {
            "terminals": dict(self.terminals),
            "cards": dict(self.cards),
            "accounts": {k: dataclasses.astuple(v) for k, v in self.accounts.items()},
            "schedules": {k: list(v) for k, v in self.schedules.items()},
            "ledger_accounts": dict(self.ledger_accounts),
            "orphans": set(self.messages.orphans),
        }


def schedule_at(versions: Any, at: datetime) -> FeeSchedule | None:
    """The schedule whose effective period contains ``at``, latest version first (as the SQL path)."""
    best: FeeSchedule | None = None
    for schedule in versions:
        in_force = schedule.effective_from <= at and (
            schedule.effective_to is None or schedule.effective_to > at
        )
        if in_force and (best is None or schedule.version > best.version):
            best = schedule
    return best


def load_cards(conn: Connection, *, where: ColumnElement[bool] | None = None) -> dict[str, IssuerCard]:
    names = [f.name for f in dataclasses.fields(IssuerCard)]
    query = select(issuer_cards.c.pan_hash, *(issuer_cards.c[n] for n in names))
    rows = conn.execute(query if where is None else query.where(where)).mappings()
    return {row["pan_hash"]: IssuerCard(**{n: row[n] for n in names}) for row in rows}


def load_accounts(conn: Connection, ids: list[int] | None = None) -> dict[int, AccountState]:
    query = select(
        issuer_accounts.c.id,
        issuer_accounts.c.currency,
        issuer_accounts.c.balance,
        issuer_accounts.c.holds,
        issuer_accounts.c.daily_limit,
        issuer_accounts.c.daily_spent,
        issuer_accounts.c.daily_date,
    )
    if ids is not None:
        query = query.where(issuer_accounts.c.id.in_(ids))
    return {
        int(r.id): AccountState(
            int(r.id),
            r.currency,
            int(r.balance),
            int(r.holds),
            None if r.daily_limit is None else int(r.daily_limit),
            int(r.daily_spent),
            r.daily_date,
        )
        for r in conn.execute(query)
    }


def load_ledger_accounts(conn: Connection) -> dict[str, int]:
    return {r.code: int(r.id) for r in conn.execute(select(ledger_accounts.c.code, ledger_accounts.c.id))}


def load_orphans(conn: Connection) -> MessageIndex:
    index = MessageIndex()
    rows = conn.execute(
        select(
            transactions.c.terminal_id,
            transactions.c.batch_no,
            transactions.c.stan,
            transactions.c.mti,
            transactions.c.txn_type,
            transactions.c.status,
            transactions.c.response,
        ).where(transactions.c.txn_type == "reversal", transactions.c.status == "orphan")
    )
    for row in rows:
        index.note_row(row)
    index.batches.clear()  # batches load on first use
    return index


def load_state(conn: Connection, *, now: datetime | None = None) -> HostState:
    """Build the host's memory from the database alone (start, restart after kill -9, resync)."""
    terminals = load_terminals(conn)
    state = HostState(
        terminals=terminals,
        cards=load_cards(conn),
        accounts=load_accounts(conn),
        schedules=load_schedules(conn),
        ledger_accounts=load_ledger_accounts(conn),
        messages=load_orphans(conn),
        loaded_at=now,
    )
    for record in terminals.values():  # the open batches: where repeats can arrive
        state.messages.load_batch(conn, record.terminal_id, record.batch_no)
    return state
