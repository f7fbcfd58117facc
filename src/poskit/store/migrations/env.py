"""Alembic environment for the host database; the connection is handed in by poskit.store.migrate."""

from __future__ import annotations

from alembic import context

from poskit.store.schema import metadata

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - poskit always passes a connection
    raise RuntimeError("run migrations through poskit.store.migrate.upgrade()")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True, compare_type=True)
with context.begin_transaction():
    context.run_migrations()
