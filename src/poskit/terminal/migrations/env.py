"""Alembic environment for a terminal's own store; poskit.terminal.store hands in the connection."""

from __future__ import annotations

from alembic import context

from poskit.terminal.schema import metadata

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - poskit always passes a connection
    raise RuntimeError("run migrations through poskit.terminal.store.TerminalStore.open()")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True, compare_type=True)
with context.begin_transaction():
    context.run_migrations()
