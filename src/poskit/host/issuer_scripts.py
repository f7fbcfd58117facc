"""Issuer scripts: actions the issuer wants a chip card to carry out at its next online transaction.

The issuer simulator queues an action for a card (PIN unblock, application block);
when that card next goes online with an ARQC, the host returns the script (template
72, secure-messaging MAC computed in the HSM from the card's SMI key) in field 55;
the terminal runs it after the second GENERATE AC and reports the result (DF31) in a
script advice (0620), which closes the action.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from poskit.emv.issuer import build_script, parse_script_results
from poskit.emv.secure_messaging import INS_APPLICATION_BLOCK, INS_PIN_CHANGE_UNBLOCK, script_command_with_mac
from poskit.emv.tlv import TlvError, decode_flat
from poskit.store.schema import issuer_cards, transactions
from poskit.store.schema_terminal_day import issuer_actions

__all__ = ["ACTIONS", "mark_sent", "pending_action", "queue_action", "record_script_results", "script_for"]

#: action -> (instruction, P1, P2, script identifier)
ACTIONS: dict[str, tuple[int, int, int, bytes]] = {
    "pin_unblock": (INS_PIN_CHANGE_UNBLOCK, 0x00, 0x00, b"\x00\x00\x00\x01"),
    "application_block": (INS_APPLICATION_BLOCK, 0x00, 0x00, b"\x00\x00\x00\x02"),
}


def queue_action(conn: Connection, card_id: int, action: str, *, now: datetime) -> int:
    if action not in ACTIONS:
        raise ValueError(f"unknown issuer action {action!r}; expected one of {', '.join(ACTIONS)}")
    result = conn.execute(
        insert(issuer_actions).values(
            issuer_card_id=card_id, action=action, status="pending", created_at=now, updated_at=now
        )
    )
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def pending_action(conn: Connection, card_id: int) -> Any:
    return (
        conn.execute(
            select(issuer_actions)
            .where(issuer_actions.c.issuer_card_id == card_id, issuer_actions.c.status == "pending")
            .order_by(issuer_actions.c.id)
        )
        .mappings()
        .first()
    )


def script_for(action: str, *, atc: bytes, arqc: bytes, mac: Callable[[bytes], bytes]) -> bytes:
    """Template 72 carrying the action's command, MAC'd by ``mac`` (the HSM)."""
    ins, p1, p2, script_id = ACTIONS[action]
    command = script_command_with_mac(ins, p1, p2, b"", mac=mac, atc=atc, arqc=arqc)
    return build_script([command], script_id=script_id)


def mark_sent(conn: Connection, action_id: int, *, now: datetime) -> None:
    conn.execute(
        update(issuer_actions).where(issuer_actions.c.id == action_id).values(status="sent", updated_at=now)
    )


def record_script_results(conn: Connection, rrn: str, icc_data: bytes, *, now: datetime) -> str:
    """Apply a script advice: the sent action of that transaction's card becomes done or failed."""
    txn = conn.execute(
        select(transactions.c.id, transactions.c.pan_hash).where(transactions.c.rrn == rrn)
    ).first()
    if txn is None:
        return "25"
    card_id = conn.execute(select(issuer_cards.c.id).where(issuer_cards.c.pan_hash == txn.pan_hash)).scalar()
    try:
        tags = decode_flat(icc_data)
    except TlvError:
        return "30"
    raw = tags.get("DF31") or tags.get("9F5B")
    results = parse_script_results(raw) if raw else []
    action = (
        conn.execute(
            select(issuer_actions)
            .where(issuer_actions.c.issuer_card_id == card_id, issuer_actions.c.status == "sent")
            .order_by(issuer_actions.c.id)
        )
        .mappings()
        .first()
    )
    if action is not None:
        ok = bool(results) and all(r.result == "successful" for r in results)
        summary = ", ".join(f"{r.script_id.hex()}:{r.result}" for r in results) or "no result"
        conn.execute(
            update(issuer_actions)
            .where(issuer_actions.c.id == action["id"])
            .values(
                status="done" if ok else "failed",
                sent_transaction_id=txn.id,
                result=summary[:60],
                updated_at=now,
            )
        )
    return "00"
