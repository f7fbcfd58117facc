"""Roles: what merchant owners, merchant staff, acquirer staff and acquirer admins may do."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from poskit.portal.permissions import ROLE_PERMISSIONS, Permission

Portal = World = Any  # fixture types live in conftest.py


@pytest.mark.parametrize(
    ("username", "url", "status"),
    [
        ("cafe-staff", "/settlements", 403),
        ("cafe-staff", "/payouts", 403),
        ("cafe-staff", "/statements", 403),
        ("cafe-staff", "/fees", 403),
        ("cafe-staff", "/unsigned", 200),
        ("cafe-staff", "/transactions/export.csv", 200),
        ("cafe", "/fees", 200),
        ("cafe", "/review", 403),
        ("cafe", "/review/flags", 403),
        ("cafe", "/admin/users", 403),
        ("cafe", "/admin/audit", 403),
        ("reviewer", "/review", 200),
        ("reviewer", "/review/flags", 200),
        ("reviewer", "/admin/audit", 403),
        ("reviewer", "/admin/users", 403),
        ("acquirer", "/admin/audit", 200),
        ("acquirer", "/admin/users", 200),
    ],
)
def test_pages_by_role(portal: Callable[..., Portal], username: str, url: str, status: int) -> None:
    """Each role reaches exactly its pages; others are 403 (the data would be theirs: not a 404 case)."""
    assert portal(username).get(url).status_code == status


def test_staff_may_not_manage_operators_or_open_disputes(portal: Callable[..., Portal], world: World) -> None:
    """Merchant staff can sell and sign but not add operators, dispute fees or request merchant changes."""
    client = portal("cafe-staff")
    assert client.post("/operators", {"code": "09", "name": "x", "password": "13572468"}).status_code == 403
    assert client.post("/disputes", {"transaction": world.txns["cafe_pin"], "reason": "x"}).status_code == 403
    response = client.post(
        "/merchant/changes", {"field": "city", "new_value": "Hangzhou", "effective_from": "2099-01-01"}
    )
    assert response.status_code == 403
    assert client.post("/payouts/d0", {"key": "k"}).status_code == 403
    assert client.get(f"/disputes/new?transaction={world.txns['cafe_pin']}").status_code == 403


def test_menus_follow_the_role(portal: Callable[..., Portal]) -> None:
    """Staff see no money pages in the menu; acquirer staff see the review queues; admins the audit log."""
    staff = portal("cafe-staff").get("/").text
    assert 'href="/payouts"' not in staff and 'href="/review"' not in staff
    owner = portal("cafe").get("/").text
    assert 'href="/payouts"' in owner and 'href="/admin/audit"' not in owner
    admin = portal("acquirer").get("/").text
    assert 'href="/review"' in admin and 'href="/admin/audit"' in admin


def test_acquirer_roles_cannot_act_as_a_merchant(portal: Callable[..., Portal]) -> None:
    """Acquirer staff answer tickets but do not open them, and cannot take a D0 payout."""
    client = portal("reviewer")
    assert client.post("/support/tickets", {"subject": "s", "body": "b"}).status_code == 403
    assert client.post("/payouts/d0", {"key": "k"}).status_code == 403


def test_role_table_is_a_strict_hierarchy_where_it_should_be() -> None:
    """Owners can do everything staff can; admins everything acquirer staff can; no merchant role reviews."""
    assert ROLE_PERMISSIONS["merchant_staff"] < ROLE_PERMISSIONS["merchant_owner"]
    assert ROLE_PERMISSIONS["acquirer_staff"] < ROLE_PERMISSIONS["acquirer_admin"]
    for role in ("merchant_owner", "merchant_staff"):
        assert (
            Permission.REVIEW not in ROLE_PERMISSIONS[role] and Permission.ADMIN not in ROLE_PERMISSIONS[role]
        )
