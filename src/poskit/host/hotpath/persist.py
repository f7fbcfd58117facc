"""Writing a commit group's rows: raw DBAPI prepared statements, one ``executemany`` per table.

SQLite's driver caches each statement by its text and PostgreSQL's (psycopg 3) pipelines an
``executemany``, so a group of hundreds of authorisations costs a handful of round trips.
Rows carry their ids (assigned by :class:`IdAllocator`), because the transaction's id is in its
RRN and every journal, effect and fee line points at it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from poskit.host.hotpath.decide import GroupRows

__all__ = ["INSERTED_COLUMNS", "IdAllocator", "flush_rows"]

_INSERTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "transactions": (
        "transactions",
        (
            "id",
            "terminal_id",
            "merchant_id",
            "mti",
            "txn_type",
            "stan",
            "batch_no",
            "local_datetime",
            "received_at",
            "amount",
            "currency",
            "pan_hash",
            "pan_token",
            "pan_masked",
            "card_scheme",
            "funding",
            "origin",
            "entry_mode",
            "pin_entered",
            "signature_required",
            "mcc",
            "response_code",
            "auth_code",
            "rrn",
            "settlement_date",
            "status",
            "issuer_account_id",
            "fee",
            "message",
            "response",
        ),
    ),
    "journals": (
        "journal_entries",
        (
            "id",
            "idempotency_key",
            "kind",
            "transaction_id",
            "merchant_id",
            "description",
            "currency",
            "posted_at",
        ),
    ),
    "entries": ("ledger_entries", ("journal_id", "account_id", "amount", "currency")),
    "effects": (
        "transaction_effects",
        ("transaction_id", "issuer_account_id", "balance_delta", "holds_delta"),
    ),
    "fee_lines": (
        "fee_lines",
        (
            "transaction_id",
            "merchant_id",
            "schedule_id",
            "schedule_version",
            "rule",
            "base",
            "amount",
            "currency",
            "formula",
            "journal_id",
            "created_at",
        ),
    ),
}

#: The columns the writer fills itself, by table (a test holds them to the schema).
INSERTED_COLUMNS = {table: columns for table, columns in _INSERTS.values()}

#: Balances and holds move by deltas, so a change made elsewhere in between is kept, not overwritten.
_UPDATES = {
    "cards": (
        "UPDATE issuer_cards SET pin_tries = {pin_tries}, last_online_atc = {last_online_atc} WHERE id = {id}"
    ),
    "accounts": (
        "UPDATE issuer_accounts SET balance = balance + {balance_delta}, holds = holds + {holds_delta},"
        " daily_spent = {daily_spent}, daily_date = {daily_date} WHERE id = {id}"
    ),
}

_DATETIME_COLUMNS = frozenset({"received_at", "posted_at", "created_at"})


def _placeholder(sqlite: bool) -> Callable[[str], str]:
    return (lambda name: f":{name}") if sqlite else (lambda name: f"%({name})s")


def _statements(sqlite: bool) -> dict[str, str]:
    ph = _placeholder(sqlite)
    out = {
        # table and column names are this module's constants; values are always bound
        key: f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(ph(c) for c in columns)})"  # noqa: S608
        for key, (table, columns) in _INSERTS.items()
    }
    for key, template in _UPDATES.items():
        names = (
            "pin_tries",
            "last_online_atc",
            "id",
            "balance_delta",
            "holds_delta",
            "daily_spent",
            "daily_date",
        )
        out[key] = template.format(**{n: ph(n) for n in names})
    return out


_SQL = {True: _statements(True), False: _statements(False)}


def _sqlite_value(name: str, value: Any) -> Any:
    """The value as SQLAlchemy's SQLite types store it (naive UTC timestamps, JSON text)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    if name == "response":
        return json.dumps(value)
    return value


def _postgres_value(name: str, value: Any) -> Any:
    if name == "response":
        from psycopg.types.json import Json

        return Json(value)
    return value


def flush_rows(dbapi_connection: Any, rows: GroupRows, *, sqlite: bool) -> None:
    """Write ``rows`` in foreign-key order inside the caller's open transaction (no COMMIT here)."""
    adapt = _sqlite_value if sqlite else _postgres_value
    sql = _SQL[sqlite]
    cursor = dbapi_connection.cursor()
    try:
        for key in ("transactions", "journals", "entries", "effects", "fee_lines", "cards", "accounts"):
            batch: list[dict[str, Any]] = getattr(rows, key)
            if not batch:
                continue
            if key in ("transactions", "journals", "fee_lines"):
                batch = [{k: adapt(k, v) for k, v in row.items()} for row in batch]
            cursor.executemany(sql[key], batch)
    finally:
        cursor.close()


class IdAllocator:
    """Primary keys for rows the writer inserts itself, inside its write transaction.

    SQLite: the writer holds the write lock (``BEGIN IMMEDIATE``), so the next id is the
    largest stored plus one; after the SQL path inserted rows the counters are read again.
    PostgreSQL: ids come from the tables' own sequences, a block per group, so every other
    writer keeps drawing unique ids; ids a group does not use are gaps, as after a rollback.
    """

    _TABLES = ("transactions", "journal_entries")

    def __init__(self, dbapi_connection: Any, *, sqlite: bool, block: int = 1) -> None:
        self._dbapi = dbapi_connection
        self._sqlite = sqlite
        self._block = max(1, block)
        self._next: dict[str, int] = {}
        self._pool: dict[str, list[int]] = {}

    def forget(self) -> None:
        """Rows were inserted by other code in this transaction: read the SQLite counters again."""
        if self._sqlite:
            self._next.clear()

    def __call__(self, table: str) -> int:
        if table not in self._TABLES:
            raise ValueError(f"no id allocation for {table}")
        cursor = self._dbapi.cursor()
        try:
            if self._sqlite:
                if table not in self._next:
                    cursor.execute(f"SELECT coalesce(max(id), 0) FROM {table}")  # noqa: S608 (constant name)
                    self._next[table] = int(cursor.fetchone()[0]) + 1
                value = self._next[table]
                self._next[table] = value + 1
                return value
            pool = self._pool.setdefault(table, [])
            if not pool:
                cursor.execute(
                    "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                    (table, self._block),
                )
                pool.extend(int(r[0]) for r in cursor.fetchall())
                pool.reverse()
            return pool.pop()
        finally:
            cursor.close()
