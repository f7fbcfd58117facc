"""``poskit disputes open / review / resolve / represent`` act as an authenticated portal user under
the portal's rules: a merchant's owner opens, acquirer staff of that merchant's acquirer decide."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cli_operators import add_users, as_user
from ledger_world import CAFE, NOODLE, NOW, Txn, World
from sqlalchemy import select

from poskit.ledger.disputes import get_dispute
from poskit.store.schema import audit_log

AT = ("--now", NOW.isoformat())


@pytest.fixture
def world(world_dir: tuple[Path, World]) -> tuple[Path, World, Txn]:
    add_users(world_dir[1])
    return (*world_dir, world_dir[1].sale(100000, pin=True))


def _open(data_dir: Path, txn: Txn, by: str, *extra: str) -> Any:
    return as_user(
        data_dir, "disputes", "open", "--rrn", txn.rrn, "--amount", "12.50", "--reason", "settled short",
        "--by", by, *AT, "--json", *extra,
    )  # fmt: skip


def _opened(data_dir: Path, txn: Txn) -> int:
    result = _open(data_dir, txn, "cafe")
    assert result.exit_code == 0, result.output
    return int(json.loads(result.stdout)["id"])


def _status(world: World, dispute_id: int) -> str:
    with world.engine.connect() as conn:
        return get_dispute(conn, dispute_id).status


def test_the_merchant_cannot_uphold_its_own_dispute(world: tuple[Path, World, Txn]) -> None:
    """`disputes resolve 1 --by cafe --uphold` is refused: deciding is acquirer staff's; nothing refunded."""
    data_dir, w, txn = world
    dispute_id = _opened(data_dir, txn)
    result = as_user(data_dir, "disputes", "resolve", str(dispute_id), "--by", "cafe", "--uphold", *AT)
    assert result.exit_code == 1
    assert "refused: cafe is merchant_owner, and review is for acquirer_staff, acquirer_admin" in (
        result.output
    )
    assert _status(w, dispute_id) == "open"
    review = as_user(data_dir, "disputes", "review", str(dispute_id), "--by", "cafe", *AT)
    assert review.exit_code == 1 and "refused: cafe is merchant_owner" in review.output


def test_nobody_and_other_acquirers_are_refused(world: tuple[Path, World, Txn]) -> None:
    """An unknown user cannot act; staff of another acquirer cannot even find the dispute."""
    data_dir, w, txn = world
    dispute_id = _opened(data_dir, txn)
    resolve = ("disputes", "resolve", str(dispute_id), "--uphold", *AT)
    nobody = as_user(data_dir, *resolve, "--by", "nobody-at-all")
    assert nobody.exit_code == 1 and "wrong user name or password" in nobody.output
    outsider = as_user(data_dir, *resolve, "--by", "outsider")
    assert outsider.exit_code == 1 and "refused: dispute not found for outsider" in outsider.output
    assert _status(w, dispute_id) == "open"


def test_staff_review_and_uphold_in_their_name(world: tuple[Path, World, Txn]) -> None:
    """The allowed path: staff take it under review and uphold part of it; timeline and audit log
    carry the signed-in names."""
    data_dir, w, txn = world
    dispute_id = _opened(data_dir, txn)
    review = as_user(data_dir, "disputes", "review", str(dispute_id), "--by", "reviewer", *AT)
    assert review.exit_code == 0, review.output
    done = as_user(
        data_dir, "disputes", "resolve", str(dispute_id), "--by", "checker", "--uphold", "--amount", "2.00",
        *AT, "--json",
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    body = json.loads(done.stdout)
    assert body["status"] == "upheld" and body["resolved_amount"] == 200
    assert [(e["actor"], e["action"]) for e in body["timeline"]] == [
        ("cafe", "opened"),
        ("reviewer", "under_review"),
        ("checker", "upheld"),
    ]
    with w.engine.connect() as conn:
        actions = conn.execute(
            select(audit_log.c.actor, audit_log.c.action).where(
                audit_log.c.subject == f"dispute:{dispute_id}"
            )
        ).all()
    assert [tuple(a) for a in actions] == [
        ("cafe", "dispute.opened"),
        ("reviewer", "dispute.under_review"),
        ("checker", "dispute.upheld"),
    ]


def test_a_refund_above_the_claim_is_refused(world: tuple[Path, World, Txn]) -> None:
    """The ledger's own limits hold on the CLI: never refund more than is disputed."""
    data_dir, w, txn = world
    dispute_id = _opened(data_dir, txn)
    result = as_user(
        data_dir, "disputes", "resolve", str(dispute_id), "--by", "reviewer", "--uphold", "--amount", "99.00",
        *AT,
    )  # fmt: skip
    assert result.exit_code == 1 and "refund" in result.output and "12.50" in result.output
    assert _status(w, dispute_id) == "open"


def test_who_may_open_a_dispute(world: tuple[Path, World, Txn]) -> None:
    """Only the merchant's owner opens one: not its cashier staff, not another merchant, not acquirer
    staff (as in the portal); and the named merchant must be the transaction's."""
    data_dir, _, txn = world
    staff = _open(data_dir, txn, "cafe-staff")
    assert staff.exit_code == 1 and "refused: cafe-staff is merchant_staff" in staff.output
    other = _open(data_dir, txn, "noodle")
    assert other.exit_code == 1 and "refused: transaction not found for noodle" in other.output
    acquirer = _open(data_dir, txn, "reviewer")
    assert acquirer.exit_code == 1 and "open_dispute is for merchant_owner" in acquirer.output
    mismatch = _open(data_dir, txn, "cafe", "--merchant", NOODLE)
    assert mismatch.exit_code == 1 and f"not merchant {NOODLE}'s" in mismatch.output
    allowed = _open(data_dir, txn, "cafe", "--merchant", CAFE)
    assert allowed.exit_code == 0, allowed.output
    assert json.loads(allowed.stdout)["timeline"][0]["actor"] == "cafe"


def test_representing_a_chargeback_is_staff_work(world: tuple[Path, World, Txn]) -> None:
    """The merchant cannot represent its chargeback; acquirer staff can, with the PIN evidence."""
    data_dir, _, txn = world
    cb = as_user(data_dir, "disputes", "chargeback", "--rrn", txn.rrn, "--reason-code", "4837", *AT, "--json")
    cb_id = str(json.loads(cb.stdout)["id"])
    refused = as_user(data_dir, "disputes", "represent", cb_id, "--by", "cafe", *AT)
    assert refused.exit_code == 1 and "refused: cafe is merchant_owner" in refused.output
    done = as_user(data_dir, "disputes", "represent", cb_id, "--by", "reviewer", *AT, "--json")
    assert done.exit_code == 0, done.output
    last = json.loads(done.stdout)["timeline"][-1]
    assert (last["actor"], last["details"]["pin_verified"]) == ("reviewer", True)
