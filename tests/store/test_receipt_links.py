"""E-receipt link tokens: 128 random bits, stored only as a digest, expiring, never an RRN."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, insert, select

from poskit.store.db import WRITE, inserted_id
from poskit.store.receipt_links import TOKEN_BYTES, issue_link, looks_like_token, resolve_link
from poskit.store.schema import transactions
from poskit.store.schema_receipts import receipt_links

NOW = datetime(2026, 12, 8, 9, 30, tzinfo=UTC)


def _sale(engine: Engine, rrn: str) -> int:
    with engine.connect().execution_options(**WRITE) as conn, conn.begin():
        return int(
            inserted_id(
                conn.execute(
                    insert(transactions).values(
                        terminal_id="TERM0001", mti="0200", txn_type="sale", stan=7, batch_no=1,
                        received_at=NOW, amount=1250, currency="CNY", response_code="00",
                        status="approved", rrn=rrn, response={},
                    )
                )
            )
        )  # fmt: skip


def test_a_link_opens_its_transaction_until_it_expires(engine: Engine) -> None:
    """The issued token resolves to its transaction; from its expiry on it is reported expired."""
    txn_id = _sale(engine, "634200000001")
    with engine.connect().execution_options(**WRITE) as conn, conn.begin():
        token = issue_link(conn, txn_id, now=NOW, lifetime=timedelta(days=180))
    with engine.connect() as conn:
        live = resolve_link(conn, token, now=NOW + timedelta(days=179))
        dead = resolve_link(conn, token, now=NOW + timedelta(days=180))
    assert live is not None and live.transaction_id == txn_id and not live.expired
    assert dead is not None and dead.expired
    assert live.expires_at == NOW + timedelta(days=180)


def test_only_the_digest_of_a_128_bit_token_is_stored(engine: Engine) -> None:
    """The token has 128 random bits (22 URL-safe characters); the row holds its SHA-256, not the token."""
    txn_id = _sale(engine, "634200000002")
    with engine.connect().execution_options(**WRITE) as conn, conn.begin():
        tokens = {issue_link(conn, txn_id, now=NOW) for _ in range(20)}
    assert TOKEN_BYTES * 8 >= 128 and len(tokens) == 20
    assert all(len(t) == 22 and looks_like_token(t) for t in tokens)
    with engine.connect() as conn:
        stored = [tuple(r) for r in conn.execute(select(receipt_links))]
    assert {row[1] for row in stored} == {hashlib.sha256(t.encode()).hexdigest() for t in tokens}
    assert not any(t in str(row) for row in stored for t in tokens)


def test_an_rrn_or_an_unknown_token_opens_nothing(engine: Engine) -> None:
    """The RRN, the transaction id and a well-formed token never issued all resolve to None."""
    rrn = "634200000003"
    txn_id = _sale(engine, rrn)
    with engine.connect().execution_options(**WRITE) as conn, conn.begin():
        issue_link(conn, txn_id, now=NOW)
    with engine.connect() as conn:
        for guess in (rrn, str(txn_id), "A" * 22, "", "../" * 8):
            assert resolve_link(conn, guess, now=NOW) is None, guess
    assert not looks_like_token(rrn)
