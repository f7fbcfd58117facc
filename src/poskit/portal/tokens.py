"""API tokens for scripts: created by a user in the portal, shown once, stored hashed.

A token acts as the user who created it, with the same role and the same tenant
scope. It is ``pk_`` followed by 43 random URL-safe characters (256 bits); the
database keeps its SHA-256 and a short prefix so the owner can recognise it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from poskit.store.db import inserted_id
from poskit.store.schema_portal import api_tokens

__all__ = [
    "TOKEN_PREFIX",
    "ApiToken",
    "NewToken",
    "create_token",
    "list_tokens",
    "resolve_token",
    "revoke_token",
    "touch_token",
]

TOKEN_PREFIX = "pk_"  # noqa: S105 - a public prefix, not a secret
_TOUCH_EVERY = timedelta(minutes=1)


@dataclasses.dataclass(frozen=True, slots=True)
class ApiToken:
    id: int
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclasses.dataclass(frozen=True, slots=True)
class NewToken:
    id: int
    secret: str = dataclasses.field(repr=False)  # shown to the user once, never stored

    def __repr__(self) -> str:
        return f"NewToken(id={self.id}, secret=<hidden>)"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def create_token(
    conn: Connection, user_id: int, name: str, *, now: datetime, expires_at: datetime | None = None
) -> NewToken:
    name = name.strip()[:60]
    if not name:
        raise ValueError("a token needs a name, e.g. the script that will use it")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token_id = inserted_id(
        conn.execute(
            insert(api_tokens).values(
                user_id=user_id,
                name=name,
                prefix=secret[:10],
                token_hash=_digest(secret),
                created_at=now,
                expires_at=expires_at,
            )
        )
    )
    return NewToken(token_id, secret)


def resolve_token(conn: Connection, secret: str, *, now: datetime) -> tuple[int, int, bool] | None:
    """(token id, user id, needs touch) of a live token, or None (unknown, revoked or expired).

    Read-only: call :func:`touch_token` in a write transaction when the third item is true.
    """
    if not secret.startswith(TOKEN_PREFIX):
        return None
    row = (
        conn.execute(select(api_tokens).where(api_tokens.c.token_hash == _digest(secret))).mappings().first()
    )
    if row is None or row["revoked_at"] is not None:
        return None
    if row["expires_at"] is not None and row["expires_at"] <= now:
        return None
    stale = row["last_used_at"] is None or now - row["last_used_at"] > _TOUCH_EVERY
    return int(row["id"]), int(row["user_id"]), stale


def touch_token(conn: Connection, token_id: int, *, now: datetime) -> None:
    conn.execute(update(api_tokens).where(api_tokens.c.id == token_id).values(last_used_at=now))


def list_tokens(conn: Connection, user_id: int) -> list[ApiToken]:
    rows = conn.execute(
        select(api_tokens).where(api_tokens.c.user_id == user_id).order_by(api_tokens.c.id.desc())
    ).mappings()
    return [
        ApiToken(
            id=r["id"],
            name=r["name"],
            prefix=r["prefix"],
            created_at=r["created_at"],
            expires_at=r["expires_at"],
            last_used_at=r["last_used_at"],
            revoked_at=r["revoked_at"],
        )
        for r in rows
    ]


def revoke_token(conn: Connection, user_id: int, token_id: int, *, now: datetime) -> bool:
    """Revoke one of the user's own tokens; False when there is no such live token of theirs."""
    result = conn.execute(
        update(api_tokens)
        .where(
            api_tokens.c.id == token_id, api_tokens.c.user_id == user_id, api_tokens.c.revoked_at.is_(None)
        )
        .values(revoked_at=now)
    )
    return bool(result.rowcount)
