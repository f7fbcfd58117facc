"""Merchant change requests (商户信息变更): name, MCC, address, settlement account.

A merchant (or acquirer staff on its behalf) asks for one field to change from a date;
another member of acquirer staff approves or rejects it (four eyes: never the
requester). An approved change is applied to the merchant record once its date
arrives; until then the old value stays in force. Every step is written to the audit
log. Payouts always go to the settlement account *in force* on their value date
(:func:`settlement_account_in_force`), so a change effective tomorrow never diverts
today's money. Frequent settlement-account changes raise a compliance flag.

Portal helper API: :func:`request_change`, :func:`review_change`, :func:`list_changes`,
:func:`value_in_force`, :func:`settlement_account_in_force`, :func:`apply_due_changes`.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from poskit.ledger.directory import merchant_info
from poskit.store.db import inserted_id
from poskit.store.schema import audit_log, merchants
from poskit.store.schema_ledger import merchant_change_requests

__all__ = [
    "CHANGEABLE_FIELDS",
    "ChangeRequest",
    "ChangeRequestError",
    "SettlementAccount",
    "apply_due_changes",
    "effective_start",
    "get_change",
    "list_changes",
    "request_change",
    "review_change",
    "settlement_account_in_force",
    "value_in_force",
]

#: field -> (maximum length, validation pattern or None)
CHANGEABLE_FIELDS: dict[str, tuple[int, str | None]] = {
    "name": (80, None),
    "name_en": (80, None),
    "mcc": (4, r"\d{4}"),
    "address": (200, None),
    "city": (60, None),
    "settlement_account": (40, r"\d{8,34}"),
    "settlement_bank": (80, None),
}

#: Two or more settlement-account changes within this many days are reviewed by risk (flagged).
FREQUENT_ACCOUNT_CHANGE_DAYS = 90


class ChangeRequestError(ValueError):
    """A change request that cannot be made or reviewed as asked."""

    def __init__(
        self, reason: str, *, request_id: int | None = None, field: str | None = None, **params: Any
    ) -> None:
        where = f"change request {request_id}: " if request_id is not None else ""
        text = reason.format(field=field, **params) if field is not None or params else reason
        super().__init__(f"{where}{text}")
        self.reason = text
        #: The reason as a message id (``{field}`` and ``params`` fill it in), for the portal to translate.
        self.message_id = reason
        self.params = {"field": field, **params} if field is not None else params
        self.request_id = request_id
        self.field = field


@dataclasses.dataclass(frozen=True, slots=True)
class ChangeRequest:
    id: int
    merchant_id: int
    field: str
    old_value: str
    new_value: str
    effective_from: datetime
    status: str  # pending | approved | rejected | applied
    reason: str
    requested_by: str
    requested_at: datetime
    reviewed_by: str | None
    reviewed_at: datetime | None
    review_note: str
    applied_at: datetime | None

    def to_json(self) -> dict[str, Any]:
        return {
            k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in dataclasses.asdict(self).items()
        }


@dataclasses.dataclass(frozen=True, slots=True)
class SettlementAccount:
    account_no: str
    bank: str
    account_name: str


def _audit(conn: Connection, *, at: datetime, actor: str, action: str, subject: str, details: Any) -> None:
    conn.execute(
        insert(audit_log).values(at=at, actor=actor, action=action, subject=subject, details=details)
    )


def get_change(conn: Connection, request_id: int) -> ChangeRequest:
    row = (
        conn.execute(select(merchant_change_requests).where(merchant_change_requests.c.id == request_id))
        .mappings()
        .first()
    )
    if row is None:
        raise ChangeRequestError("no such change request", request_id=request_id)
    return ChangeRequest(**dict(row))


def effective_start(conn: Connection, merchant_id: int, day: date, *, now: datetime) -> datetime:
    """The instant a change effective on business date ``day`` takes effect: the start of that
    date in the acquirer's zone (where the business day is cut off). A date already past is
    refused, whoever asks: a backdated change would rewrite payouts already made."""
    zone = ZoneInfo(merchant_info(conn, merchant_id).acquirer.timezone)
    if day < now.astimezone(zone).date():
        raise ChangeRequestError("the effective date is in the past", field="effective_from")
    return datetime.combine(day, time(0), zone).astimezone(UTC)


def request_change(
    conn: Connection,
    *,
    merchant_id: int,
    field: str,
    new_value: str,
    effective_from: datetime,
    requested_by: str,
    reason: str = "",
    now: datetime | None = None,
) -> ChangeRequest:
    """File a change of one field of the merchant, effective from ``effective_from``."""
    at = now or datetime.now(UTC)
    if field not in CHANGEABLE_FIELDS:
        raise ChangeRequestError(
            "field {field} cannot be changed; one of {fields}",
            field=field,
            fields=", ".join(CHANGEABLE_FIELDS),
        )
    limit, pattern = CHANGEABLE_FIELDS[field]
    value = new_value.strip()
    if not value or len(value) > limit or (pattern and not re.fullmatch(pattern, value)):
        raise ChangeRequestError("invalid new {field}: {value}", field=field, value=repr(value[:40]))
    merchant = merchant_info(conn, merchant_id)
    current = value_in_force(conn, merchant_id, field, effective_from)
    if current == value:
        raise ChangeRequestError(
            "{field} is already {value} on that date", field=field, value=repr(value[:40])
        )
    request_id = inserted_id(
        conn.execute(
            insert(merchant_change_requests).values(
                merchant_id=merchant_id,
                field=field,
                old_value=current,
                new_value=value,
                effective_from=effective_from,
                status="pending",
                reason=reason[:200],
                requested_by=requested_by,
                requested_at=at,
            )
        )
    )
    _audit(
        conn,
        at=at,
        actor=requested_by,
        action="merchant_change.requested",
        subject=f"merchant:{merchant.merchant_no}",
        details={"request_id": request_id, "field": field, "effective_from": effective_from.isoformat()},
    )
    return get_change(conn, request_id)


def review_change(
    conn: Connection,
    request_id: int,
    *,
    reviewer: str,
    approve: bool,
    note: str = "",
    now: datetime | None = None,
) -> ChangeRequest:
    """Approve or reject a pending request; an approved one already due is applied at once."""
    at = now or datetime.now(UTC)
    change = get_change(conn, request_id)
    if change.status != "pending":
        raise ChangeRequestError("already {status}", request_id=request_id, status=change.status)
    if reviewer == change.requested_by:
        raise ChangeRequestError("the requester cannot review their own change", request_id=request_id)
    conn.execute(
        update(merchant_change_requests)
        .where(merchant_change_requests.c.id == request_id)
        .values(
            status="approved" if approve else "rejected",
            reviewed_by=reviewer,
            reviewed_at=at,
            review_note=note[:200],
        )
    )
    merchant = merchant_info(conn, change.merchant_id)
    _audit(
        conn,
        at=at,
        actor=reviewer,
        action="merchant_change.approved" if approve else "merchant_change.rejected",
        subject=f"merchant:{merchant.merchant_no}",
        details={"request_id": request_id, "field": change.field, "note": note[:200]},
    )
    if approve:
        if change.field == "settlement_account":
            _flag_frequent_account_changes(conn, change, at)
        apply_due_changes(conn, now=at)
    return get_change(conn, request_id)


def _flag_frequent_account_changes(conn: Connection, change: ChangeRequest, at: datetime) -> None:
    from poskit.ledger.monitoring import raise_flag

    since = change.effective_from - timedelta(days=FREQUENT_ACCOUNT_CHANGE_DAYS)
    recent = (
        conn.execute(
            select(merchant_change_requests.c.id).where(
                merchant_change_requests.c.merchant_id == change.merchant_id,
                merchant_change_requests.c.field == "settlement_account",
                merchant_change_requests.c.status.in_(("approved", "applied")),
                merchant_change_requests.c.effective_from >= since,
            )
        )
        .scalars()
        .all()
    )
    if len(recent) >= 2:
        raise_flag(
            conn,
            key=f"frequent_account_change:{change.merchant_id}:{change.id}",
            kind="frequent_account_change",
            severity="warning",
            merchant_id=change.merchant_id,
            summary=f"{len(recent)} settlement-account changes within {FREQUENT_ACCOUNT_CHANGE_DAYS} days",
            details={"requests": sorted(int(r) for r in recent)},
            now=at,
        )


def apply_due_changes(conn: Connection, *, now: datetime | None = None) -> list[ChangeRequest]:
    """Write every approved change whose date has come into the merchant record (idempotent)."""
    at = now or datetime.now(UTC)
    due = (
        conn.execute(
            select(merchant_change_requests.c.id)
            .where(
                merchant_change_requests.c.status == "approved",
                merchant_change_requests.c.effective_from <= at,
            )
            .order_by(merchant_change_requests.c.effective_from, merchant_change_requests.c.id)
        )
        .scalars()
        .all()
    )
    applied: list[ChangeRequest] = []
    for request_id in due:
        change = get_change(conn, int(request_id))
        conn.execute(
            update(merchants)
            .where(merchants.c.id == change.merchant_id)
            .values({change.field: change.new_value})
        )
        conn.execute(
            update(merchant_change_requests)
            .where(merchant_change_requests.c.id == change.id)
            .values(status="applied", applied_at=at)
        )
        merchant = merchant_info(conn, change.merchant_id)
        _audit(
            conn,
            at=at,
            actor="system",
            action="merchant_change.applied",
            subject=f"merchant:{merchant.merchant_no}",
            details={
                "request_id": change.id,
                "field": change.field,
                "old": change.old_value,
                "new": change.new_value,
                "effective_from": change.effective_from.isoformat(),
            },
        )
        applied.append(get_change(conn, change.id))
    return applied


def value_in_force(conn: Connection, merchant_id: int, field: str, at: datetime) -> str:
    """The value of ``field`` on ``at``: the latest approved change effective by then, else the record.

    Applied and approved-but-future changes both count, so the answer is right for any date
    whether or not :func:`apply_due_changes` has run yet.
    """
    if field not in CHANGEABLE_FIELDS:
        raise ChangeRequestError("field {field} is not tracked", field=field)
    changes = (
        conn.execute(
            select(merchant_change_requests)
            .where(
                merchant_change_requests.c.merchant_id == merchant_id,
                merchant_change_requests.c.field == field,
                merchant_change_requests.c.status.in_(("approved", "applied")),
            )
            .order_by(merchant_change_requests.c.effective_from, merchant_change_requests.c.id)
        )
        .mappings()
        .all()
    )
    past = [c for c in changes if c["effective_from"] <= at]
    if past:
        return str(past[-1]["new_value"])
    if changes:
        return str(changes[0]["old_value"])  # before the first change: what it replaced
    row = conn.execute(select(merchants.c[field]).where(merchants.c.id == merchant_id)).first()
    if row is None:
        raise ChangeRequestError(f"no merchant {merchant_id}")
    return str(row[0])


def settlement_account_in_force(conn: Connection, merchant_id: int, at: datetime) -> SettlementAccount:
    """Where a payout with value date ``at`` must go."""
    return SettlementAccount(
        account_no=value_in_force(conn, merchant_id, "settlement_account", at),
        bank=value_in_force(conn, merchant_id, "settlement_bank", at),
        account_name=value_in_force(conn, merchant_id, "name", at),
    )


def list_changes(
    conn: Connection, *, merchant_id: int | None = None, status: str | None = None
) -> list[ChangeRequest]:
    query = select(merchant_change_requests).order_by(merchant_change_requests.c.id)
    if merchant_id is not None:
        query = query.where(merchant_change_requests.c.merchant_id == merchant_id)
    if status is not None:
        query = query.where(merchant_change_requests.c.status == status)
    return [ChangeRequest(**dict(r)) for r in conn.execute(query).mappings()]
