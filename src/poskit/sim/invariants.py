"""What must hold after every simulated run, whatever the faults did.

Each check returns a list of violations (empty when it holds), worded for the failure
report next to the seed that replays it.
"""

from __future__ import annotations

import collections
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, select

from poskit.cards.book import CARD_BOOK
from poskit.cards.magstripe import chip_track2_for, track2_for
from poskit.ledger.check import check_ledger
from poskit.store.schema import issuer_accounts, issuer_cards, transactions

if TYPE_CHECKING:
    from poskit.sim.world import SimTerminal

__all__ = [
    "INVARIANTS",
    "approvals_match_host",
    "clear_card_data_in",
    "issuer_balances_match",
    "ledger_clean",
]

INVARIANTS = (
    "approvals once at the host",
    "failures absent or reversed",
    "reversal applied once",
    "settlement balanced",
    "ledger check clean",
    "issuer balances",
    "no clear card data",
)

#: Terminal transactions that move a cardholder's money, and their sign for the issuer.
_MONEY = {"sale": -1, "refund": +1}


def clear_card_data_in(directory: Path) -> list[str]:
    """Files under ``directory`` holding any test-card PAN or track in clear (ASCII or packed BCD)."""
    needles: list[tuple[str, bytes]] = []
    for card in CARD_BOOK:
        bcd = card.pan + ("F" if len(card.pan) % 2 else "")
        needles += [
            (card.name, card.pan.encode()),
            (card.name, bytes.fromhex(bcd)),
            (card.name, bcd.encode()),
            (card.name, bcd.lower().encode()),
            (card.name, str(track2_for(card)).split("=", 1)[1].encode()),  # discretionary + CVV
            (card.name, str(chip_track2_for(card)).split("=", 1)[1].encode()),  # ... + iCVV
        ]
    found = []
    for path in sorted(directory.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            found += [f"{path.name}: {name}" for name, needle in needles if needle in data]
    return found


def _host_rows(engine: Engine) -> dict[tuple[str, int, int, str], list[dict[str, object]]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                transactions.c.terminal_id,
                transactions.c.batch_no,
                transactions.c.stan,
                transactions.c.txn_type,
                transactions.c.status,
                transactions.c.response_code,
                transactions.c.amount,
                transactions.c.signature_required,
            )
        ).mappings()
        out: dict[tuple[str, int, int, str], list[dict[str, object]]] = collections.defaultdict(list)
        for r in rows:
            out[(r["terminal_id"], int(r["batch_no"]), int(r["stan"]), str(r["txn_type"]))].append(dict(r))
    return out


def approvals_match_host(engine: Engine, terminals: list[SimTerminal]) -> list[str]:
    """Every approval a terminal kept is at the host exactly once, still standing, with the same
    signature flag; every host approval still standing is one a terminal kept (anything else
    was reversed)."""
    problems: list[str] = []
    host = _host_rows(engine)
    kept: set[tuple[str, int, int, str]] = set()
    for t in terminals:
        for r in t.store.records():
            if r.response_code != "00":
                continue
            key = (t.terminal_id, r.batch_no, r.stan, r.txn_type)
            kept.add(key)
            rows = host.get(key, [])
            if len(rows) != 1:
                problems.append(f"{key}: terminal approved it, host has {len(rows)} rows")
            elif rows[0]["response_code"] != "00" or rows[0]["status"] == "reversed":
                problems.append(f"{key}: terminal approved it, host has it {rows[0]['status']}")
            elif rows[0]["amount"] != r.amount:
                problems.append(f"{key}: terminal {r.amount}, host {rows[0]['amount']}")
            elif bool(rows[0]["signature_required"]) != r.signature_required:
                # one rule on one request: the terminal's 补签 list and the portal's must agree
                problems.append(
                    f"{key}: signature required at the terminal {r.signature_required}, "
                    f"at the host {bool(rows[0]['signature_required'])}"
                )
    for key, rows in host.items():
        standing = [r for r in rows if r["response_code"] == "00" and r["status"] != "reversed"]
        if standing and key not in kept and key[3] in ("sale", "refund", "void", "preauth", "completion"):
            problems.append(f"{key}: approved at the host ({standing[0]['status']}), failed at the terminal")
    return problems


def issuer_balances_match(
    engine: Engine, terminals: list[SimTerminal], pan_hash: dict[str, str]
) -> list[str]:
    """Each card's issuer balance is its opening balance minus what the terminals' records say."""
    expected = {card.name: card.balance for card in CARD_BOOK}
    by_hash = {digest: name for name, digest in pan_hash.items()}
    for t in terminals:
        for r in t.store.records():
            sign = _MONEY.get(r.txn_type)
            if sign is None or r.status != "approved" or not r.pan_token:
                continue
            pan = t.element.reveal_pan(r.pan_token)
            name = next((c.name for c in CARD_BOOK if c.pan == pan), None)
            if name is not None:
                expected[name] += sign * r.amount
    problems = []
    with engine.connect() as conn:
        rows = conn.execute(
            select(issuer_cards.c.pan_hash, issuer_accounts.c.balance).select_from(
                issuer_cards.join(issuer_accounts)
            )
        )
        for digest, balance in rows:
            name = by_hash.get(digest)
            if name is not None and int(balance) != expected[name]:
                problems.append(f"{name}: issuer balance {balance}, terminals' records say {expected[name]}")
    return problems


def ledger_clean(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        report = check_ledger(conn)
    return [f"{b.kind} {b.subject}: {b.detail}" for b in report.breaks]
