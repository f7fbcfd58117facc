"""Portal users for the CLI tests of commands that act in someone's name, and how to run them.

Imported by the CLI tests after tests/ledger is on sys.path (for the ledger test world).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from ledger_world import NOW, World
from sqlalchemy import insert, select
from typer.testing import CliRunner

from poskit.cli import commands  # noqa: F401  (registers every command)
from poskit.cli.app import app
from poskit.portal.accounts import create_user
from poskit.store.db import inserted_id
from poskit.store.schema import acquirers
from poskit.store.schema_portal import login_events

__all__ = ["PASSWORD", "add_users", "as_user", "login_outcomes"]

#: Every test user's password.
PASSWORD = "poskit-test-1"

runner = CliRunner()


def add_users(world: World) -> None:
    """cafe and noodle (merchant owners), cafe-staff, two acquirer reviewers, an acquirer admin,
    and a reviewer of another acquirer."""
    with world.begin() as conn:
        other = inserted_id(
            conn.execute(
                insert(acquirers).values(
                    code="48029999",
                    name="Other acquirer",
                    country="156",
                    currency="CNY",
                    timezone="Asia/Shanghai",
                    created_at=NOW - timedelta(days=10),
                )
            )
        )
        for username, role, merchant, acquirer in (
            ("cafe", "merchant_owner", world.cafe, None),
            ("cafe-staff", "merchant_staff", world.cafe, None),
            ("noodle", "merchant_owner", world.noodle, None),
            ("reviewer", "acquirer_staff", None, world.acquirer_id),
            ("checker", "acquirer_staff", None, world.acquirer_id),
            ("admin", "acquirer_admin", None, world.acquirer_id),
            ("outsider", "acquirer_staff", None, other),
        ):
            create_user(
                conn,
                username=username,
                password=PASSWORD,
                role=role,
                merchant_id=merchant,
                acquirer_id=acquirer,
                now=NOW - timedelta(days=10),
                check_strength=False,
            )


def as_user(data_dir: Path, *args: str, password: str | None = PASSWORD, stdin: str | None = None) -> Any:
    """Run ``poskit ARGS`` with the operator's password in the environment (``None``: no password)."""
    env = {"POSKIT_OPERATOR_PASSWORD": password}  # None unsets it for the run
    return runner.invoke(app, [*args, "--data-dir", str(data_dir)], env=env, input=stdin)


def login_outcomes(world: World, username: str) -> list[str]:
    """The login log's outcomes for ``username``, oldest first."""
    with world.engine.connect() as conn:
        return list(
            conn.execute(
                select(login_events.c.outcome)
                .where(login_events.c.username == username)
                .order_by(login_events.c.id)
            ).scalars()
        )
