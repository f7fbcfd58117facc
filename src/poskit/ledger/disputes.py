"""Disputes (乱扣费追回) and chargebacks, each with its whole timeline.

Merchant disputes: a merchant (in the portal or ``poskit disputes open``) disputes a fee
line or a transaction; the fee audit can open them itself from its findings. Acquirer
staff take it under review and resolve it. An upheld dispute posts a refund journal to
the merchant's payable account — fee disputes out of fee income, transaction disputes out
of merchant adjustments — so the next payout carries the money.

Chargebacks come from the issuer: a retrieval request (copy of the receipt), then the
chargeback itself, which moves the amount from the merchant's payable into a dispute
hold; the acquirer represents with the signed receipt (the reason merchants keep
signatures) or a PIN-verified record; the issuer's result releases the hold to the
merchant (won) or pays it back to the issuer (lost).

Portal helper API: :func:`open_dispute`, :func:`review`, :func:`resolve`, :func:`add_note`,
:func:`get_dispute`, :func:`list_for_merchant`, :func:`timeline`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from poskit.ledger.accounts import (
    acquirer_adjustments,
    acquirer_fee_income,
    dispute_holds,
    merchant_payable,
    payouts_clearing,
)
from poskit.ledger.directory import merchant_info
from poskit.ledger.posting import Line, post_journal
from poskit.money import Amount
from poskit.store.db import inserted_id
from poskit.store.schema import fee_lines, transactions
from poskit.store.schema_ledger import dispute_events, disputes
from poskit.store.schema_terminal_day import signatures

__all__ = [
    "CHARGEBACK_RESPONSE_DAYS",
    "Dispute",
    "DisputeError",
    "DisputeEvent",
    "accept_chargeback",
    "add_note",
    "fulfil_retrieval",
    "get_dispute",
    "list_disputes",
    "list_for_merchant",
    "open_dispute",
    "open_disputes_from_findings",
    "receive_chargeback",
    "receive_retrieval_request",
    "record_chargeback_result",
    "represent",
    "resolve",
    "review",
    "review_days",
    "timeline",
]

#: Days the merchant has to answer a retrieval request or represent a chargeback.
CHARGEBACK_RESPONSE_DAYS = 10

_OPEN = ("open", "under_review")
_CHARGEBACK_OPEN = ("retrieval_request", "retrieval_fulfilled", "chargeback", "represented")


class DisputeError(ValueError):
    """A dispute action that is not possible in the dispute's state or with these inputs."""

    def __init__(self, reason: str, *, dispute_id: int | None = None, **params: Any) -> None:
        text = reason.format(**params) if params else reason
        super().__init__(f"dispute {dispute_id}: {text}" if dispute_id is not None else text)
        self.reason = text
        #: The reason as a message id with its parameters (amounts as Amount), for the portal to translate.
        self.message_id = reason
        self.params = params
        self.dispute_id = dispute_id


@dataclasses.dataclass(frozen=True, slots=True)
class DisputeEvent:
    at: datetime
    actor: str
    action: str
    note: str
    details: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "at": self.at.isoformat()}


@dataclasses.dataclass(frozen=True, slots=True)
class Dispute:
    id: int
    merchant_id: int
    merchant_no: str
    kind: str  # fee | transaction | chargeback
    status: str
    source: str
    transaction_id: int | None
    rrn: str | None
    fee_line_id: int | None
    finding_key: str | None
    reason: str
    reason_code: str
    amount: int
    currency: str
    resolved_amount: int | None
    opened_by: str
    opened_at: datetime
    due_at: datetime | None
    updated_at: datetime
    resolved_at: datetime | None
    hold_journal_id: int | None
    resolution_journal_id: int | None
    timeline: tuple[DisputeEvent, ...]

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, datetime):
                value = value.isoformat()
            data[f.name] = value
        data["timeline"] = [e.to_json() for e in self.timeline]
        data["amount_display"] = Amount.of(self.amount, self.currency).plain()
        return data


def review_days(currency: str) -> timedelta:
    """How long acquirer staff have to resolve a merchant dispute.

    Nigeria: PoS disputes within 72 hours (CBN, 2020-06-08; domain notes §4); elsewhere the
    acquirer's own service level of seven days.
    """
    return timedelta(hours=72) if currency == "NGN" else timedelta(days=7)


def timeline(conn: Connection, dispute_id: int) -> list[DisputeEvent]:
    rows = conn.execute(
        select(dispute_events)
        .where(dispute_events.c.dispute_id == dispute_id)
        .order_by(dispute_events.c.at, dispute_events.c.id)
    ).mappings()
    return [DisputeEvent(r["at"], r["actor"], r["action"], r["note"], dict(r["details"])) for r in rows]


def get_dispute(conn: Connection, dispute_id: int) -> Dispute:
    row = (
        conn.execute(
            select(disputes, transactions.c.rrn)
            .select_from(disputes.outerjoin(transactions, transactions.c.id == disputes.c.transaction_id))
            .where(disputes.c.id == dispute_id)
        )
        .mappings()
        .first()
    )
    if row is None:
        raise DisputeError("no such dispute", dispute_id=dispute_id)
    merchant = merchant_info(conn, int(row["merchant_id"]))
    values = {f.name: row[f.name] for f in dataclasses.fields(Dispute) if f.name in row}
    return Dispute(
        **{**values, "merchant_no": merchant.merchant_no, "timeline": tuple(timeline(conn, dispute_id))}
    )


def _event(
    conn: Connection,
    dispute_id: int,
    *,
    at: datetime,
    actor: str,
    action: str,
    note: str = "",
    details: dict[str, Any] | None = None,
) -> None:
    conn.execute(
        insert(dispute_events).values(
            dispute_id=dispute_id, at=at, actor=actor, action=action, note=note[:500], details=details or {}
        )
    )


def _update(conn: Connection, dispute_id: int, **values: Any) -> None:
    conn.execute(update(disputes).where(disputes.c.id == dispute_id).values(**values))


def open_dispute(
    conn: Connection,
    *,
    merchant_id: int,
    reason: str,
    opened_by: str,
    fee_line_id: int | None = None,
    transaction_id: int | None = None,
    amount: int | None = None,
    source: str = "merchant",
    finding_key: str | None = None,
    evidence: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> Dispute:
    """Open a dispute on a fee line (kind ``fee``) or a transaction (kind ``transaction``).

    The amount defaults to the fee line's amount or the transaction amount. A dispute opened
    for an audit finding (``finding_key``) is opened once; asking again returns it.
    """
    at = now or datetime.now(UTC)
    if finding_key is not None:
        found = conn.execute(select(disputes.c.id).where(disputes.c.finding_key == finding_key)).scalar()
        if found is not None:
            return get_dispute(conn, int(found))
    if (fee_line_id is None) == (transaction_id is None):
        raise DisputeError("name exactly one fee line or one transaction")
    if not reason.strip():
        raise DisputeError("a dispute needs a reason")
    merchant = merchant_info(conn, merchant_id)
    details: dict[str, Any] = dict(evidence or {})
    if fee_line_id is not None:
        line = conn.execute(select(fee_lines).where(fee_lines.c.id == fee_line_id)).mappings().first()
        if line is None or line["merchant_id"] != merchant_id:
            raise DisputeError(f"fee line {fee_line_id} is not a fee of merchant {merchant.merchant_no}")
        kind, currency, claimed = (
            "fee",
            line["currency"],
            amount if amount is not None else int(line["amount"]),
        )
        transaction_id = line["transaction_id"]
        details.setdefault(
            "fee_line", {"id": fee_line_id, "formula": line["formula"], "amount": line["amount"]}
        )
        if claimed > int(line["amount"]):
            raise DisputeError(
                "claimed {claimed} is more than the fee line's {fee}",
                claimed=Amount.of(claimed, currency),
                fee=Amount.of(int(line["amount"]), currency),
            )
    else:
        txn = conn.execute(select(transactions).where(transactions.c.id == transaction_id)).mappings().first()
        if txn is None or txn["merchant_id"] != merchant_id:
            raise DisputeError(
                f"transaction {transaction_id} is not a transaction of merchant {merchant.merchant_no}"
            )
        kind, currency, claimed = (
            "transaction",
            txn["currency"],
            amount if amount is not None else int(txn["amount"]),
        )
        details.setdefault("transaction", {"id": transaction_id, "rrn": txn["rrn"], "amount": txn["amount"]})
    if claimed <= 0:
        raise DisputeError("the disputed amount must be positive")
    dispute_id = inserted_id(
        conn.execute(
            insert(disputes).values(
                merchant_id=merchant_id,
                kind=kind,
                status="open",
                source=source,
                transaction_id=transaction_id,
                fee_line_id=fee_line_id if kind == "fee" else None,
                finding_key=finding_key,
                reason=reason.strip()[:200],
                amount=claimed,
                currency=currency,
                opened_by=opened_by,
                opened_at=at,
                due_at=at + review_days(currency),
                updated_at=at,
            )
        )
    )
    _event(conn, dispute_id, at=at, actor=opened_by, action="opened", note=reason, details=details)
    return get_dispute(conn, dispute_id)


def add_note(
    conn: Connection,
    dispute_id: int,
    *,
    actor: str,
    note: str,
    details: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> Dispute:
    """Add a comment or a piece of evidence to the timeline."""
    at = now or datetime.now(UTC)
    get_dispute(conn, dispute_id)
    _event(conn, dispute_id, at=at, actor=actor, action="note", note=note, details=details)
    _update(conn, dispute_id, updated_at=at)
    return get_dispute(conn, dispute_id)


def review(
    conn: Connection, dispute_id: int, *, reviewer: str, note: str = "", now: datetime | None = None
) -> Dispute:
    """Acquirer staff take an open merchant dispute under review."""
    at = now or datetime.now(UTC)
    dispute = get_dispute(conn, dispute_id)
    if dispute.kind == "chargeback" or dispute.status != "open":
        raise DisputeError(
            "cannot review a {kind} dispute that is {status}",
            dispute_id=dispute_id,
            kind=dispute.kind,
            status=dispute.status,
        )
    _update(conn, dispute_id, status="under_review", updated_at=at)
    _event(conn, dispute_id, at=at, actor=reviewer, action="under_review", note=note)
    return get_dispute(conn, dispute_id)


def resolve(
    conn: Connection,
    dispute_id: int,
    *,
    reviewer: str,
    upheld: bool,
    amount: int | None = None,
    note: str = "",
    now: datetime | None = None,
) -> Dispute:
    """Uphold (refund ``amount``, default the disputed amount) or reject a merchant dispute.

    The refund journal credits the merchant's payable, so the next payout carries it.
    """
    at = now or datetime.now(UTC)
    dispute = get_dispute(conn, dispute_id)
    if dispute.kind == "chargeback" or dispute.status not in _OPEN:
        raise DisputeError(
            "cannot resolve a {kind} dispute that is {status}",
            dispute_id=dispute_id,
            kind=dispute.kind,
            status=dispute.status,
        )
    if not upheld:
        _update(conn, dispute_id, status="rejected", resolved_amount=0, resolved_at=at, updated_at=at)
        _event(conn, dispute_id, at=at, actor=reviewer, action="rejected", note=note)
        return get_dispute(conn, dispute_id)
    refund = dispute.amount if amount is None else amount
    if not 0 < refund <= dispute.amount:
        raise DisputeError(
            "refund {refund} must be more than nothing and at most the disputed {disputed}",
            dispute_id=dispute_id,
            refund=Amount.of(refund, dispute.currency),
            disputed=Amount.of(dispute.amount, dispute.currency),
        )
    merchant = merchant_info(conn, dispute.merchant_id)
    source = acquirer_fee_income if dispute.kind == "fee" else acquirer_adjustments
    journal_id = post_journal(
        conn,
        key=f"dispute:{dispute_id}:refund",
        kind="dispute_refund",
        currency=dispute.currency,
        merchant_id=dispute.merchant_id,
        transaction_id=dispute.transaction_id,
        now=at,
        description=f"refund of upheld dispute {dispute_id}: {dispute.reason}"[:200],
        lines=[
            Line(source(dispute.currency), refund),
            Line(merchant_payable(dispute.merchant_id, merchant.merchant_no, dispute.currency), -refund),
        ],
    )
    _update(
        conn,
        dispute_id,
        status="upheld",
        resolved_amount=refund,
        resolution_journal_id=journal_id,
        resolved_at=at,
        updated_at=at,
    )
    _event(
        conn,
        dispute_id,
        at=at,
        actor=reviewer,
        action="upheld",
        note=note,
        details={"refund": refund, "journal_id": journal_id, "carried_by": "next payout"},
    )
    return get_dispute(conn, dispute_id)


def list_disputes(
    conn: Connection,
    *,
    merchant_id: int | None = None,
    status: str | None = None,
    kind: str | None = None,
) -> list[Dispute]:
    query = select(disputes.c.id).order_by(disputes.c.id.desc())
    if merchant_id is not None:
        query = query.where(disputes.c.merchant_id == merchant_id)
    if status is not None:
        query = query.where(disputes.c.status == status)
    if kind is not None:
        query = query.where(disputes.c.kind == kind)
    return [get_dispute(conn, int(i)) for i in conn.execute(query).scalars()]


def list_for_merchant(conn: Connection, merchant_id: int, *, status: str | None = None) -> list[Dispute]:
    """The merchant's disputes and chargebacks, newest first, each with its timeline."""
    return list_disputes(conn, merchant_id=merchant_id, status=status)


def open_disputes_from_findings(
    conn: Connection, findings: Iterable[Any], *, actor: str = "fee-audit", now: datetime | None = None
) -> list[Dispute]:
    """Open one dispute per audit finding still owed (idempotent by the finding's key)."""
    opened = []
    for f in findings:
        if f.owed <= 0:
            continue
        opened.append(
            open_dispute(
                conn,
                merchant_id=f.merchant_id,
                fee_line_id=f.fee_line_id,
                amount=f.owed,
                reason=f"fee audit: {f.message}",
                opened_by=actor,
                source="audit",
                finding_key=f.key,
                evidence={"finding": {"kind": f.kind, "key": f.key, **f.evidence}},
                now=now,
            )
        )
    return opened


# --- chargebacks -------------------------------------------------------------------------------
def _chargeback_for(conn: Connection, transaction_id: int) -> int | None:
    found = conn.execute(
        select(disputes.c.id).where(
            disputes.c.transaction_id == transaction_id,
            disputes.c.kind == "chargeback",
            disputes.c.status.in_(_CHARGEBACK_OPEN),
        )
    ).scalar()
    return int(found) if found is not None else None


def _approved_txn(conn: Connection, transaction_id: int) -> Any:
    txn = conn.execute(select(transactions).where(transactions.c.id == transaction_id)).mappings().first()
    if txn is None or txn["merchant_id"] is None:
        raise DisputeError(f"no transaction {transaction_id}")
    if txn["response_code"] != "00":
        raise DisputeError(f"transaction {transaction_id} was not approved")
    return txn


def _open_chargeback(
    conn: Connection, txn: Any, *, status: str, amount: int, reason_code: str, reference: str, at: datetime
) -> int:
    return inserted_id(
        conn.execute(
            insert(disputes).values(
                merchant_id=txn["merchant_id"],
                kind="chargeback",
                status=status,
                source="issuer",
                transaction_id=txn["id"],
                reason=f"issuer {status.replace('_', ' ')} {reference}".strip()[:200],
                reason_code=reason_code[:8],
                amount=amount,
                currency=txn["currency"],
                opened_by="issuer",
                opened_at=at,
                due_at=at + timedelta(days=CHARGEBACK_RESPONSE_DAYS),
                updated_at=at,
            )
        )
    )


def receive_retrieval_request(
    conn: Connection,
    *,
    transaction_id: int,
    reason_code: str,
    issuer_reference: str = "",
    now: datetime | None = None,
) -> Dispute:
    """The issuer asks for a copy of the receipt (no money moves yet)."""
    at = now or datetime.now(UTC)
    txn = _approved_txn(conn, transaction_id)
    existing = _chargeback_for(conn, transaction_id)
    if existing is not None:
        return get_dispute(conn, existing)
    dispute_id = _open_chargeback(
        conn,
        txn,
        status="retrieval_request",
        amount=int(txn["amount"]),
        reason_code=reason_code,
        reference=issuer_reference,
        at=at,
    )
    _event(
        conn,
        dispute_id,
        at=at,
        actor="issuer",
        action="retrieval_request",
        note=f"reason {reason_code} {issuer_reference}".strip(),
    )
    return get_dispute(conn, dispute_id)


def _receipt_evidence(conn: Connection, transaction_id: int, extra: dict[str, Any] | None) -> dict[str, Any]:
    evidence: dict[str, Any] = dict(extra or {})
    sig = conn.execute(
        select(signatures.c.id, signatures.c.rrn, signatures.c.uploaded_at, signatures.c.source)
        .where(signatures.c.transaction_id == transaction_id, signatures.c.complete.is_(True))
        .order_by(signatures.c.id.desc())
        .limit(1)
    ).first()
    if sig is not None:
        evidence["signed_receipt"] = {
            "signature_id": sig.id,
            "rrn": sig.rrn,
            "uploaded_at": sig.uploaded_at.isoformat(),
            "source": sig.source,
        }
    txn = conn.execute(
        select(transactions.c.pin_entered, transactions.c.entry_mode).where(
            transactions.c.id == transaction_id
        )
    ).first()
    if txn is not None and txn.pin_entered:
        evidence["pin_verified"] = True
        evidence["entry_mode"] = txn.entry_mode
    return evidence


def fulfil_retrieval(
    conn: Connection,
    dispute_id: int,
    *,
    actor: str,
    evidence: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> Dispute:
    """Send the issuer the receipt copy (the signed receipt when there is one)."""
    at = now or datetime.now(UTC)
    dispute = get_dispute(conn, dispute_id)
    if dispute.status != "retrieval_request" or dispute.transaction_id is None:
        raise DisputeError(
            "no open retrieval request (status {status})", dispute_id=dispute_id, status=dispute.status
        )
    details = _receipt_evidence(conn, dispute.transaction_id, evidence)
    _update(conn, dispute_id, status="retrieval_fulfilled", updated_at=at)
    _event(conn, dispute_id, at=at, actor=actor, action="retrieval_fulfilled", details=details)
    return get_dispute(conn, dispute_id)


def receive_chargeback(
    conn: Connection,
    *,
    transaction_id: int,
    reason_code: str,
    amount: int | None = None,
    issuer_reference: str = "",
    now: datetime | None = None,
) -> Dispute:
    """The issuer charges the transaction back: the amount moves from the merchant's payable into
    a dispute hold until the outcome is known."""
    at = now or datetime.now(UTC)
    txn = _approved_txn(conn, transaction_id)
    held = int(txn["amount"]) if amount is None else amount
    if not 0 < held <= int(txn["amount"]):
        raise DisputeError(
            f"chargeback amount {held} must be between 1 and the transaction amount {txn['amount']}"
        )
    dispute_id = _chargeback_for(conn, transaction_id)
    if dispute_id is None:
        dispute_id = _open_chargeback(
            conn,
            txn,
            status="chargeback",
            amount=held,
            reason_code=reason_code,
            reference=issuer_reference,
            at=at,
        )
    else:
        current = get_dispute(conn, dispute_id)
        if current.status not in ("retrieval_request", "retrieval_fulfilled"):
            return current  # the chargeback was already received
    merchant = merchant_info(conn, int(txn["merchant_id"]))
    currency = txn["currency"]
    journal_id = post_journal(
        conn,
        key=f"dispute:{dispute_id}:hold",
        kind="chargeback_hold",
        currency=currency,
        merchant_id=merchant.id,
        transaction_id=transaction_id,
        now=at,
        description=f"chargeback {reason_code} on {txn['rrn']}: funds held",
        lines=[
            Line(merchant_payable(merchant.id, merchant.merchant_no, currency), held),
            Line(dispute_holds(merchant.id, merchant.merchant_no, currency), -held),
        ],
    )
    _update(
        conn,
        dispute_id,
        status="chargeback",
        amount=held,
        reason_code=reason_code[:8],
        hold_journal_id=journal_id,
        due_at=at + timedelta(days=CHARGEBACK_RESPONSE_DAYS),
        updated_at=at,
    )
    _event(
        conn,
        dispute_id,
        at=at,
        actor="issuer",
        action="chargeback",
        note=f"reason {reason_code} {issuer_reference}".strip(),
        details={"held": held, "journal_id": journal_id},
    )
    return get_dispute(conn, dispute_id)


def represent(
    conn: Connection,
    dispute_id: int,
    *,
    actor: str,
    evidence: dict[str, Any] | None = None,
    note: str = "",
    now: datetime | None = None,
) -> Dispute:
    """Answer a chargeback with evidence: the signed receipt (found automatically), a PIN-verified
    record, or what ``evidence`` adds. Without any evidence there is nothing to represent."""
    at = now or datetime.now(UTC)
    dispute = get_dispute(conn, dispute_id)
    if dispute.kind != "chargeback" or dispute.status != "chargeback" or dispute.transaction_id is None:
        raise DisputeError(
            "no chargeback to represent (status {status})", dispute_id=dispute_id, status=dispute.status
        )
    details = _receipt_evidence(conn, dispute.transaction_id, evidence)
    if not details:
        raise DisputeError(
            "no signed receipt, PIN verification or other evidence to represent with", dispute_id=dispute_id
        )
    _update(conn, dispute_id, status="represented", updated_at=at)
    _event(conn, dispute_id, at=at, actor=actor, action="represented", note=note, details=details)
    return get_dispute(conn, dispute_id)


def _close_chargeback(
    conn: Connection, dispute: Dispute, *, merchant_won: bool, actor: str, note: str, at: datetime
) -> Dispute:
    merchant = merchant_info(conn, dispute.merchant_id)
    currency = dispute.currency
    hold = dispute_holds(merchant.id, merchant.merchant_no, currency)
    if merchant_won:
        target = merchant_payable(merchant.id, merchant.merchant_no, currency)
        key, kind, text = (
            f"dispute:{dispute.id}:release",
            "chargeback_release",
            "hold released to the merchant",
        )
    else:
        target = payouts_clearing(currency)
        key, kind, text = f"dispute:{dispute.id}:debit", "chargeback_debit", "returned to the issuer"
    journal_id = post_journal(
        conn,
        key=key,
        kind=kind,
        currency=currency,
        merchant_id=merchant.id,
        transaction_id=dispute.transaction_id,
        now=at,
        description=f"chargeback {dispute.id}: {text}",
        lines=[Line(hold, dispute.amount), Line(target, -dispute.amount)],
    )
    status = "won" if merchant_won else "lost"
    _update(
        conn,
        dispute.id,
        status=status,
        resolved_amount=0 if merchant_won else dispute.amount,
        resolution_journal_id=journal_id,
        resolved_at=at,
        updated_at=at,
    )
    _event(
        conn,
        dispute.id,
        at=at,
        actor=actor,
        action=status,
        note=note or text,
        details={"journal_id": journal_id, "amount": dispute.amount},
    )
    return get_dispute(conn, dispute.id)


def record_chargeback_result(
    conn: Connection,
    dispute_id: int,
    *,
    merchant_won: bool,
    actor: str = "issuer",
    note: str = "",
    now: datetime | None = None,
) -> Dispute:
    """The issuer's decision on a represented chargeback (or a chargeback left unanswered)."""
    at = now or datetime.now(UTC)
    dispute = get_dispute(conn, dispute_id)
    if dispute.kind != "chargeback" or dispute.status not in ("chargeback", "represented"):
        raise DisputeError(
            "no chargeback awaiting a result (status {status})", dispute_id=dispute_id, status=dispute.status
        )
    return _close_chargeback(conn, dispute, merchant_won=merchant_won, actor=actor, note=note, at=at)


def accept_chargeback(
    conn: Connection, dispute_id: int, *, actor: str, now: datetime | None = None
) -> Dispute:
    """The merchant accepts the chargeback: the held amount goes back to the issuer."""
    at = now or datetime.now(UTC)
    dispute = get_dispute(conn, dispute_id)
    if dispute.kind != "chargeback" or dispute.status != "chargeback":
        raise DisputeError(
            "no chargeback to accept (status {status})", dispute_id=dispute_id, status=dispute.status
        )
    return _close_chargeback(
        conn, dispute, merchant_won=False, actor=actor, note="accepted by the merchant", at=at
    )
