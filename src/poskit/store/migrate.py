"""Apply Alembic migrations programmatically (``poskit up`` and tests call this)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

__all__ = ["alembic_config", "current_revision", "head_revision", "upgrade"]

_HERE = Path(__file__).parent


def alembic_config(script_location: Path | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(script_location or _HERE / "migrations"))
    return cfg


def upgrade(engine: Engine, revision: str = "heads", *, script_location: Path | None = None) -> None:
    """Bring the database behind ``engine`` to ``revision`` (idempotent)."""
    cfg = alembic_config(script_location)
    with engine.connect() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)
        connection.commit()


def current_revision(engine: Engine) -> set[str]:
    """The revisions the database is at (one per branch)."""
    with engine.connect() as connection:
        return set(MigrationContext.configure(connection).get_current_heads())


def head_revision(script_location: Path | None = None) -> set[str]:
    """The newest revision of every branch of the migration scripts."""
    return set(ScriptDirectory.from_config(alembic_config(script_location)).get_heads())
