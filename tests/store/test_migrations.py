"""Alembic migrations are the schema: a migrated database matches the table definitions."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

from poskit.store.db import make_engine
from poskit.store.migrate import current_revision, head_revision, upgrade
from poskit.store.schema import metadata


def test_migrated_database_matches_schema(engine: Engine) -> None:
    """No difference between the migrated tables and poskit.store.schema, on every backend."""
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
    assert diff == []
    assert current_revision(engine) == head_revision()
    assert head_revision()


def test_upgrade_is_idempotent(engine: Engine) -> None:
    """Running the migrations again changes nothing and keeps the data."""
    upgrade(engine)
    assert set(metadata.tables) <= set(inspect(engine).get_table_names())


def test_sqlite_runs_in_wal_mode_with_full_sync(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The embedded database uses WAL and synchronous=FULL so a commit is on disk when it returns."""
    eng = make_engine(f"sqlite:///{tmp_path}/x.sqlite")
    with eng.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    eng.dispose()
