"""Terminal alerts: what is wrong, and what the merchant should do, in English and Chinese."""

from __future__ import annotations

import pytest

from poskit.config import Settings
from poskit.tms.alerts import FleetPolicy, software_in_policy, terminal_alerts


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


def _alerts(**kw: object) -> list[str]:
    base: dict[str, object] = {
        "state": "online",
        "power_source": "mains",
        "battery_percent": None,
        "charging": None,
    }
    return [a.code for a in terminal_alerts(**{**base, **kw})]  # type: ignore[arg-type]


def test_printer_out_of_paper_says_to_load_a_roll_in_both_languages() -> None:
    """Paper out is critical and tells the merchant to load a roll; paper low is a warning; ok is none."""
    (alert,) = terminal_alerts(
        state="online", power_source="mains", battery_percent=None, charging=None, paper="out"
    )
    assert (alert.code, alert.severity) == ("paper_out", "critical")
    assert "load a new paper roll" in alert.text(chinese=False) and "打印纸卷" in alert.text(chinese=True)
    assert _alerts(paper="low") == ["paper_low"] and _alerts(paper="ok") == [] and _alerts(paper=None) == []


def test_software_older_than_the_policy_minimum_is_out_of_policy() -> None:
    """A version below the configured minimum raises software_outdated naming both versions;
    equal or newer, no policy, or never reported raises nothing."""
    policy = FleetPolicy(minimum_software_version="1.4.2")
    (alert,) = terminal_alerts(
        state="online",
        power_source="mains",
        battery_percent=None,
        charging=None,
        software_version="1.3.9",
        policy=policy,
    )
    assert alert.code == "software_outdated" and "1.3.9" in alert.message_en and "1.4.2" in alert.message_zh
    assert "update" in alert.advice_en and "升级" in alert.advice_zh
    assert _alerts(software_version="1.10.0", policy=policy) == []  # numeric, not text, order
    assert _alerts(software_version="1.4.2", policy=policy) == []
    assert _alerts(software_version="1.3.9") == []  # no policy configured
    assert _alerts(software_version="", policy=policy) == []  # never reported: not judged


def test_version_comparison_reads_the_numeric_release() -> None:
    """``v1.4`` equals ``1.4.0``; a version without any number is out of policy."""
    policy = FleetPolicy(minimum_software_version="1.4.0")
    assert software_in_policy("v1.4", policy) and software_in_policy("1.4.0-rc1", policy)
    assert not software_in_policy("1.3", policy) and not software_in_policy("dev-build", policy)


def test_repeated_authentication_failures_say_to_sign_on_again_then_call_the_acquirer() -> None:
    """An open authentication_failures flag raises a critical alert telling the merchant what to do."""
    (alert,) = terminal_alerts(
        state="online",
        power_source="mains",
        battery_percent=None,
        charging=None,
        authentication_failures=True,
    )
    assert (alert.code, alert.severity) == ("authentication", "critical")
    assert "sign the terminal on again" in alert.advice_en and "call the acquirer" in alert.advice_en
    assert "重新签到" in alert.advice_zh and "收单机构" in alert.advice_zh


def test_settings_give_the_fleet_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    """POSKIT_TERMINAL_MINIMUM_SOFTWARE_VERSION configures the minimum software version."""

    monkeypatch.setenv("POSKIT_TERMINAL_MINIMUM_SOFTWARE_VERSION", "2.0")
    assert Settings().fleet_policy() == FleetPolicy(minimum_software_version="2.0")
