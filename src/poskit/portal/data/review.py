"""Acquirer review queues: compliance flags and open disputes, limited to the staff member's merchants."""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.engine import Connection

from poskit.ledger.monitoring import Flag, list_flags
from poskit.portal.accounts import PortalUser
from poskit.portal.scope import merchant_filter, visible_merchant_ids
from poskit.store.schema import terminals
from poskit.store.schema_ledger import disputes, flags

__all__ = ["flag_visible", "open_dispute_count", "visible_flags"]

#: Dispute states still waiting for the acquirer.
OPEN_DISPUTE_STATES = (
    "open",
    "under_review",
    "retrieval_request",
    "chargeback",
    "representment",
    "pre_arbitration",
)


def _flag_clause(conn: Connection, user: PortalUser):  # type: ignore[no-untyped-def]
    """A flag is visible when its merchant is, or (no merchant) its terminal's merchant is."""
    ids = visible_merchant_ids(conn, user)
    terminal_ids = select(terminals.c.terminal_id).where(merchant_filter(user, terminals.c.merchant_id))
    return or_(
        flags.c.merchant_id.in_(ids),
        (flags.c.merchant_id.is_(None)) & flags.c.terminal_id.in_(terminal_ids),
    )


def visible_flags(
    conn: Connection, user: PortalUser, *, status: str | None = "open", kind: str | None = None
) -> list[Flag]:
    """Flags of the user's merchants (merchant users never see flags: compliance is the acquirer's)."""
    if not user.is_acquirer:
        return []
    visible = {int(r[0]) for r in conn.execute(select(flags.c.id).where(_flag_clause(conn, user)))}
    return [f for f in list_flags(conn, status=status, kind=kind, limit=2000) if f.id in visible]


def flag_visible(conn: Connection, user: PortalUser, flag_id: int) -> bool:
    if not user.is_acquirer:
        return False
    row = conn.execute(select(flags.c.id).where(flags.c.id == flag_id, _flag_clause(conn, user))).first()
    return row is not None


def open_dispute_count(conn: Connection, user: PortalUser) -> int:
    return int(
        conn.execute(
            select(func.count())
            .select_from(disputes)
            .where(merchant_filter(user, disputes.c.merchant_id), disputes.c.status.in_(OPEN_DISPUTE_STATES))
        ).scalar_one()
    )
