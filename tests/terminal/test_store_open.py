"""Opening a terminal store: migrated when new, no Alembic when it is already at the head."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlalchemy import inspect

from poskit.store.migrate import current_revision, head_revision
from poskit.terminal import store as terminal_store
from poskit.terminal.store import SCHEMA_HEAD, TerminalStore

# Open an existing store in a clean interpreter; print whether Alembic was imported.
_OPEN_PROBE = """
import sys
from pathlib import Path
from poskit.terminal.store import TerminalStore
TerminalStore.open(Path(sys.argv[1])).close()
print("ALEMBIC", any(m == "alembic" or m.startswith("alembic.") for m in sys.modules))
"""


def test_schema_head_is_the_newest_migration() -> None:
    """SCHEMA_HEAD names the single head of the terminal migrations (a new migration must bump it)."""
    assert head_revision(terminal_store._MIGRATIONS) == {SCHEMA_HEAD}


def test_new_store_is_migrated_to_the_head(tmp_path: Path) -> None:
    """A store file that does not exist yet is created with every table, at the head revision."""
    store = TerminalStore.open(tmp_path / "t.sqlite")
    try:
        assert current_revision(store.engine) == {SCHEMA_HEAD}
        tables = set(inspect(store.engine).get_table_names())
        assert {"terminal_profile", "counters", "reversal_queue"} <= tables
    finally:
        store.close()


def test_store_at_head_opens_without_alembic(tmp_path: Path) -> None:
    """Reopening a store already at the head reads its version and skips Alembic entirely."""
    path = tmp_path / "t.sqlite"
    TerminalStore.open(path).close()
    out = subprocess.run(
        [sys.executable, "-c", _OPEN_PROBE, str(path)], capture_output=True, text=True, check=True
    )
    assert "ALEMBIC False" in out.stdout


def test_empty_file_is_migrated(tmp_path: Path) -> None:
    """An empty SQLite file (no alembic_version table) is migrated, as a new store is."""
    path = tmp_path / "t.sqlite"
    path.touch()
    out = subprocess.run(
        [sys.executable, "-c", _OPEN_PROBE, str(path)], capture_output=True, text=True, check=True
    )
    assert "ALEMBIC True" in out.stdout
    store = TerminalStore.open(path)
    try:
        assert current_revision(store.engine) == {SCHEMA_HEAD}
    finally:
        store.close()
