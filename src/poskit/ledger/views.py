"""One transaction as the acquirer sees it: amount, fee with its formula, net, status, settlement.

Used by ``poskit transactions show`` and by the portal's transaction page. Amounts are
given both as display strings in major units (``"1234.50"``) and in minor units
(``*_minor``); no clear card data is ever included (only the masked PAN).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.engine import Connection

from poskit.ledger.directory import merchant_info
from poskit.ledger.negation import DEPENDENT_TYPES
from poskit.ledger.payouts import payout_of_item
from poskit.money import Amount
from poskit.signature_rule import UNSIGNED_STATUSES
from poskit.store.schema import fee_lines, journal_entries, ledger_accounts, ledger_entries, transactions
from poskit.store.schema_ledger import disputes, flags, settlement_items
from poskit.store.schema_terminal_day import signatures

__all__ = ["TransactionNotFoundError", "describe_transaction"]


class TransactionNotFoundError(LookupError):
    def __init__(self, rrn: str) -> None:
        super().__init__(f"no transaction with RRN {rrn!r}")
        self.rrn = rrn


def describe_transaction(conn: Connection, *, rrn: str) -> dict[str, Any]:
    """Everything about the transaction with retrieval reference ``rrn``."""
    txn = conn.execute(select(transactions).where(transactions.c.rrn == rrn.strip())).mappings().first()
    if txn is None:
        raise TransactionNotFoundError(rrn)
    cur = txn["currency"]

    def money(minor: int) -> str:
        return Amount.of(minor, cur).plain()

    journals = []
    payable_total = 0
    # its own journals and those of the voids/cancels that undo it
    undoers = select(transactions.c.id).where(
        transactions.c.original_id == txn["id"], transactions.c.txn_type.in_(DEPENDENT_TYPES)
    )
    for j in conn.execute(
        select(journal_entries)
        .where(
            or_(journal_entries.c.transaction_id == txn["id"], journal_entries.c.transaction_id.in_(undoers))
        )
        .order_by(journal_entries.c.id)
    ).mappings():
        entries = conn.execute(
            select(ledger_accounts.c.code, ledger_entries.c.amount)
            .select_from(ledger_entries.join(ledger_accounts))
            .where(ledger_entries.c.journal_id == j["id"])
            .order_by(ledger_entries.c.id)
        ).all()
        payable_total += sum(int(e.amount) for e in entries if e.code.startswith("merchant_payable:"))
        journals.append(
            {
                "id": j["id"],
                "key": j["idempotency_key"],
                "kind": j["kind"],
                "posted_at": j["posted_at"].isoformat(),
                "description": j["description"],
                "entries": [{"account": e.code, "amount": money(int(e.amount))} for e in entries],
            }
        )
    journal_keys = {j["id"]: j["key"] for j in journals}
    # undone own journals: negated by key, or mirrored by a void that still stands
    standing_voids = {
        int(v)
        for v in conn.execute(
            select(transactions.c.id).where(
                transactions.c.original_id == txn["id"],
                transactions.c.txn_type.in_(DEPENDENT_TYPES),
                transactions.c.status.not_in(("reversed", "declined")),
            )
        ).scalars()
    }
    keys = [j["key"] for j in journals]
    undone_journals = {
        j["id"]
        for j in journals
        if any(k.startswith(f"{j['key']}:negated-by:") for k in keys)
        or any(
            k.startswith(f"txn:{v}:") and k.endswith(f":{j['id']}") and ":negated-by:" not in k
            for v in standing_voids
            for k in keys
        )
    }
    lines = []
    fee_total = 0
    outside = 0  # fees charged by journals of their own (D0): they reduce the net too
    for f in conn.execute(
        select(fee_lines).where(fee_lines.c.transaction_id == txn["id"]).order_by(fee_lines.c.id)
    ).mappings():
        returned = f["journal_id"] in undone_journals
        if not returned:
            fee_total += int(f["amount"])
            if f["journal_id"] not in journal_keys:
                outside += int(f["amount"])
        lines.append(
            {
                "id": f["id"],
                "rule": f["rule"],
                "base": money(int(f["base"])),
                "fee": money(int(f["amount"])),
                "formula": f["formula"],
                "schedule_version": f["schedule_version"],
                "status": "returned" if returned else "charged",
            }
        )
    mdr = next((line for line in lines if line["rule"] != "d0_settlement"), None)
    items = (
        conn.execute(
            select(settlement_items)
            .where(settlement_items.c.transaction_id == txn["id"])
            .order_by(settlement_items.c.id)
        )
        .mappings()
        .all()
    )
    if items:
        first = items[0]
        paid_by = [payout_of_item(conn, i) for i in items]
        payout = paid_by[0]
        settlement: dict[str, Any] = {
            "status": "paid" if payout is not None else "settled",
            "business_date": first["business_date"],
            "mode": first["mode"],
            "payout_id": payout.id if payout else None,
            "value_at": payout.value_at.isoformat() if payout else None,
            "account": f"****{payout.account_no[-4:]}" if payout else None,
            "items": [
                {
                    "journal_id": i["journal_id"],
                    "kind": i["kind"],
                    "net": money(int(i["net"])),
                    "business_date": i["business_date"],
                    "payout_id": p.id if p else None,
                }
                for i, p in zip(items, paid_by, strict=True)
            ],
        }
    elif journals and any(k["key"].startswith("txn:") for k in journals):
        settlement = {"status": "pending", "business_date": None, "mode": None, "payout_id": None}
    else:
        settlement = {"status": "none", "business_date": None, "mode": None, "payout_id": None}
    merchant = merchant_info(conn, int(txn["merchant_id"])) if txn["merchant_id"] is not None else None
    related = [
        {"id": d["id"], "kind": d["kind"], "status": d["status"], "amount": money(int(d["amount"]))}
        for d in conn.execute(select(disputes).where(disputes.c.transaction_id == txn["id"])).mappings()
    ]
    raised = [
        {"id": f["id"], "kind": f["kind"], "status": f["status"], "summary": f["summary"]}
        for f in conn.execute(select(flags).where(flags.c.transaction_id == txn["id"])).mappings()
    ]
    signed = (
        conn.execute(
            select(signatures.c.id).where(
                signatures.c.transaction_id == txn["id"], signatures.c.complete.is_(True)
            )
        ).first()
        is not None
    )
    required = bool(txn["signature_required"])
    amount = int(txn["amount"])
    net = -payable_total - outside if journals else 0
    return {
        "rrn": txn["rrn"],
        "transaction_id": txn["id"],
        "txn_type": txn["txn_type"],
        "status": txn["status"],
        "response_code": txn["response_code"],
        "auth_code": txn["auth_code"],
        "received_at": txn["received_at"].isoformat(),
        "terminal_id": txn["terminal_id"],
        "merchant_no": merchant.merchant_no if merchant else None,
        "merchant_name": merchant.name if merchant else None,
        "mcc": txn["mcc"],
        "batch_no": txn["batch_no"],
        "voucher_no": f"{txn['stan']:06d}",
        "card": {
            "pan": txn["pan_masked"],
            "scheme": txn["card_scheme"],
            "funding": txn["funding"],
            "origin": txn["origin"],
            "entry_mode": txn["entry_mode"],
        },
        "currency": cur,
        "amount": money(amount),
        "amount_minor": amount,
        "fee": money(fee_total),
        "fee_minor": fee_total,
        "fee_formula": mdr["formula"] if mdr else None,
        "net": money(net),
        "net_minor": net,
        "settlement": settlement,
        "fee_lines": lines,
        "journals": journals,
        "disputes": related,
        "flags": raised,
        # the host's stored answer of the signature rule; outstanding = on the 补签 lists
        "signature": {
            "required": required,
            "signed": signed,
            "outstanding": required and not signed and txn["status"] in UNSIGNED_STATUSES,
        },
    }
