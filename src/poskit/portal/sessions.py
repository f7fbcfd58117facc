"""Server-side portal sessions behind the signed session cookie.

The cookie carries a random session id; the database keeps only its SHA-256 and
decides whether it is still valid: an absolute lifetime, an idle timeout, and
revocation on logout, on a password reset and when an administrator locks the
user out. A stolen cookie therefore dies with the session it belonged to.
"""

from __future__ import annotations

import dataclasses
import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from poskit.store.schema_portal import portal_sessions

__all__ = [
    "IDLE_TIMEOUT",
    "SESSION_LIFETIME",
    "LiveSession",
    "create_session",
    "resolve_session",
    "revoke_session",
    "revoke_user_sessions",
    "touch_session",
]

SESSION_LIFETIME = timedelta(hours=8)
IDLE_TIMEOUT = timedelta(hours=1)
_TOUCH_EVERY = timedelta(minutes=1)  # write last_seen_at at most once a minute per session


@dataclasses.dataclass(frozen=True, slots=True)
class LiveSession:
    id: int
    user_id: int
    needs_touch: bool  # last_seen_at is old enough to be worth a write


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def create_session(
    conn: Connection, user_id: int, *, now: datetime, user_agent: str = "", remote_addr: str = ""
) -> str:
    """A new session for ``user_id``; returns the id to put in the cookie."""
    token = secrets.token_urlsafe(32)
    conn.execute(
        insert(portal_sessions).values(
            session_hash=_digest(token),
            user_id=user_id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + SESSION_LIFETIME,
            user_agent=user_agent[:200],
            remote_addr=remote_addr[:64],
        )
    )
    return token


def resolve_session(conn: Connection, token: str, *, now: datetime) -> LiveSession | None:
    """The live session for ``token``, or None (unknown, revoked, expired or idle too long).

    Read-only: call :func:`touch_session` in a write transaction when ``needs_touch``.
    """
    row = (
        conn.execute(select(portal_sessions).where(portal_sessions.c.session_hash == _digest(token)))
        .mappings()
        .first()
    )
    if row is None or row["revoked_at"] is not None or row["expires_at"] <= now:
        return None
    idle = now - row["last_seen_at"]
    if idle > IDLE_TIMEOUT:
        return None
    return LiveSession(int(row["id"]), int(row["user_id"]), idle > _TOUCH_EVERY)


def touch_session(conn: Connection, session_id: int, *, now: datetime) -> None:
    conn.execute(update(portal_sessions).where(portal_sessions.c.id == session_id).values(last_seen_at=now))


def revoke_session(conn: Connection, token: str, *, now: datetime) -> None:
    conn.execute(
        update(portal_sessions)
        .where(portal_sessions.c.session_hash == _digest(token), portal_sessions.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def revoke_user_sessions(conn: Connection, user_id: int, *, now: datetime) -> int:
    """End every live session of a user (password reset, lockout); returns how many."""
    result = conn.execute(
        update(portal_sessions)
        .where(portal_sessions.c.user_id == user_id, portal_sessions.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return int(result.rowcount)
