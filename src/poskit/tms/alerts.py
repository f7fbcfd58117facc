"""Terminal alerts from the last status upload: what is wrong and what the merchant should do."""

from __future__ import annotations

import dataclasses
from typing import Literal

__all__ = ["LOW_BATTERY_PERCENT", "TerminalAlert", "terminal_alerts"]

#: A terminal on battery, not charging, below this level is flagged before it dies mid-sale.
LOW_BATTERY_PERCENT = 20


@dataclasses.dataclass(frozen=True, slots=True)
class TerminalAlert:
    code: Literal["battery_low", "silent"]
    severity: Literal["warning", "critical"]
    message_en: str
    message_zh: str
    advice_en: str
    advice_zh: str

    def text(self, chinese: bool) -> str:
        return f"{self.message_zh}：{self.advice_zh}" if chinese else f"{self.message_en}: {self.advice_en}"


def terminal_alerts(
    *,
    state: str,
    power_source: str | None,
    battery_percent: int | None,
    charging: bool | None,
) -> list[TerminalAlert]:
    """The alerts a terminal's record raises; a terminal on mains power never has a battery alert."""
    alerts: list[TerminalAlert] = []
    on_battery = power_source != "mains" and battery_percent is not None
    if on_battery and not charging and battery_percent is not None and battery_percent < LOW_BATTERY_PERCENT:
        alerts.append(
            TerminalAlert(
                "battery_low",
                "critical" if battery_percent < LOW_BATTERY_PERCENT // 2 else "warning",
                f"Battery {battery_percent}% and not charging",
                f"电池电量 {battery_percent}%，未在充电",
                "charge the terminal",
                "请给终端充电",
            )
        )
    if state == "offline":
        alerts.append(
            TerminalAlert(
                "silent",
                "warning",
                "No heartbeat from the terminal",
                "终端长时间未上送状态",
                "check that it is switched on, and check the cable or SIM card",
                "请确认终端已开机，并检查网线或 SIM 卡",
            )
        )
    return alerts
