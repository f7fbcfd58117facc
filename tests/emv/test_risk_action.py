"""Terminal risk management, terminal action analysis and processing restrictions."""

from __future__ import annotations

import datetime as dt

import pytest

from poskit.emv.action import default_action_analysis, terminal_action_analysis
from poskit.emv.config import RandomSelection
from poskit.emv.restrictions import check_processing_restrictions, emv_date, usage_allowed
from poskit.emv.risk import check_floor_limit, check_velocity, random_selection
from poskit.emv.tvr import Tsi, TsiBit, Tvr, TvrBit

TAC_DENIAL = bytes.fromhex("0010000000")
TAC_ONLINE = bytes.fromhex("D84004F800")
TAC_DEFAULT = bytes.fromhex("D84000A800")


def test_floor_limit() -> None:
    """Amounts at or above the floor limit set TVR byte 4 bit 8."""
    tvr = Tvr()
    assert not check_floor_limit(999, 1000, tvr)
    assert check_floor_limit(1000, 1000, tvr)
    assert TvrBit.FLOOR_LIMIT_EXCEEDED in tvr and tvr.hex() == "0000008000"


def test_random_selection() -> None:
    """Below the threshold the target percentage applies; above the floor nothing is drawn."""
    params = RandomSelection(target_percent=20, max_target_percent=50, threshold=500)
    low = lambda n: b"\x00" * n  # noqa: E731 - draws 1
    high = lambda n: b"\x00\x62" * (n // 2)  # noqa: E731 - draws 99
    tvr = Tvr()
    assert random_selection(100, 1000, params, low, tvr)
    assert TvrBit.RANDOM_SELECTED in tvr
    assert not random_selection(100, 1000, params, high, Tvr())
    assert not random_selection(2000, 1000, params, low, Tvr())
    assert not random_selection(100, 1000, RandomSelection(), low, Tvr())
    # between threshold and floor the percentage rises towards the maximum (here 35%)
    draw_36 = lambda n: (35).to_bytes(2, "big")  # noqa: E731
    assert not random_selection(750, 1000, params, draw_36, Tvr())
    draw_35 = lambda n: (34).to_bytes(2, "big")  # noqa: E731
    assert random_selection(750, 1000, params, draw_35, Tvr())


def test_velocity() -> None:
    """Offline count above the lower/upper limits and a new card set their bits."""
    tvr = Tvr()
    check_velocity(9, 5, 3, 5, tvr)
    assert TvrBit.LCOL_EXCEEDED in tvr and TvrBit.UCOL_EXCEEDED not in tvr
    tvr = Tvr()
    check_velocity(7, 0, 3, 5, tvr)
    assert {TvrBit.LCOL_EXCEEDED, TvrBit.UCOL_EXCEEDED, TvrBit.NEW_CARD} <= {b for b in TvrBit if b in tvr}
    tvr = Tvr()
    check_velocity(None, 0, 3, 5, tvr)
    assert TvrBit.LCOL_EXCEEDED in tvr and TvrBit.UCOL_EXCEEDED in tvr
    tvr = Tvr()
    check_velocity(7, 0, None, None, tvr)
    assert tvr.to_bytes() == bytes(5)


@pytest.mark.parametrize(
    ("tvr", "iac_denial", "online_capable", "expected"),
    [
        ("0000000000", None, True, "TC"),
        ("0000008000", None, True, "ARQC"),  # floor limit exceeded: TAC online
        ("0010000000", None, True, "AAC"),  # service not allowed: TAC denial
        ("0000000800", "0000000800", True, "AAC"),  # IAC denial hit
        ("0000008000", None, False, "AAC"),  # offline-only: default codes decline
        ("0000000000", None, False, "TC"),
    ],
)
def test_terminal_action_analysis(
    tvr: str, iac_denial: str | None, online_capable: bool, expected: str
) -> None:
    """TVR against IAC/TAC: denial first, then online, then default for offline terminals."""
    decision = terminal_action_analysis(
        bytes.fromhex(tvr),
        iac_denial=bytes.fromhex(iac_denial) if iac_denial else None,
        iac_online=bytes.fromhex("D84004F800"),
        iac_default=bytes.fromhex("D84000A800"),
        tac_denial=TAC_DENIAL,
        tac_online=TAC_ONLINE,
        tac_default=TAC_DEFAULT,
        online_capable=online_capable,
    )
    assert decision == expected


def test_absent_iacs_use_defaults() -> None:
    """Without IACs, online and default codes are all ones: any TVR bit goes online."""
    decision = terminal_action_analysis(
        bytes.fromhex("0000000001"),
        iac_denial=None,
        iac_online=None,
        iac_default=None,
        tac_denial=bytes(5),
        tac_online=bytes(5),
        tac_default=bytes(5),
        online_capable=True,
    )
    assert decision == "ARQC"


def test_default_action_analysis() -> None:
    """Unable to go online: decline when the default codes match the TVR."""
    assert (
        default_action_analysis(bytes.fromhex("0000008000"), iac_default=None, tac_default=TAC_DEFAULT)
        == "AAC"
    )
    assert default_action_analysis(bytes(5), iac_default=bytes(5), tac_default=bytes(5)) == "TC"


def test_processing_restrictions() -> None:
    """Version mismatch, AUC, effective and expiry dates set TVR byte 2 bits."""
    tvr = Tvr()
    check_processing_restrictions(
        tvr=tvr,
        today=dt.date(2025, 5, 1),
        card_version=b"\x00\x8c",
        terminal_version=b"\x00\x30",
        auc=bytes.fromhex("AB00"),
        issuer_country=b"\x08\x40",
        terminal_country=b"\x01\x56",
        transaction_type="00",
        terminal_type="22",
        effective_date=bytes.fromhex("250601"),
        expiry_date=bytes.fromhex("240131"),
    )
    assert {b.name for b in TvrBit if b in tvr} == {
        "VERSIONS_DIFFER",
        "SERVICE_NOT_ALLOWED",
        "NOT_YET_EFFECTIVE",
        "EXPIRED",
    }


def test_usage_control() -> None:
    """AUC bits for domestic/international goods, cash, cashback and ATMs."""
    assert usage_allowed(bytes.fromhex("FF00"), domestic=True, transaction_type="00", atm=False)
    assert not usage_allowed(bytes.fromhex("2900"), domestic=False, transaction_type="00", atm=False)
    assert not usage_allowed(bytes.fromhex("FF00"), domestic=True, transaction_type="09", atm=False)
    assert usage_allowed(bytes.fromhex("FF80"), domestic=True, transaction_type="09", atm=False)
    assert not usage_allowed(bytes.fromhex("FD00"), domestic=True, transaction_type="01", atm=True)
    assert emv_date("491231") == dt.date(2049, 12, 31)
    assert emv_date(bytes.fromhex("991231")) == dt.date(1999, 12, 31)


def test_tvr_tsi_bits() -> None:
    """TVR/TSI objects set, test, clear and name their bits."""
    tvr = Tvr()
    tvr.set(TvrBit.CDA_FAILED)
    assert tvr.hex() == "0400000000" and tvr.names() == ["CDA_FAILED"]
    tvr.clear(TvrBit.CDA_FAILED)
    assert tvr == Tvr()
    tsi = Tsi()
    tsi.set(TsiBit.SCRIPT_PROCESSING)
    assert tsi.hex() == "0400" and "SCRIPT_PROCESSING" in repr(tsi)
    with pytest.raises(ValueError):
        Tvr(bytes(4))
