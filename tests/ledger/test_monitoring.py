"""Compliance flags: MCC jumping (跳码), one terminal one merchant, terminal far from its site."""

from __future__ import annotations

from datetime import timedelta

import pytest
from ledger_world import CAFE, NOODLE, NOW, World

from poskit.ledger.monitoring import (
    check_authorization,
    check_terminal_location,
    clear_flag,
    distance_m,
    list_flags,
    mcc_from_merchant_no,
    register_terminal_site,
    scan_transactions,
)


def test_mcc_is_digits_8_to_11_of_a_cups_merchant_number() -> None:
    """898 3100 5812 0001 carries MCC 5812 (domain notes §3.2); other formats carry none."""
    assert mcc_from_merchant_no(CAFE) == "5812"
    assert mcc_from_merchant_no("MERCHANT1") is None


def test_haversine_distance_between_shanghai_sites() -> None:
    """Nanjing West Road to Xujiahui is about 5 km (haversine on a 6,371 km sphere)."""
    assert 4_500 < distance_m(31.2335, 121.4680, 31.1920, 121.4367) < 5_800
    assert distance_m(31.0, 121.0, 31.0, 121.0) == 0


def test_authorization_hook_flags_code_jumping_and_foreign_merchants(sqlite_world: World) -> None:
    """A request under another MCC or for another merchant is flagged once per transaction."""
    with sqlite_world.begin() as conn:
        assert check_authorization(conn, terminal_id="10000001", merchant_no=CAFE, mcc="5812", now=NOW) == []
        [jump] = check_authorization(
            conn, terminal_id="10000001", merchant_no=CAFE, mcc="5411", transaction_id=None, now=NOW
        )
        assert jump.kind == "mcc_mismatch" and jump.details["submitted_mcc"] == "5411"
        flagged = check_authorization(conn, terminal_id="10000001", merchant_no=NOODLE, now=NOW)
        assert sorted(f.kind for f in flagged) == ["mcc_mismatch", "terminal_merchant_mismatch"]
        again = check_authorization(conn, terminal_id="10000001", merchant_no=NOODLE, now=NOW)
        assert [f.id for f in again] == [f.id for f in flagged]
        assert check_authorization(conn, terminal_id="99999999", merchant_no=CAFE, now=NOW) == []


def test_terminal_far_from_its_site_is_flagged(sqlite_world: World) -> None:
    """Within the radius nothing happens; 5 km away raises one flag per day, which staff can clear."""
    with sqlite_world.begin() as conn:
        register_terminal_site(
            conn,
            terminal_id="10000001",
            latitude=31.2335,
            longitude=121.4680,
            radius_m=500,
            address="南京西路88号",
            now=NOW,
        )
        assert (
            check_terminal_location(
                conn, terminal_id="10000001", latitude=31.2337, longitude=121.4683, now=NOW
            )
            is None
        )
        flag = check_terminal_location(
            conn, terminal_id="10000001", latitude=31.1920, longitude=121.4367, source="base_station", now=NOW
        )
        assert flag is not None and flag.kind == "terminal_location" and flag.merchant_id == sqlite_world.cafe
        assert flag.details["distance_m"] > 4_500
        cleared = clear_flag(conn, flag.id, actor="reviewer", note="market day stall, approved", now=NOW)
        assert cleared.status == "cleared" and list_flags(conn) == []
        with pytest.raises(LookupError):
            clear_flag(conn, 999, actor="reviewer", note="x", now=NOW)
        with pytest.raises(ValueError, match="invalid position"):
            register_terminal_site(conn, terminal_id="10000001", latitude=91, longitude=0)


def test_scan_flags_stored_transactions_in_bulk(world: World) -> None:
    """The cut-off scan flags transactions under a foreign MCC or from another merchant's terminal, once."""
    world.sale(1000, mcc="5411")  # code jumping: cafe is 5812
    world.sale(1000, merchant=NOODLE, terminal="10000001")  # the cafe's terminal used for the noodle house
    world.sale(1000)
    with world.begin() as conn:
        assert scan_transactions(conn, start=None, end=NOW + timedelta(hours=1), now=NOW) == 2
        assert scan_transactions(conn, start=None, end=NOW + timedelta(hours=1), now=NOW) == 0
        flags = {f.kind: f for f in list_flags(conn)}
    assert sorted(flags) == ["mcc_mismatch", "terminal_merchant_mismatch"]
    assert flags["mcc_mismatch"].summary == "MCC 5411 submitted; registered 5812"
    assert flags["terminal_merchant_mismatch"].merchant_id == world.noodle
