"""Portal user accounts: argon2 password hashes, login with lockout and backoff.

After ``LOCK_AFTER`` consecutive wrong passwords the account is locked, first for
one minute, doubling with every further failure (capped at a day). A correct
password during a lock is still refused, so guessing cannot continue in the dark.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, insert, select, update
from sqlalchemy.engine import Connection

from poskit.passwords import hash_password, verify_password
from poskit.store.db import inserted_id
from poskit.store.schema import acquirers, merchants, portal_users

__all__ = [
    "LOCK_AFTER",
    "ROLES",
    "LoginResult",
    "PortalUser",
    "UnknownUserError",
    "WeakPasswordError",
    "authenticate",
    "change_password",
    "create_user",
    "ensure_strong_password",
    "get_user",
    "get_user_by_id",
    "list_users",
    "set_locale",
    "set_password",
    "unlock_user",
]

ROLES = ("merchant_owner", "merchant_staff", "acquirer_staff", "acquirer_admin")
LOCK_AFTER = 5


class UnknownUserError(LookupError):
    def __init__(self, username: str) -> None:
        super().__init__(f"no portal user named {username!r}")
        self.username = username


class WeakPasswordError(ValueError):
    def __init__(self, reason: str) -> None:
        super().__init__(f"password rejected: {reason}")
        self.reason = reason


@dataclasses.dataclass(frozen=True, slots=True)
class PortalUser:
    id: int
    username: str
    role: str
    merchant_id: int | None
    acquirer_id: int | None
    merchant_no: str | None
    merchant_name: str | None
    locale: str
    locked_until: datetime | None
    failed_logins: int
    timezone: str = "Asia/Shanghai"  # where times are shown: the merchant's zone, else the acquirer's
    last_login_at: datetime | None = None

    @property
    def is_acquirer(self) -> bool:
        return self.role.startswith("acquirer_")


@dataclasses.dataclass(frozen=True, slots=True)
class LoginResult:
    user: PortalUser | None
    reason: str  # ok | bad_credentials | locked
    locked_until: datetime | None = None


def ensure_strong_password(password: str) -> None:
    """Raise :class:`WeakPasswordError` for a password too weak to accept."""
    if len(password) < 8:
        raise WeakPasswordError("use at least 8 characters")
    if password.isdigit() or password.isalpha():
        raise WeakPasswordError("mix letters with digits or symbols")


def _user_query() -> Select[Any]:
    return select(
        portal_users,
        merchants.c.merchant_no,
        merchants.c.name.label("merchant_name"),
        merchants.c.timezone.label("merchant_timezone"),
        acquirers.c.timezone.label("acquirer_timezone"),
    ).select_from(
        portal_users.outerjoin(merchants, portal_users.c.merchant_id == merchants.c.id).outerjoin(
            acquirers, portal_users.c.acquirer_id == acquirers.c.id
        )
    )


def _to_user(row: Mapping[str, Any]) -> PortalUser:
    return PortalUser(
        id=row["id"],
        username=row["username"],
        role=row["role"],
        merchant_id=row["merchant_id"],
        acquirer_id=row["acquirer_id"],
        merchant_no=row["merchant_no"],
        merchant_name=row["merchant_name"],
        locale=row["locale"],
        locked_until=row["locked_until"],
        failed_logins=row["failed_logins"],
        # a merchant's people see the merchant's own zone; acquirer staff the acquirer's
        timezone=row["merchant_timezone"] or row["acquirer_timezone"] or "Asia/Shanghai",
        last_login_at=row["last_login_at"],
    )


def get_user(conn: Connection, username: str) -> PortalUser | None:
    row = conn.execute(_user_query().where(portal_users.c.username == username)).mappings().first()
    return _to_user(dict(row)) if row else None


def get_user_by_id(conn: Connection, user_id: int) -> PortalUser | None:
    row = conn.execute(_user_query().where(portal_users.c.id == user_id)).mappings().first()
    return _to_user(dict(row)) if row else None


def list_users(conn: Connection) -> list[PortalUser]:
    rows = conn.execute(_user_query().order_by(portal_users.c.username)).mappings().all()
    return [_to_user(dict(r)) for r in rows]


def create_user(
    conn: Connection,
    *,
    username: str,
    password: str,
    role: str,
    merchant_id: int | None = None,
    acquirer_id: int | None = None,
    locale: str = "en",
    now: datetime | None = None,
    check_strength: bool = True,
) -> int:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
    if role.startswith("merchant_") and merchant_id is None:
        raise ValueError("merchant roles need a merchant")
    if check_strength:
        ensure_strong_password(password)
    if acquirer_id is None and merchant_id is not None:
        acquirer_id = conn.execute(
            select(merchants.c.acquirer_id).where(merchants.c.id == merchant_id)
        ).scalar()
    if acquirer_id is None:
        acquirer_id = conn.execute(select(acquirers.c.id).limit(1)).scalar()
    result = conn.execute(
        insert(portal_users).values(
            username=username,
            password_hash=hash_password(password),
            role=role,
            merchant_id=merchant_id,
            acquirer_id=acquirer_id,
            locale=locale,
            created_at=now or datetime.now(UTC),
        )
    )
    return inserted_id(result)


def set_password(conn: Connection, username: str, password: str) -> None:
    """Set a new password and lift any lockout (an administrator action)."""
    ensure_strong_password(password)
    result = conn.execute(
        update(portal_users)
        .where(portal_users.c.username == username)
        .values(password_hash=hash_password(password), failed_logins=0, locked_until=None)
    )
    if result.rowcount == 0:
        raise UnknownUserError(username)


def change_password(conn: Connection, user_id: int, current: str, new: str) -> bool:
    """The user's own password change: False when ``current`` is wrong (nothing changes)."""
    row = conn.execute(select(portal_users.c.password_hash).where(portal_users.c.id == user_id)).first()
    if row is None or not verify_password(row.password_hash, current):
        return False
    ensure_strong_password(new)
    conn.execute(
        update(portal_users).where(portal_users.c.id == user_id).values(password_hash=hash_password(new))
    )
    return True


def set_locale(conn: Connection, user_id: int, locale: str) -> None:
    """Remember the user's portal language."""
    conn.execute(update(portal_users).where(portal_users.c.id == user_id).values(locale=locale))


def unlock_user(conn: Connection, user_id: int) -> bool:
    """Lift a lockout and reset the failure count (an administrator action)."""
    result = conn.execute(
        update(portal_users).where(portal_users.c.id == user_id).values(failed_logins=0, locked_until=None)
    )
    return bool(result.rowcount)


def authenticate(conn: Connection, username: str, password: str, *, now: datetime) -> LoginResult:
    """Check a login; counts failures and locks with exponential backoff."""
    row = (
        conn.execute(select(portal_users).where(portal_users.c.username == username).with_for_update())
        .mappings()
        .first()
    )
    if row is None:
        verify_password(_dummy_hash(), password)  # same work as a real check: no user enumeration
        return LoginResult(None, "bad_credentials")
    locked_until = row["locked_until"]
    if locked_until is not None and locked_until > now:
        return LoginResult(None, "locked", locked_until)
    if not verify_password(row["password_hash"], password):
        failures = row["failed_logins"] + 1
        lock = None
        if failures >= LOCK_AFTER:
            minutes = min(2 ** (failures - LOCK_AFTER), 24 * 60)
            lock = now + timedelta(minutes=minutes)
        conn.execute(
            update(portal_users)
            .where(portal_users.c.id == row["id"])
            .values(failed_logins=failures, locked_until=lock)
        )
        return LoginResult(None, "locked" if lock else "bad_credentials", lock)
    conn.execute(
        update(portal_users)
        .where(portal_users.c.id == row["id"])
        .values(failed_logins=0, locked_until=None, last_login_at=now)
    )
    user = get_user(conn, username)
    return LoginResult(user, "ok")


@functools.cache
def _dummy_hash() -> str:
    return hash_password("poskit-no-such-user")
