"""Terminal alerts: what is wrong, and what the merchant should do, in English and Chinese."""

from __future__ import annotations

from poskit.tms.alerts import terminal_alerts


def test_mains_power_never_raises_a_battery_alert() -> None:
    assert terminal_alerts(state="online", power_source="mains", battery_percent=None, charging=None) == []


def test_low_battery_not_charging_says_to_charge_in_both_languages() -> None:
    (alert,) = terminal_alerts(state="online", power_source="battery", battery_percent=8, charging=False)
    assert alert.code == "battery_low" and alert.severity == "critical"
    assert "charge the terminal" in alert.text(chinese=False)
    assert "充电" in alert.text(chinese=True) and "8%" in alert.text(chinese=True)


def test_low_battery_on_the_charger_is_no_alert() -> None:
    assert terminal_alerts(state="online", power_source="battery", battery_percent=8, charging=True) == []


def test_a_silent_terminal_is_told_to_check_the_cable_or_sim() -> None:
    (alert,) = terminal_alerts(state="offline", power_source="battery", battery_percent=90, charging=False)
    assert alert.code == "silent" and "cable or SIM" in alert.advice_en and "SIM 卡" in alert.advice_zh
