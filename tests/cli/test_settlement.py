"""``poskit settlement d0`` is the merchant owner's request, as in the portal: it costs the merchant
the D0 fee, so nobody else may make it in the merchant's name."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from cli_operators import add_users, as_user
from ledger_world import CAFE, NOW, World
from sqlalchemy import func, select

from poskit.store.schema import audit_log
from poskit.store.schema_ledger import payouts

LATER = ("--now", (NOW + timedelta(hours=1)).isoformat())


@pytest.fixture
def world(world_dir: tuple[Path, World]) -> tuple[Path, World]:
    add_users(world_dir[1])
    world_dir[1].sale(100000)
    return world_dir


def _payouts(world: World) -> int:
    with world.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(payouts)).scalar_one())


@pytest.mark.parametrize(
    ("user", "message"),
    [
        ("reviewer", "refused: reviewer is acquirer_staff, and request_payout is for merchant_owner"),
        ("cafe-staff", "refused: cafe-staff is merchant_staff, and request_payout is for merchant_owner"),
        ("noodle", "refused: merchant not found for noodle"),
        ("nobody-at-all", "wrong user name or password"),
    ],
)
def test_d0_by_anyone_but_the_owner_is_refused(world: tuple[Path, World], user: str, message: str) -> None:
    """Acquirer staff, the cafe's cashier staff, another merchant's owner and an unknown user are
    refused, and no payout is made."""
    data_dir, w = world
    result = as_user(data_dir, "settlement", "d0", "--merchant", CAFE, "--by", user, *LATER)
    assert result.exit_code == 1 and message in result.output
    assert _payouts(w) == 0


def test_the_owner_takes_d0_in_their_name(world: tuple[Path, World]) -> None:
    """The cafe's owner is paid now, less the D0 fee; the request is audited under their name."""
    data_dir, w = world
    result = as_user(data_dir, "settlement", "d0", "--merchant", CAFE, "--by", "cafe", *LATER, "--json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert (body["kind"], body["fee"]) == ("d0", 200)
    with w.engine.connect() as conn:
        actors = conn.execute(
            select(audit_log.c.actor).where(audit_log.c.action == "payout.d0_requested")
        ).scalars()
        assert list(actors) == ["cafe"]
