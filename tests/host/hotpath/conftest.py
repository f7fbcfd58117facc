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
