"""A provisioned demo database per test (the in-memory host engine loads its state from it)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from poskit.config import Settings
from poskit.demo.world import provision_demo
from poskit.store.db import make_engine


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo world provisioned once; tests work on copies of its data directory."""
    data_dir = tmp_path_factory.mktemp("hotpath-template")
    provision_demo(Settings(data_dir=data_dir, host_port=0, portal_port=0))
    return data_dir


@pytest.fixture
def demo_copy(demo_template: Path, tmp_path: Path) -> Settings:
    """A private copy of the provisioned data directory."""
    data_dir = tmp_path / "data"
    shutil.copytree(demo_template, data_dir)
    return Settings(data_dir=data_dir, host_port=0, portal_port=0)


@pytest.fixture
def demo_engine(demo_copy: Settings) -> Iterator[Engine]:
    engine = make_engine(demo_copy.resolved_database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def postgres_demo(tmp_path: Path) -> Iterator[Settings]:
    """The demo world provisioned on a fresh PostgreSQL database (skipped without one)."""
    from tests.conftest import POSTGRES_URL, _postgres_database

    if not POSTGRES_URL:
        pytest.skip("POSKIT_TEST_POSTGRES_URL not set")
    for url in _postgres_database():
        settings = Settings(data_dir=tmp_path / "data", database_url=url, host_port=0, portal_port=0)
        provision_demo(settings)
        yield settings
