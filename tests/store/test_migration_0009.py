"""Migration 0009: transactions.signature_required, backfilled with the signature rule."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select

from poskit.store.db import make_engine
from poskit.store.migrate import head_revision, upgrade
from poskit.store.schema import transactions

_REVISION = "0009_signature_required"


@pytest.fixture
def before_0009(db_url: str) -> Iterator[Engine]:
    """A database at every head except 0009, as an installation before this revision."""
    eng = make_engine(db_url)
    for rev in sorted(head_revision() - {_REVISION}):
        upgrade(eng, rev)
    yield eng
    eng.dispose()


_ROWS: list[tuple[str, dict[str, Any], bool]] = [
    # (what, row, signature_required after the backfill)
    ("swiped sale without PIN", {"txn_type": "sale", "entry_mode": "swipe"}, True),
    ("swiped sale with PIN", {"txn_type": "sale", "entry_mode": "swipe", "pin_entered": True}, False),
    ("chip, offline PIN", {"txn_type": "sale", "entry_mode": "chip", "emv": {"9F34": "440302"}}, False),
    ("chip, signature CVM", {"txn_type": "sale", "entry_mode": "chip", "emv": {"9F34": "1E0300"}}, True),
    (
        "phone-verified QuickPass",
        {"txn_type": "sale", "entry_mode": "contactless_chip", "emv": {"9F34": "010002", "9F6C": "0080"}},
        False,
    ),
    ("small tap", {"txn_type": "sale", "entry_mode": "contactless_chip", "emv": {"9F34": "1F0002"}}, False),
    ("refund", {"txn_type": "refund", "entry_mode": "manual"}, True),
    ("void", {"txn_type": "void", "entry_mode": "manual"}, False),
    ("declined sale", {"txn_type": "sale", "entry_mode": "swipe", "status": "declined"}, False),
    ("voided sale keeps its flag", {"txn_type": "sale", "entry_mode": "swipe", "status": "voided"}, True),
]


def test_backfill_applies_the_rule_to_existing_rows(before_0009: Engine) -> None:
    """Rows stored before 0009 get the rule's answer from their type, PIN flag and stored 9F34/9F6C."""
    now = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
    with before_0009.begin() as conn:
        for stan, (_what, row, _needed) in enumerate(_ROWS, start=1):
            emv = row.get("emv")
            # only columns that exist before 0009 are named
            conn.execute(
                insert(transactions).values(
                    terminal_id="20000001",
                    mti="0200",
                    txn_type=row["txn_type"],
                    stan=stan,
                    batch_no=1,
                    received_at=now,
                    amount=10_000,
                    currency="CNY",
                    entry_mode=row["entry_mode"],
                    pin_entered=row.get("pin_entered", False),
                    response_code="05" if row.get("status") == "declined" else "00",
                    status=row.get("status", "approved"),
                    response={"response_code": "00", **({"emv": emv} if emv else {})},
                )
            )
    upgrade(before_0009, _REVISION)
    with before_0009.connect() as conn:
        got = dict(conn.execute(select(transactions.c.stan, transactions.c.signature_required)).all())
    assert {what: got[stan] for stan, (what, _row, _n) in enumerate(_ROWS, start=1)} == {
        what: needed for what, _row, needed in _ROWS
    }
