"""A small acquirer world for ledger tests, and helpers that record transactions the way the host does.

Imported by tests/ledger/conftest.py (which puts this folder on sys.path) and by the CLI tests.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Engine, insert, update
from sqlalchemy.engine import Connection

from poskit.ledger.events import (
    mirror_journals,
    negate_transaction,
    post_preauth_hold,
    post_refund,
    post_sale,
    price_transaction,
    release_preauth_hold,
)
from poskit.ledger.fees import FeeRule, create_schedule
from poskit.store.db import WRITE, inserted_id
from poskit.store.schema import acquirers, merchants, terminals, transactions

#: 10:00 in Shanghai on 2026-11-24.
NOW = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)

CAFE = "898310058120001"
NOODLE = "898310058140002"

#: The demo merchant contract (issue 6): debit 0.50% cap 20.00, credit 0.60%, foreign 2.50%, D0 2.00.
CONTRACT = [
    FeeRule("domestic_debit", "percent", "CNY", rate=Decimal("0.50"), cap=2000),
    FeeRule("domestic_credit", "percent", "CNY", rate=Decimal("0.60")),
    FeeRule("foreign", "percent", "CNY", rate=Decimal("2.50")),
    FeeRule("d0_settlement", "fixed", "CNY", fixed=200),
]


@dataclasses.dataclass(frozen=True)
class Txn:
    id: int
    rrn: str
    amount: int
    merchant_id: int


class World:
    """An acquirer in Asia/Shanghai with two merchants, their terminals and the demo contract."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._stan = itertools.count(1)
        with self.begin() as conn:
            self.acquirer_id = inserted_id(
                conn.execute(
                    insert(acquirers).values(
                        code="48020000",
                        name="Demo 收单",
                        country="156",
                        currency="CNY",
                        timezone="Asia/Shanghai",
                        created_at=NOW - timedelta(days=400),
                    )
                )
            )
            self.merchants: dict[str, int] = {}
            for no, name, mcc, account in (
                (CAFE, "快乐豆咖啡", "5812", "31050161393600000001"),
                (NOODLE, "幸运面馆", "5814", "31050161393600000002"),
            ):
                self.merchants[no] = inserted_id(
                    conn.execute(
                        insert(merchants).values(
                            acquirer_id=self.acquirer_id,
                            merchant_no=no,
                            name=name,
                            name_en=name,
                            mcc=mcc,
                            address="上海",
                            settlement_account=account,
                            settlement_bank="CCB",
                            currency="CNY",
                            created_at=NOW - timedelta(days=400),
                        )
                    )
                )
                create_schedule(
                    conn,
                    merchant_id=self.merchants[no],
                    version=1,
                    effective_from=datetime(2026, 1, 1, tzinfo=UTC),
                    rules=CONTRACT,
                    notified_at=datetime(2025, 12, 1, tzinfo=UTC),
                    now=NOW - timedelta(days=400),
                    description="standard contract",
                )
            for tid, no in (("10000001", CAFE), ("20000001", NOODLE)):
                conn.execute(
                    insert(terminals).values(
                        terminal_id=tid, merchant_id=self.merchants[no], created_at=NOW - timedelta(days=400)
                    )
                )

    @property
    def cafe(self) -> int:
        return self.merchants[CAFE]

    @property
    def noodle(self) -> int:
        return self.merchants[NOODLE]

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        with self.engine.connect().execution_options(**WRITE) as conn, conn.begin():
            yield conn

    def record(
        self,
        conn: Connection,
        amount: int,
        *,
        merchant: str = CAFE,
        funding: str = "credit",
        origin: str = "domestic",
        at: datetime = NOW,
        txn_type: str = "sale",
        terminal: str | None = None,
        batch: int = 1,
        mcc: str | None = None,
        post: bool = True,
        pin: bool = False,
        original_id: int | None = None,
        status: str = "approved",
        currency: str = "CNY",
    ) -> Txn:
        """Insert an approved transaction; for a sale or refund post its journal as the host does."""
        mid = self.merchants[merchant]
        stan = next(self._stan)
        tid = terminal or ("10000001" if merchant == CAFE else "20000001")
        txn_id = inserted_id(
            conn.execute(
                insert(transactions).values(
                    terminal_id=tid,
                    merchant_id=mid,
                    mti="0200",
                    txn_type=txn_type,
                    stan=stan,
                    batch_no=batch,
                    received_at=at,
                    amount=amount,
                    currency=currency,
                    pan_masked="622202******1234",
                    card_scheme="unionpay",
                    funding=funding,
                    origin=origin,
                    entry_mode="chip",
                    pin_entered=pin,
                    mcc=mcc or ("5812" if merchant == CAFE else "5814"),
                    response_code="00",
                    status=status,
                    original_id=original_id,
                    response={},
                )
            )
        )
        rrn = f"6328{txn_id:08d}"
        conn.execute(update(transactions).where(transactions.c.id == txn_id).values(rrn=rrn))
        if post and txn_type in ("sale", "completion"):
            quote = price_transaction(
                conn, merchant_id=mid, amount=amount, currency=currency, funding=funding, origin=origin, at=at
            )
            fee = quote.fee.minor if quote else 0
            conn.execute(update(transactions).where(transactions.c.id == txn_id).values(fee=fee))
            post_sale(
                conn,
                txn_id=txn_id,
                merchant_id=mid,
                merchant_no=merchant,
                amount=amount,
                currency=currency,
                quote=quote,
                at=at,
                description=f"{txn_type} {rrn}",
                kind=txn_type,
            )
        elif post and txn_type == "preauth":
            post_preauth_hold(
                conn,
                txn_id=txn_id,
                merchant_id=mid,
                amount=amount,
                currency=currency,
                at=at,
                description=f"preauth {rrn}",
            )
        elif post and txn_type == "refund":
            post_refund(
                conn,
                txn_id=txn_id,
                merchant_id=mid,
                merchant_no=merchant,
                amount=amount,
                currency=currency,
                at=at,
                description=f"refund {rrn}",
            )
        return Txn(txn_id, rrn, amount, mid)

    def sale(self, amount: int, **kwargs: object) -> Txn:
        with self.begin() as conn:
            return self.record(conn, amount, **kwargs)  # type: ignore[arg-type]

    def reverse(
        self, txn: Txn, *, at: datetime = NOW, reason: str = "reversal", status: str = "reversed"
    ) -> None:
        with self.begin() as conn:
            negate_transaction(conn, txn_id=txn.id, at=at, reason=reason)
            conn.execute(update(transactions).where(transactions.c.id == txn.id).values(status=status))

    def void(self, txn: Txn, *, at: datetime = NOW) -> Txn:
        """A void as the host records it: its own transaction mirroring the original's journals."""
        with self.begin() as conn:
            merchant = CAFE if txn.merchant_id == self.cafe else NOODLE
            void = self.record(
                conn, txn.amount, merchant=merchant, txn_type="void", at=at, post=False, original_id=txn.id
            )
            mirror_journals(conn, source_txn_id=txn.id, into_txn_id=void.id, reason="void", at=at)
            conn.execute(update(transactions).where(transactions.c.id == txn.id).values(status="voided"))
        return void

    def reverse_void(self, void: Txn, original: Txn, *, at: datetime = NOW) -> None:
        """A reversal of the void: its journals negated, the original approved again."""
        with self.begin() as conn:
            negate_transaction(conn, txn_id=void.id, at=at, reason="reversal")
            conn.execute(update(transactions).where(transactions.c.id == void.id).values(status="reversed"))
            conn.execute(
                update(transactions).where(transactions.c.id == original.id).values(status="approved")
            )

    def preauth(self, amount: int, *, at: datetime = NOW) -> Txn:
        with self.begin() as conn:
            return self.record(conn, amount, txn_type="preauth", status="authorized", at=at)

    def complete(self, preauth: Txn, amount: int, *, at: datetime = NOW) -> Txn:
        """Completion: releases the hold (attached to the completion) and posts a completion sale."""
        with self.begin() as conn:
            done = self.record(conn, amount, txn_type="completion", at=at, original_id=preauth.id)
            release_preauth_hold(
                conn,
                preauth_txn_id=preauth.id,
                amount=preauth.amount,
                currency="CNY",
                at=at,
                reason="completion",
                by_transaction_id=done.id,
            )
            conn.execute(
                update(transactions).where(transactions.c.id == preauth.id).values(status="completed")
            )
        return done

    def cancel(self, preauth: Txn, *, at: datetime = NOW) -> Txn:
        """Pre-authorisation cancel: the release is the cancel's journal."""
        with self.begin() as conn:
            cancel = self.record(
                conn, preauth.amount, txn_type="preauth_void", at=at, post=False, original_id=preauth.id
            )
            release_preauth_hold(
                conn,
                preauth_txn_id=preauth.id,
                amount=preauth.amount,
                currency="CNY",
                at=at,
                reason="cancel",
                by_transaction_id=cancel.id,
            )
            conn.execute(
                update(transactions).where(transactions.c.id == preauth.id).values(status="cancelled")
            )
        return cancel
