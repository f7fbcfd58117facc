"""``poskit merchants change / review / clear-flag`` act as an authenticated portal user, under the
portal's rules: the right role, the user's own acquirer, four eyes, no backdated change."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cli_operators import PASSWORD, add_users, as_user, login_outcomes
from ledger_world import CAFE, NOW, World

from poskit.ledger.merchant_changes import get_change
from poskit.ledger.monitoring import raise_flag

AT = ("--now", NOW.isoformat())


@pytest.fixture
def world(world_dir: tuple[Path, World]) -> tuple[Path, World]:
    add_users(world_dir[1])
    return world_dir


def _change(data_dir: Path, by: str, *extra: str, effective: str = "2026-12-01") -> Any:
    return as_user(
        data_dir,
        "merchants",
        "change",
        "--merchant",
        CAFE,
        "--field",
        "mcc",
        "--value",
        "5411",
        "--effective",
        effective,
        "--by",
        by,
        *AT,
        "--json",
        *extra,
    )


def _filed(data_dir: Path, by: str = "cafe") -> int:
    result = _change(data_dir, by)
    assert result.exit_code == 0, result.output
    return int(json.loads(result.stdout)["id"])


def _review(data_dir: Path, change_id: int, by: str, **kw: Any) -> Any:
    return as_user(data_dir, "merchants", "review", str(change_id), "--by", by, "--approve", *AT, **kw)


def _status(world: World, change_id: int) -> str:
    with world.engine.connect() as conn:
        return get_change(conn, change_id).status


def test_another_merchants_owner_cannot_approve(world: tuple[Path, World]) -> None:
    """`review 3 --by noodle --approve` (another merchant's owner) is refused; the change stays pending."""
    data_dir, w = world
    change_id = _filed(data_dir)
    result = _review(data_dir, change_id, "noodle")
    assert result.exit_code == 1
    assert "refused: change request not found for noodle" in result.output
    assert _status(w, change_id) == "pending"


def test_the_merchant_cannot_approve_its_own_change(world: tuple[Path, World]) -> None:
    """The cafe's owner, who asked for the change, may not approve it either."""
    data_dir, w = world
    change_id = _filed(data_dir)
    result = _review(data_dir, change_id, "cafe")
    assert result.exit_code == 1
    assert (
        "refused: cafe is merchant_owner, and review is for acquirer_staff, acquirer_admin" in result.output
    )
    assert _status(w, change_id) == "pending"


def test_unknown_user_and_wrong_password_are_refused_and_logged(world: tuple[Path, World]) -> None:
    """`--by nobody-at-all` and a wrong password are refused like a failed portal login, and logged."""
    data_dir, w = world
    change_id = _filed(data_dir)
    nobody = _review(data_dir, change_id, "nobody-at-all")
    assert nobody.exit_code == 1
    assert "not signed in as 'nobody-at-all': wrong user name or password" in nobody.output
    wrong = _review(data_dir, change_id, "reviewer", password="not-the-password")
    assert wrong.exit_code == 1 and "wrong user name or password" in wrong.output
    assert _status(w, change_id) == "pending"
    assert login_outcomes(w, "nobody-at-all") == ["bad_credentials"]
    assert login_outcomes(w, "reviewer") == ["bad_credentials"]


def test_repeated_wrong_passwords_lock_the_user_for_the_cli_too(world: tuple[Path, World]) -> None:
    """Five wrong passwords lock the account; the right one is then refused until the lock ends."""
    data_dir, w = world
    change_id = _filed(data_dir)
    for _ in range(5):
        _review(data_dir, change_id, "reviewer", password="guess-123")
    locked = _review(data_dir, change_id, "reviewer")
    assert locked.exit_code == 1 and "'reviewer' is locked until 2026-11-24 02:01 UTC" in locked.output
    assert _status(w, change_id) == "pending"


def test_a_reviewer_of_another_acquirer_cannot_see_the_change(world: tuple[Path, World]) -> None:
    """Acquirer staff act only for their own acquirer's merchants."""
    data_dir, w = world
    change_id = _filed(data_dir)
    result = _review(data_dir, change_id, "outsider")
    assert result.exit_code == 1
    assert "refused: change request not found for outsider" in result.output
    assert _status(w, change_id) == "pending"


def test_four_eyes_the_requester_never_reviews(world: tuple[Path, World]) -> None:
    """Staff may file a change for a merchant, but another member of staff must approve it."""
    data_dir, w = world
    change_id = _filed(data_dir, by="reviewer")
    own = _review(data_dir, change_id, "reviewer")
    assert own.exit_code == 1 and "the requester cannot review their own change" in own.output
    assert _status(w, change_id) == "pending"


def test_acquirer_staff_approve_with_the_password_on_stdin(world: tuple[Path, World]) -> None:
    """The allowed path: staff of the cafe's acquirer approve; the review is in their name."""
    data_dir, w = world
    change_id = _filed(data_dir)
    result = as_user(
        data_dir,
        "merchants",
        "review",
        str(change_id),
        "--by",
        "checker",
        "--approve",
        "--password-stdin",
        "--json",
        *AT,
        password=None,
        stdin=f"{PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    done = json.loads(result.stdout)
    assert (done["status"], done["reviewed_by"], done["requested_by"]) == ("approved", "checker", "cafe")
    assert login_outcomes(w, "checker") == ["ok"]


def test_no_password_without_a_terminal_is_refused(world: tuple[Path, World]) -> None:
    """With no password given and nobody at a terminal to ask, the command refuses."""
    data_dir, w = world
    change_id = _filed(data_dir)
    result = _review(data_dir, change_id, "checker", password=None)
    assert result.exit_code == 1 and "no password for 'checker'" in result.output
    assert _status(w, change_id) == "pending" and login_outcomes(w, "checker") == []


def test_a_backdated_effective_date_is_refused_as_in_the_portal(world: tuple[Path, World]) -> None:
    """`--effective` before today (the acquirer's business date) is refused; today is accepted."""
    data_dir, _ = world
    past = _change(data_dir, "cafe", effective=(NOW - timedelta(days=1)).date().isoformat())
    assert past.exit_code == 1 and "the effective date is in the past" in past.output
    today = _change(data_dir, "cafe", effective="2026-11-24")
    assert today.exit_code == 0, today.output
    assert json.loads(today.stdout)["effective_from"] == "2026-11-23T16:00:00+00:00"


def test_who_may_file_a_change(world: tuple[Path, World]) -> None:
    """Cashier staff may not ask for a change; another merchant's owner cannot see the cafe."""
    data_dir, _ = world
    staff = _change(data_dir, "cafe-staff")
    assert staff.exit_code == 1 and "refused: cafe-staff is merchant_staff" in staff.output
    other = _change(data_dir, "noodle")
    assert other.exit_code == 1 and "refused: merchant not found for noodle" in other.output


def test_clear_flag_needs_acquirer_staff(world: tuple[Path, World]) -> None:
    """A merchant owner cannot clear its own compliance flag; acquirer staff can, in their name."""
    data_dir, w = world
    with w.begin() as conn:
        flag = raise_flag(
            conn,
            key="t:1",
            kind="mcc_mismatch",
            severity="warning",
            summary="MCC 5411 on a 5812 merchant",
            details={},
            merchant_id=w.cafe,
            now=NOW,
        )
    args = ("merchants", "clear-flag", str(flag.id), "--note", "checked", *AT, "--json")
    refused = as_user(data_dir, *args, "--by", "cafe")
    assert refused.exit_code == 1 and "refused: flag not found for cafe" in refused.output
    cleared = as_user(data_dir, *args, "--by", "reviewer")
    assert cleared.exit_code == 0, cleared.output
    assert json.loads(cleared.stdout)["cleared_by"] == "reviewer"
