"""The terminal's power policy: mains is never "0 %", and a payment is refused on a dying battery."""

from __future__ import annotations

from poskit.terminal.devices.scripted import FixedPower
from poskit.terminal.power import DEFAULT_BATTERY_CRITICAL, power_status


def test_mains_reports_no_battery_level_and_never_refuses() -> None:
    status = power_status(FixedPower(percent=None, on_charger=False), {})
    assert status.source == "mains" and status.percent is None
    assert status.status_fields() == ["power=mains"]
    assert status.refusal() is None and status.warning() is None


def test_battery_reports_level_and_charging() -> None:
    status = power_status(FixedPower(percent=64, on_charger=False), {})
    assert status.status_fields() == ["power=battery", "battery=64", "charging=0"]


def test_below_critical_off_the_charger_refuses_and_says_to_charge() -> None:
    status = power_status(FixedPower(percent=DEFAULT_BATTERY_CRITICAL - 1, on_charger=False), {})
    refusal = status.refusal()
    assert refusal is not None and "connect the charger" in refusal and f"{status.percent}%" in refusal


def test_critical_battery_on_the_charger_may_still_take_a_payment() -> None:
    assert power_status(FixedPower(percent=2, on_charger=True), {}).refusal() is None


def test_levels_are_configurable_per_terminal() -> None:
    params = {"battery_critical": 30, "battery_low": 50}
    status = power_status(FixedPower(percent=25, on_charger=False), params)
    assert status.critical and status.low
    assert power_status(FixedPower(percent=40, on_charger=False), params).refusal() is None
    assert power_status(FixedPower(percent=40, on_charger=False), params).warning() is not None
