"""Shared fixtures: databases (SQLite always, PostgreSQL when POSKIT_TEST_POSTGRES_URL is set)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from poskit.store.db import make_engine, normalise_url
from poskit.store.migrate import upgrade

POSTGRES_URL = os.environ.get("POSKIT_TEST_POSTGRES_URL")


def _postgres_database() -> Iterator[str]:
    import psycopg

    assert POSTGRES_URL is not None
    admin_url = normalise_url(POSTGRES_URL).replace("postgresql+psycopg://", "postgresql://")
    name = f"poskit_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base, _, _db = admin_url.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: os.PathLike[str]) -> Iterator[str]:
    """A fresh empty database URL on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/host.sqlite"
        return
    if not POSTGRES_URL:
        pytest.skip("POSKIT_TEST_POSTGRES_URL not set")
    yield from _postgres_database()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """A migrated host database engine on each backend."""
    eng = make_engine(db_url)
    upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def sqlite_engine(tmp_path: os.PathLike[str]) -> Iterator[Engine]:
    """A migrated host database on SQLite only (for tests that need no backend matrix)."""
    eng = make_engine(f"sqlite:///{tmp_path}/host.sqlite")
    upgrade(eng)
    yield eng
    eng.dispose()
