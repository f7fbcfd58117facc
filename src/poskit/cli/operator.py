"""The operator behind a command that records a decision in someone's name.

Such a command acts as a portal user: the operator names themselves with ``--by`` and
proves it with their portal password, read from ``--password-stdin``, else
``POSKIT_OPERATOR_PASSWORD``, else a hidden prompt — never from an argument, which would
land in the shell history. The login counts against the same lockout as the portal's and
is kept in the same login log; the decision then runs through
:mod:`poskit.portal.decisions`, the portal's own rules. A refusal ends the command with a
plain sentence and exit status 1.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import click
import typer

from poskit.cli.app import fail
from poskit.cli.ledger import write_conn

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from poskit.portal.accounts import PortalUser

__all__ = [
    "PASSWORD_ENV",
    "OperatorOption",
    "PasswordStdinOption",
    "decide",
    "sign_in",
]

#: Where a script puts the operator's password instead of typing it.
PASSWORD_ENV = "POSKIT_OPERATOR_PASSWORD"  # noqa: S105 (the variable's name, not a password)

OperatorOption = Annotated[
    str,
    typer.Option(
        "--by",
        help=(
            "Your portal user name; the decision is recorded in it and checked against its role. "
            f"Password: --password-stdin, ${PASSWORD_ENV} or a prompt."
        ),
    ),
]
PasswordStdinOption = Annotated[
    bool,
    typer.Option("--password-stdin", help="Read the --by user's password from the first line of stdin."),
]

T = TypeVar("T")


def _password(username: str, *, from_stdin: bool, as_json: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    from_env = os.environ.get(PASSWORD_ENV)
    if from_env is not None:
        return from_env
    if not sys.stdin.isatty():
        fail(
            f"no password for {username!r}: use --password-stdin or set {PASSWORD_ENV}",
            code=1,
            as_json=as_json,
        )
    return str(click.prompt(f"Password for {username}", hide_input=True, err=True))


def sign_in(
    data_dir: Path | None, username: str, *, password_stdin: bool, now: datetime, as_json: bool
) -> PortalUser:
    """Authenticate the operator as a portal user, or end the command.

    The attempt is committed on its own, before the decision, so a wrong password counts
    towards the lockout even though the command stops there.
    """
    # The portal's modules load only for a command that signs in (they bring FastAPI along).
    from sqlalchemy import insert

    from poskit.portal.accounts import authenticate
    from poskit.store.schema_portal import login_events

    password = _password(username, from_stdin=password_stdin, as_json=as_json)
    with write_conn(data_dir) as conn:
        result = authenticate(conn, username, password, now=now)
        conn.execute(
            insert(login_events).values(
                at=now,
                username=username[:60],
                user_id=result.user.id if result.user else None,
                outcome=result.reason,
                remote_addr="cli",
            )
        )
    if result.user is not None:
        return result.user
    if result.reason == "locked" and result.locked_until is not None:
        until = result.locked_until.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        fail(f"{username!r} is locked until {until} after repeated wrong passwords", code=1, as_json=as_json)
    fail(f"not signed in as {username!r}: wrong user name or password", code=1, as_json=as_json)


def _roles_with(permission: str) -> str:
    from poskit.portal.permissions import ROLE_PERMISSIONS

    return ", ".join(role for role, granted in ROLE_PERMISSIONS.items() if permission in granted)


@contextmanager
def _refusals(user: PortalUser, as_json: bool) -> Iterator[None]:
    from poskit.portal.permissions import PermissionDenied
    from poskit.portal.scope import NotFound

    try:
        yield
    except PermissionDenied as exc:
        fail(
            f"refused: {user.username} is {user.role}, and {exc.permission.value} is for "
            f"{_roles_with(exc.permission.value)}",
            code=1,
            as_json=as_json,
        )
    except NotFound as exc:
        fail(
            f"refused: {exc.what} not found for {user.username} "
            "(it does not exist or belongs to a merchant they do not act for)",
            code=1,
            as_json=as_json,
        )


def decide(
    data_dir: Path | None,
    user: PortalUser,
    decision: Callable[[Connection], T],
    *,
    errors: tuple[type[Exception], ...] = (),
    as_json: bool,
) -> T:
    """Run one decision in one write transaction, turning each refusal into a message and exit 1.

    ``errors`` are the ledger's own refusals (a state, an amount, four eyes), shown as they are.
    """
    try:
        with _refusals(user, as_json), write_conn(data_dir) as conn:
            return decision(conn)
    except errors as exc:
        fail(str(exc), code=1, as_json=as_json)
