"""Database files are created readable by their owner only."""

from __future__ import annotations

import stat
from pathlib import Path

from sqlalchemy import text

from poskit.store.db import make_engine


def test_new_sqlite_database_and_wal_files_are_0600(tmp_path: Path) -> None:
    """A database created by make_engine, and its -wal/-shm files, have mode 0600."""
    path = tmp_path / "host.db"
    engine = make_engine(f"sqlite:///{path}")
    with engine.connect() as conn, conn.begin():
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
        conn.execute(text("INSERT INTO t VALUES (1)"))
        files = sorted(tmp_path.iterdir())
        assert path in files and len(files) >= 2  # the WAL exists while the connection is open
        for file in files:
            assert stat.S_IMODE(file.stat().st_mode) == 0o600, file
    engine.dispose()
