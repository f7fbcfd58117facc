"""Portal tables: server-side sessions, API tokens, login events, support tickets and contacts.

Secrets never sit here in the clear: a session id and an API token are stored only
as their SHA-256 digest (both are 256-bit random values, so a slow password hash
would add nothing), and a token is shown to its owner exactly once.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, String, Table, Text

from poskit.store.schema import UtcDateTime, metadata

__all__ = [
    "api_tokens",
    "login_events",
    "portal_sessions",
    "support_contacts",
    "support_tickets",
    "ticket_messages",
]

portal_sessions = Table(
    "portal_sessions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("session_hash", String(64), nullable=False, unique=True),
    Column("user_id", ForeignKey("portal_users.id"), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("last_seen_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),  # absolute end, whatever the activity
    Column("revoked_at", UtcDateTime(), nullable=True),  # logout, password reset, disabled user
    Column("user_agent", String(200), nullable=False, server_default=""),
    Column("remote_addr", String(64), nullable=False, server_default=""),
)
Index("ix_portal_sessions_user", portal_sessions.c.user_id)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", ForeignKey("portal_users.id"), nullable=False),
    Column("name", String(60), nullable=False),
    Column("prefix", String(16), nullable=False),  # the first characters, to recognise a token in lists
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=True),
    Column("last_used_at", UtcDateTime(), nullable=True),
    Column("revoked_at", UtcDateTime(), nullable=True),
)
Index("ix_api_tokens_user", api_tokens.c.user_id)

login_events = Table(
    "login_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", UtcDateTime(), nullable=False),
    Column("username", String(60), nullable=False),
    Column("user_id", ForeignKey("portal_users.id"), nullable=True),
    Column("outcome", String(20), nullable=False),  # ok | bad_credentials | locked | logout
    Column("remote_addr", String(64), nullable=False, server_default=""),
)
Index("ix_login_events_at", login_events.c.at)

support_contacts = Table(
    "support_contacts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("acquirer_id", ForeignKey("acquirers.id"), nullable=False, unique=True),
    Column("phone", String(40), nullable=False),
    Column("email", String(120), nullable=False, server_default=""),
    Column("hours", String(120), nullable=False, server_default=""),
    Column("complaints_phone", String(40), nullable=False, server_default=""),
    Column("address", String(200), nullable=False, server_default=""),
    Column("updated_at", UtcDateTime(), nullable=False),
)

support_tickets = Table(
    "support_tickets",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("merchant_id", ForeignKey("merchants.id"), nullable=False),
    Column("opened_by", ForeignKey("portal_users.id"), nullable=False),
    Column("subject", String(120), nullable=False),
    # general | fees | settlement | terminal | signature | account
    Column("category", String(24), nullable=False),
    Column("status", String(12), nullable=False),  # open | answered | closed
    Column("transaction_id", ForeignKey("transactions.id"), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)
Index("ix_support_tickets_merchant", support_tickets.c.merchant_id)

ticket_messages = Table(
    "ticket_messages",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("ticket_id", ForeignKey("support_tickets.id"), nullable=False),
    Column("author_id", ForeignKey("portal_users.id"), nullable=False),
    Column("from_acquirer", Boolean, nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)
Index("ix_ticket_messages_ticket", ticket_messages.c.ticket_id)
