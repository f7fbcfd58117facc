"""Disputes (乱扣费追回) and chargebacks: timelines, refunds the next payout carries, dispute holds."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from ledger_world import CAFE, NOW, World
from sqlalchemy import insert, select

from poskit.ledger.audit import audit_fees
from poskit.ledger.balances import account_balance, account_id, merchant_available
from poskit.ledger.check import check_ledger
from poskit.ledger.disputes import (
    DisputeError,
    accept_chargeback,
    add_note,
    get_dispute,
    list_for_merchant,
    open_dispute,
    open_disputes_from_findings,
    receive_chargeback,
    receive_retrieval_request,
    record_chargeback_result,
    represent,
    resolve,
    review,
    review_days,
)
from poskit.ledger.events import FeeCharge, post_fee_charges
from poskit.ledger.fees import quote_fee, schedule_in_force
from poskit.ledger.payouts import list_payouts
from poskit.ledger.settlement import settle_day
from poskit.money import Amount
from poskit.store.schema import fee_lines
from poskit.store.schema_terminal_day import signatures

DAY1 = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)


def _settle(world: World, day: date, now: datetime) -> None:
    with world.begin() as conn:
        settle_day(conn, business_date=day, now=now)


def _duplicate_fee(world: World) -> int:
    txn = world.sale(100000)
    with world.begin() as conn:
        quote = quote_fee(
            schedule_in_force(conn, world.cafe, NOW), "domestic_credit", Amount.of(100000, "CNY")
        )
        post_fee_charges(
            conn,
            key="buggy:dup",
            merchant_id=world.cafe,
            merchant_no=CAFE,
            currency="CNY",
            charges=[FeeCharge(quote, txn.id)],
            at=NOW,
            description="fee",
        )
    return txn.id


def test_audit_finding_becomes_an_upheld_dispute_paid_by_the_next_payout(world: World) -> None:
    """Audit -> dispute -> review -> upheld refund: the next T+1 payout carries it; nothing owed."""
    _duplicate_fee(world)
    _settle(world, date(2026, 11, 24), DAY1)
    with world.begin() as conn:
        findings = audit_fees(conn).findings
        [dispute] = open_disputes_from_findings(conn, findings, now=DAY1)
        assert open_disputes_from_findings(conn, findings, now=DAY1)[0].id == dispute.id  # idempotent
        assert dispute.source == "audit" and dispute.amount == 600 and dispute.status == "open"
        review(
            conn,
            dispute.id,
            reviewer="reviewer",
            note="checking the fee lines",
            now=DAY1 + timedelta(hours=1),
        )
        done = resolve(conn, dispute.id, reviewer="reviewer", upheld=True, now=DAY1 + timedelta(hours=2))
    assert done.status == "upheld" and done.resolved_amount == 600
    assert [e.action for e in done.timeline] == ["opened", "under_review", "upheld"]
    _settle(world, date(2026, 11, 25), DAY1 + timedelta(days=1))
    with world.engine.connect() as conn:
        day2 = [p for p in list_payouts(conn) if p.business_date == "2026-11-25"]
        assert [p.amount for p in day2] == [600]
        [finding] = audit_fees(conn).findings
        assert (finding.refunded, finding.owed, finding.dispute_id) == (600, 0, dispute.id)
        assert check_ledger(conn).ok


def test_merchant_disputes_a_fee_line_and_staff_reject_it(sqlite_world: World) -> None:
    """A rejected dispute moves no money and keeps its notes in the timeline."""
    sqlite_world.sale(100000)
    with sqlite_world.begin() as conn:
        line = conn.execute(select(fee_lines.c.id)).scalar_one()
        dispute = open_dispute(
            conn,
            merchant_id=sqlite_world.cafe,
            fee_line_id=line,
            reason="rate too high",
            opened_by="cafe",
            now=NOW,
        )
        assert dispute.kind == "fee" and dispute.amount == 600 and dispute.due_at == NOW + review_days("CNY")
        add_note(
            conn,
            dispute.id,
            actor="cafe",
            note="contract attached",
            details={"file": "contract.pdf"},
            now=NOW,
        )
        done = resolve(
            conn, dispute.id, reviewer="reviewer", upheld=False, note="0.60% is the contract rate", now=NOW
        )
        assert done.status == "rejected" and done.resolution_journal_id is None
        assert [d.id for d in list_for_merchant(conn, sqlite_world.cafe)] == [dispute.id]
        with pytest.raises(DisputeError, match="rejected"):
            resolve(conn, dispute.id, reviewer="reviewer", upheld=True, now=NOW)
        assert merchant_available(conn, CAFE, "CNY") == 100000 - 600


def test_transaction_dispute_is_refunded_from_adjustments(sqlite_world: World) -> None:
    """An upheld transaction dispute credits the merchant out of the acquirer's adjustments account."""
    txn = sqlite_world.sale(100000)
    with sqlite_world.begin() as conn:
        d = open_dispute(
            conn,
            merchant_id=sqlite_world.cafe,
            transaction_id=txn.id,
            amount=5000,
            reason="paid short",
            opened_by="cafe",
            now=NOW,
        )
        resolve(conn, d.id, reviewer="reviewer", upheld=True, amount=3000, now=NOW)
        adjustments = account_id(conn, "acquirer_adjustments:CNY")
        assert adjustments is not None and account_balance(conn, adjustments) == 3000
        assert merchant_available(conn, CAFE, "CNY") == 100000 - 600 + 3000
        with pytest.raises(DisputeError, match="exactly one"):
            open_dispute(conn, merchant_id=sqlite_world.cafe, reason="x", opened_by="cafe", now=NOW)
        with pytest.raises(DisputeError, match="not a transaction of merchant"):
            open_dispute(
                conn, merchant_id=sqlite_world.noodle, transaction_id=txn.id, reason="x", opened_by="x"
            )


def test_chargeback_holds_funds_and_a_signed_receipt_wins_it(world: World) -> None:
    """Retrieval, chargeback (hold), representment with the signed receipt, won: the hold goes back."""
    txn = world.sale(100000)
    _settle(world, date(2026, 11, 24), DAY1)
    with world.begin() as conn:
        conn.execute(
            insert(signatures).values(
                transaction_id=txn.id,
                terminal_id="10000001",
                rrn=txn.rrn,
                image=b"\x00",
                image_format="png",
                complete=True,
                uploaded_at=NOW,
            )
        )
        retrieval = receive_retrieval_request(conn, transaction_id=txn.id, reason_code="6321", now=DAY1)
        d = receive_chargeback(conn, transaction_id=txn.id, reason_code="4837", now=DAY1 + timedelta(days=2))
        assert d.status == "chargeback" and d.id == retrieval.id and d.hold_journal_id is not None
        assert merchant_available(conn, CAFE, "CNY") == -100000  # already paid out: the hold makes it a debt
        holds = account_id(conn, f"dispute_holds:{CAFE}:CNY")
        assert holds is not None and account_balance(conn, holds) == -100000
        d = represent(conn, d.id, actor="acquirer", now=DAY1 + timedelta(days=3))
        assert d.timeline[-1].details["signed_receipt"]["rrn"] == txn.rrn
        d = record_chargeback_result(conn, d.id, merchant_won=True, now=DAY1 + timedelta(days=9))
        assert d.status == "won" and account_balance(conn, holds) == 0
        assert merchant_available(conn, CAFE, "CNY") == 0
        assert [e.action for e in d.timeline] == ["retrieval_request", "chargeback", "represented", "won"]


def test_chargeback_without_evidence_cannot_be_represented_and_is_lost(sqlite_world: World) -> None:
    """No signature and no PIN: nothing to represent with; the lost chargeback pays the issuer."""
    txn = sqlite_world.sale(100000)
    with sqlite_world.begin() as conn:
        d = receive_chargeback(conn, transaction_id=txn.id, reason_code="4837", amount=40000, now=NOW)
        with pytest.raises(DisputeError, match="no signed receipt"):
            represent(conn, d.id, actor="acquirer", now=NOW)
        lost = accept_chargeback(conn, d.id, actor="cafe", now=NOW + timedelta(days=1))
        assert lost.status == "lost" and lost.resolved_amount == 40000
        assert merchant_available(conn, CAFE, "CNY") == 100000 - 600 - 40000
        bank = account_id(conn, "payouts:CNY")
        assert bank is not None and account_balance(conn, bank) == -40000
        assert get_dispute(conn, d.id).timeline[-1].action == "lost"


def test_pin_verified_sale_can_be_represented(sqlite_world: World) -> None:
    """A PIN-verified transaction is evidence of the cardholder's presence."""
    txn = sqlite_world.sale(100000, pin=True)
    with sqlite_world.begin() as conn:
        d = receive_chargeback(conn, transaction_id=txn.id, reason_code="4837", now=NOW)
        d = represent(conn, d.id, actor="acquirer", now=NOW)
        assert d.timeline[-1].details["pin_verified"] is True
        d = record_chargeback_result(conn, d.id, merchant_won=False, now=NOW)
        assert d.status == "lost"
