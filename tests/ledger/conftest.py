"""Fixtures for ledger tests: the acquirer world of ledger_world.py on each backend.

Migrating a database takes most of a second (and creating a PostgreSQL database more), so
SQLite is migrated once per session into a template file that every test copies, and
PostgreSQL uses one session database whose tables are emptied before each test.
"""

from __future__ import annotations

import os
import shutil
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect

from poskit.store.db import make_engine, normalise_url
from poskit.store.migrate import upgrade
from poskit.store.schema import metadata

sys.path.insert(0, str(Path(__file__).parent))

from ledger_world import World

POSTGRES_URL = os.environ.get("POSKIT_TEST_POSTGRES_URL")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite database file to copy."""
    path = tmp_path_factory.mktemp("ledger-template") / "host.sqlite"
    eng = make_engine(f"sqlite:///{path}")
    upgrade(eng)
    eng.dispose()
    return path


def _admin_url() -> str:
    assert POSTGRES_URL is not None
    return normalise_url(POSTGRES_URL).replace("postgresql+psycopg://", "postgresql://")


@pytest.fixture(scope="session")
def postgres_session_engine() -> Iterator[Engine]:
    """One migrated PostgreSQL database for the session; each test starts from emptied tables."""
    import psycopg

    if not POSTGRES_URL:
        pytest.skip("POSKIT_TEST_POSTGRES_URL not set")
    name = f"poskit_ledger_{uuid.uuid4().hex[:10]}"
    admin = _admin_url()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    eng = make_engine(f"{admin.rpartition('/')[0]}/{name}")
    upgrade(eng)
    try:
        yield eng
    finally:
        eng.dispose()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _empty_postgres(eng: Engine) -> None:
    """DELETE every row, children first, and restart the ids: far faster than TRUNCATE or a new database
    on this machine (both create files and wait for fsync)."""
    present = set(inspect(eng).get_table_names())
    with eng.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            if table.name in present:
                conn.execute(table.delete())
                if "id" in table.c and table.c.id.primary_key and table.c.id.autoincrement is not False:
                    conn.exec_driver_sql(
                        f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', 'id'), 1, false)"
                        f" WHERE pg_get_serial_sequence('\"{table.name}\"', 'id') IS NOT NULL"
                    )


def _sqlite_copy(template: Path, directory: Path) -> Engine:
    target = directory / "host.sqlite"
    shutil.copyfile(template, target)
    return make_engine(f"sqlite:///{target}")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> Iterator[Engine]:
    """A fresh migrated host database on each backend (the shared fixture's contract, faster)."""
    if request.param == "sqlite":
        eng = _sqlite_copy(sqlite_template, tmp_path)
        yield eng
        eng.dispose()
        return
    eng = request.getfixturevalue("postgres_session_engine")
    _empty_postgres(eng)
    yield eng


@pytest.fixture
def sqlite_engine(tmp_path: Path, sqlite_template: Path) -> Iterator[Engine]:
    """A migrated SQLite database (a copy of the session's template)."""
    eng = _sqlite_copy(sqlite_template, tmp_path)
    yield eng
    eng.dispose()


@pytest.fixture
def world(engine: Engine) -> World:
    """The world on SQLite and (when configured) PostgreSQL."""
    return World(engine)


@pytest.fixture
def sqlite_world(sqlite_engine: Engine) -> World:
    """The world on SQLite only."""
    return World(sqlite_engine)
