"""Database engines: embedded SQLite (WAL, durable commits) or PostgreSQL.

SQLite is opened in WAL mode with ``synchronous=FULL`` so that a COMMIT is on disk
when it returns: the host answers a terminal only after its commit (durable before
acknowledged). Python's sqlite3 module would defer BEGIN and break SAVEPOINTs, so
poskit takes over transaction control (SQLAlchemy's documented pysqlite recipe);
write transactions start with ``BEGIN IMMEDIATE`` to take the write lock up front.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection, CursorResult

__all__ = ["WRITE", "is_sqlite", "make_engine", "normalise_url"]

#: Execution option asking for ``BEGIN IMMEDIATE`` on SQLite (ignored elsewhere).
WRITE = {"poskit_write": True}


def normalise_url(url: str) -> str:
    """Accept ``postgresql://`` and pick the psycopg 3 driver explicitly."""
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def is_sqlite(url_or_engine: str | Engine) -> bool:
    url = str(url_or_engine.url) if isinstance(url_or_engine, Engine) else url_or_engine
    return url.startswith("sqlite")


def make_engine(url: str, *, pool_size: int = 5) -> Engine:
    """An engine for ``url`` with poskit's durability settings."""
    url = normalise_url(url)
    if is_sqlite(url):
        path = url.split("///", 1)[1] if "///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            _create_private(Path(path))
        engine = create_engine(
            url,
            pool_size=pool_size,
            max_overflow=20,
            pool_pre_ping=False,
            connect_args={"check_same_thread": False, "timeout": 30},
        )
        _install_sqlite_recipe(engine)
        return engine
    return create_engine(url, pool_size=pool_size, max_overflow=10, pool_pre_ping=True)


def _create_private(path: Path) -> None:
    """Create a new database file owner-only (0600); SQLite gives its -wal/-shm the same mode."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _install_sqlite_recipe(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get("poskit_write"):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


def inserted_id(result: CursorResult[Any]) -> int:
    """The primary key of the row an INSERT just created."""
    key = result.inserted_primary_key
    if key is None or key[0] is None:
        raise RuntimeError("the INSERT returned no primary key")
    return int(key[0])
