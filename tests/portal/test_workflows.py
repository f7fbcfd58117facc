"""Merchant and staff workflows end to end, each leaving its audit trail: operators, tickets,
disputes, merchant change requests, compliance flags, API tokens."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from poskit.passwords import verify_password
from poskit.store.schema import audit_log, operators
from poskit.store.schema_ledger import disputes, flags, merchant_change_requests
from poskit.store.schema_portal import api_tokens

Portal = World = Any  # fixture types live in conftest.py


def _audit(world: World, action: str) -> list[dict[str, Any]]:
    with world.engine.connect() as conn:
        rows = conn.execute(select(audit_log).where(audit_log.c.action == action).order_by(audit_log.c.id))
        return [dict(r._mapping) for r in rows]


def test_owner_manages_operators(portal: Callable[..., Portal], world: World) -> None:
    """Add a cashier, reset its password, disable it; bad input is explained; every step audited."""
    client = portal("cafe")
    client.get("/terminals")
    assert (
        client.post(
            "/operators", {"code": "07", "name": "收银员七 Cashier 7", "password": "24681357"}
        ).status_code
        == 303
    )
    with world.engine.connect() as conn:
        op = (
            conn.execute(
                select(operators).where(operators.c.merchant_id == world.cafe_id, operators.c.code == "07")
            )
            .mappings()
            .one()
        )
    assert op["role"] == "operator" and verify_password(op["password_hash"], "24681357")
    assert "收银员七" in client.get("/terminals").text
    assert client.post(f"/operators/{op['id']}/password", {"password": "97531864"}).status_code == 303
    assert client.post(f"/operators/{op['id']}/status", {"status": "disabled"}).status_code == 303
    with world.engine.connect() as conn:
        op = conn.execute(select(operators).where(operators.c.id == op["id"])).mappings().one()
    assert op["status"] == "disabled" and verify_password(op["password_hash"], "97531864")
    client.post("/operators", {"code": "07", "name": "dup", "password": "24681357"})
    assert "already exists" in client.get("/terminals").text
    client.post("/operators", {"code": "00", "name": "boss", "password": "24681357"})
    assert "00 is the supervisor" in client.get("/terminals").text
    actions = {e["subject"] for e in _audit(world, "operator.added")}
    assert f"operator:{op['id']}" in actions
    assert _audit(world, "operator.password_reset") and _audit(world, "operator.disabled")


def test_supervisor_cannot_be_disabled(portal: Callable[..., Portal], world: World) -> None:
    """The supervisor (00) approves voids; disabling it is refused with advice."""
    with world.engine.connect() as conn:
        supervisor = conn.execute(
            select(operators.c.id).where(operators.c.merchant_id == world.cafe_id, operators.c.code == "00")
        ).scalar_one()
    client = portal("cafe")
    client.post(f"/operators/{supervisor}/status", {"status": "disabled"})
    assert "cannot be disabled" in client.get("/terminals").text


def test_ticket_opened_by_merchant_answered_by_staff(portal: Callable[..., Portal], world: World) -> None:
    """The merchant opens a ticket; acquirer staff answer it (audited); the merchant sees the answer."""
    merchant = portal("cafe")
    response = merchant.post(
        "/support/tickets",
        {"subject": "Receipt paper", "category": "terminal", "body": "Please send 5 rolls"},
    )
    assert response.status_code == 303
    ticket_id = int(response.headers["location"].rsplit("/", 1)[-1])
    staff = portal("reviewer")
    assert "Receipt paper" in staff.get("/support").text
    staff.get(f"/support/tickets/{ticket_id}")
    assert (
        staff.post(f"/support/tickets/{ticket_id}/reply", {"body": "Sent today by courier"}).status_code
        == 303
    )
    page = merchant.get(f"/support/tickets/{ticket_id}").text
    assert "Sent today by courier" in page and "answered" in page
    assert any(
        e["actor"] == "reviewer" and e["subject"] == f"ticket:{ticket_id}"
        for e in _audit(world, "ticket.answered")
    )
    assert "400-858-3000" in merchant.get("/support").text  # the acquirer's contact details


def test_fee_dispute_from_open_to_upheld(portal: Callable[..., Portal], world: World) -> None:
    """The merchant disputes a fee; staff uphold a partial refund; outcome and timeline show it."""
    merchant = portal("cafe")
    txn = world.txns["cafe_nopin"]
    detail = merchant.get(f"/transactions/{txn}").text
    fee_line = int(re.search(r"/disputes/new\?fee_line=(\d+)", detail).group(1))  # type: ignore[union-attr]
    merchant.get(f"/disputes/new?fee_line={fee_line}")
    response = merchant.post(
        "/disputes",
        {"fee_line": fee_line, "reason": "Contract says 2.00% for foreign cards", "amount": "0.44"},
    )
    assert response.status_code == 303
    dispute_id = int(response.headers["location"].rsplit("/", 1)[-1])
    staff = portal("reviewer")
    assert f"/disputes/{dispute_id}" in staff.get("/review/disputes").text
    assert staff.post(f"/disputes/{dispute_id}/review", {"note": "checking the contract"}).status_code == 303
    assert (
        staff.post(
            f"/disputes/{dispute_id}/resolve",
            {"decision": "uphold", "amount": "0.40", "note": "rate applied in error"},
        ).status_code
        == 303
    )
    page = merchant.get(f"/disputes/{dispute_id}").text
    assert "Decided in your favour" in page and "0.40" in page and "rate applied in error" in page
    with world.engine.connect() as conn:
        row = conn.execute(select(disputes).where(disputes.c.id == dispute_id)).mappings().one()
    assert row["status"] == "upheld" and row["resolved_amount"] == 40
    assert any(
        e["actor"] == "reviewer" and e["subject"] == f"dispute:{dispute_id}"
        for e in _audit(world, "dispute.upheld")
    )
    assert _audit(world, "dispute.under_review")


def test_transaction_dispute_can_be_rejected(portal: Callable[..., Portal], world: World) -> None:
    """A dispute on a whole transaction, rejected by staff: the merchant sees the decision."""
    merchant = portal("cafe")
    response = merchant.post(
        "/disputes", {"transaction": world.txns["cafe_tap"], "reason": "customer says twice"}
    )
    dispute_id = int(response.headers["location"].rsplit("/", 1)[-1])
    staff = portal("reviewer")
    staff.post(f"/disputes/{dispute_id}/resolve", {"decision": "reject", "note": "one charge only"})
    assert "Decided against the claim" in merchant.get(f"/disputes/{dispute_id}").text
    merchant.post(f"/disputes/{dispute_id}/note", {"note": "ok"})
    assert merchant.get("/disputes").status_code == 200


def test_change_request_needs_a_second_person(portal: Callable[..., Portal], world: World) -> None:
    """The owner requests a new address; staff approve it (not the requester); it applies and is audited."""
    owner = portal("cafe")
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()  # the acquirer's business day
    response = owner.post(
        "/merchant/changes",
        {
            "field": "city",
            "new_value": "Shanghai Jing'an",
            "effective_from": today,
            "reason": "moved district",
        },
    )
    assert response.status_code == 303
    with world.engine.connect() as conn:
        change = (
            conn.execute(
                select(merchant_change_requests).where(
                    merchant_change_requests.c.merchant_id == world.cafe_id,
                    merchant_change_requests.c.field == "city",
                )
            )
            .mappings()
            .one()
        )
    assert change["status"] == "pending" and change["requested_by"] == "cafe"
    staff = portal("reviewer")
    assert "Shanghai Jing&#39;an" in staff.get("/review/changes").text
    assert (
        staff.post(
            f"/review/changes/{change['id']}", {"decision": "approve", "note": "ID checked"}
        ).status_code
        == 303
    )
    with world.engine.connect() as conn:
        status = conn.execute(
            select(merchant_change_requests.c.status).where(merchant_change_requests.c.id == change["id"])
        ).scalar_one()
    assert status in ("approved", "applied")
    assert _audit(world, "merchant_change.approved")
    past = owner.post(
        "/merchant/changes", {"field": "city", "new_value": "x", "effective_from": "2000-01-01"}
    )
    assert past.status_code == 303 and "past" in owner.get("/merchant").text


def test_requester_cannot_approve_their_own_change(portal: Callable[..., Portal], world: World) -> None:
    """An acquirer admin who filed a change for a merchant cannot approve it (four eyes)."""
    admin = portal("acquirer")
    when = (datetime.now(ZoneInfo("Asia/Shanghai")) + timedelta(days=3)).date().isoformat()
    admin.get(f"/merchants/{world.cafe_id}")
    admin.post(
        "/merchant/changes",
        {
            "field": "settlement_bank",
            "new_value": "Bank of Shanghai",
            "effective_from": when,
            "merchant": world.cafe_id,
        },
    )
    with world.engine.connect() as conn:
        change_id = conn.execute(
            select(merchant_change_requests.c.id).where(merchant_change_requests.c.requested_by == "acquirer")
        ).scalar_one()
    admin.post(f"/review/changes/{change_id}", {"decision": "approve"})
    assert "cannot review their own" in admin.get("/review/changes").text


def test_flags_are_reviewed_and_cleared(portal: Callable[..., Portal], world: World) -> None:
    """Acquirer staff see the MCC-mismatch flag across merchants and clear it with a note (audited)."""
    staff = portal("reviewer")
    page = staff.get("/review/flags").text
    assert "MCC 5812 seen" in page
    assert (
        staff.post(f"/review/flags/{world.noodle['flag']}/clear", {"note": "agreed exception"}).status_code
        == 303
    )
    with world.engine.connect() as conn:
        flag = conn.execute(select(flags).where(flags.c.id == world.noodle["flag"])).mappings().one()
    assert flag["status"] == "cleared" and flag["cleared_by"] == "reviewer"
    assert _audit(world, "flag.cleared")


def test_api_token_is_shown_once_and_stored_hashed(
    portal: Callable[..., Portal], world: World, app: Any
) -> None:
    """Creating a token shows its secret once; the database keeps only a hash; revoking stops it working."""
    client = portal("cafe")
    client.get("/account")
    assert client.post("/account/tokens", {"name": "nightly export", "days": "30"}).status_code == 303
    page = client.get("/account").text
    secret = re.search(r'id="new-token">(pk_[A-Za-z0-9_-]+)<', page).group(1)  # type: ignore[union-attr]
    assert secret not in client.get("/account").text  # shown once
    with world.engine.connect() as conn:
        stored = (
            conn.execute(select(api_tokens).where(api_tokens.c.name == "nightly export")).mappings().one()
        )
    assert secret not in str(dict(stored)) and stored["prefix"] == secret[:10]
    from fastapi.testclient import TestClient

    api = TestClient(app, base_url="https://testserver", headers={"Authorization": f"Bearer {secret}"})
    assert api.get("/api/v1/me").json()["username"] == "cafe"
    assert client.post(f"/account/tokens/{stored['id']}/revoke").status_code == 303
    assert api.get("/api/v1/me").status_code == 401
    assert _audit(world, "token.created") and _audit(world, "token.revoked")


def test_audit_log_page_lists_staff_actions(portal: Callable[..., Portal]) -> None:
    """The admin's audit page shows who did what, and filters by actor."""
    admin = portal("acquirer")
    page = admin.get("/admin/audit?actor=reviewer").text
    assert "reviewer" in page and "cafe" not in page.split("<tbody>", 1)[-1].split("</tbody>")[0]
