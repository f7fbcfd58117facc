"""CLI test fixtures: a data directory whose host database holds the ledger test world."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "ledger"))
sys.path.insert(0, str(Path(__file__).parent))

from ledger_world import World

from poskit.store.db import make_engine
from poskit.store.migrate import upgrade


@pytest.fixture(scope="module")
def world_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli-world") / "poskit.sqlite"
    eng = make_engine(f"sqlite:///{path}")
    upgrade(eng)
    eng.dispose()
    return path


@pytest.fixture
def world_dir(tmp_path: Path, world_template: Path) -> Iterator[tuple[Path, World]]:
    """A data directory with the ledger test world (an acquirer, the cafe and the noodle shop)."""
    shutil.copyfile(world_template, tmp_path / "poskit.sqlite")
    eng = make_engine(f"sqlite:///{tmp_path / 'poskit.sqlite'}")
    yield tmp_path, World(eng)
    eng.dispose()
