"""``poskit users``: portal accounts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import Engine

from poskit.cli.app import DataDirOption, JsonOption, app, console, emit_json, fail, settings_from
from poskit.portal.accounts import UnknownUserError, WeakPasswordError, list_users, set_password
from poskit.store.db import WRITE, make_engine
from poskit.store.migrate import upgrade

__all__ = ["users_app"]

users_app = typer.Typer(help="Portal user accounts.", no_args_is_help=True)
app.add_typer(users_app, name="users")


def _engine(data_dir: Path | None) -> Engine:
    settings = settings_from(data_dir)
    engine = make_engine(settings.resolved_database_url)
    upgrade(engine)
    return engine


@users_app.command("list")
def list_command(data_dir: DataDirOption = None, as_json: JsonOption = False) -> None:
    """List portal users with their role and merchant."""
    engine = _engine(data_dir)
    with engine.connect() as conn:
        users = list_users(conn)
    engine.dispose()
    rows = [
        {
            "username": u.username,
            "role": u.role,
            "merchant": u.merchant_name,
            "merchant_no": u.merchant_no,
            "locked": bool(u.locked_until),
        }
        for u in users
    ]
    if as_json:
        emit_json(rows)
        return
    table = Table(title="portal users")
    for col in ("username", "role", "merchant", "merchant_no"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            str(r["username"]), str(r["role"]), str(r["merchant"] or "-"), str(r["merchant_no"] or "-")
        )
    console.print(table)


@users_app.command("set-password")
def set_password_command(
    username: Annotated[str, typer.Argument(help="Portal user name.")],
    password: Annotated[
        str,
        typer.Option(
            "--password", prompt=True, hide_input=True, confirmation_prompt=True, help="The new password."
        ),
    ],
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Set a portal user's password (and lift any lockout)."""
    engine = _engine(data_dir)
    try:
        with engine.connect().execution_options(**WRITE) as conn, conn.begin():
            set_password(conn, username, password)
    except UnknownUserError as exc:
        fail(str(exc), code=1, as_json=as_json)
    except WeakPasswordError as exc:
        fail(str(exc), code=1, as_json=as_json)
    finally:
        engine.dispose()
    if as_json:
        emit_json({"username": username, "password_set": True})
    else:
        console.print(f"password of [bold]{username}[/] updated")
