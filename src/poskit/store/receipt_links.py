"""Issue and resolve e-receipt links (see :mod:`poskit.store.schema_receipts`).

The token is 16 random bytes in URL-safe base64 (22 characters, what
``secrets.token_urlsafe(16)`` gives); its SHA-256 is the only thing stored. An RRN,
a voucher number or any other short or sequential value never opens a receipt:
tokens of another length are refused before the database is asked.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import re
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection

from poskit.store.schema_receipts import receipt_links

__all__ = [
    "DEFAULT_LINK_DAYS",
    "TOKEN_BYTES",
    "LinkLookup",
    "issue_link",
    "looks_like_token",
    "resolve_link",
    "token_hash",
]

TOKEN_BYTES = 16  # 128 bits
DEFAULT_LINK_DAYS = 180
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{22}$")


@dataclasses.dataclass(frozen=True, slots=True)
class LinkLookup:
    """What a token names: the transaction, and whether the link has expired."""

    transaction_id: int
    expires_at: datetime
    expired: bool


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def looks_like_token(token: str) -> bool:
    """True for the shape of an issued token (an RRN, 12 digits, is not one)."""
    return bool(_TOKEN.fullmatch(token))


def issue_link(
    conn: Connection,
    transaction_id: int,
    *,
    now: datetime,
    lifetime: timedelta = timedelta(days=DEFAULT_LINK_DAYS),
    random: Callable[[int], bytes] = secrets.token_bytes,
) -> str:
    """A new link token for the transaction; only its digest is written (in the caller's commit)."""
    token = base64.urlsafe_b64encode(random(TOKEN_BYTES)).rstrip(b"=").decode("ascii")
    conn.execute(
        insert(receipt_links).values(
            token_hash=token_hash(token),
            transaction_id=transaction_id,
            created_at=now,
            expires_at=now + lifetime,
        )
    )
    return token


def resolve_link(conn: Connection, token: str, *, now: datetime) -> LinkLookup | None:
    """The transaction a token opens, or None when no such token was issued."""
    if not looks_like_token(token):
        return None
    row = conn.execute(
        select(receipt_links.c.transaction_id, receipt_links.c.expires_at).where(
            receipt_links.c.token_hash == token_hash(token)
        )
    ).first()
    if row is None:
        return None
    return LinkLookup(int(row.transaction_id), row.expires_at, expired=now >= row.expires_at)
