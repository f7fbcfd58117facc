"""Terminal alerts from the last heartbeat and the host's flags: what is wrong and what the merchant
should do, in English and Chinese.

Read by the portal's terminal pages and ``poskit terminals show``. The fleet policy (the lowest
software version allowed) comes from ``POSKIT_TERMINAL_MINIMUM_SOFTWARE_VERSION``.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime, timedelta
from typing import Literal

__all__ = [
    "LOW_BATTERY_PERCENT",
    "NO_POLICY",
    "SILENT_AFTER",
    "AlertCode",
    "FleetPolicy",
    "TerminalAlert",
    "heartbeat_state",
    "software_in_policy",
    "terminal_alerts",
]

#: A terminal on battery, not charging, below this level is flagged before it dies mid-sale.
LOW_BATTERY_PERCENT = 20
#: No heartbeat or request for this long and an active terminal counts as silent ("offline").
SILENT_AFTER = timedelta(minutes=15)

AlertCode = Literal["battery_low", "silent", "paper_out", "paper_low", "software_outdated", "authentication"]


@dataclasses.dataclass(frozen=True, slots=True)
class FleetPolicy:
    """What the acquirer requires of every terminal; empty = no requirement."""

    minimum_software_version: str = ""


#: No requirement on the fleet (the default of the portal and ``poskit terminals show``).
NO_POLICY = FleetPolicy()


@dataclasses.dataclass(frozen=True, slots=True)
class TerminalAlert:
    code: AlertCode
    severity: Literal["warning", "critical"]
    message_en: str
    message_zh: str
    advice_en: str
    advice_zh: str

    def text(self, chinese: bool) -> str:
        return f"{self.message_zh}：{self.advice_zh}" if chinese else f"{self.message_en}: {self.advice_en}"


def heartbeat_state(status: str, last_seen: datetime | None, now: datetime) -> str:
    """``suspended`` (not active), ``never_seen``, ``online`` or ``offline`` (silent too long)."""
    if status != "active":
        return "suspended"
    if last_seen is None:
        return "never_seen"
    return "online" if now - last_seen <= SILENT_AFTER else "offline"


_VERSION = re.compile(r"\d+(?:\.\d+)*")


def _version_key(text: str) -> tuple[int, ...] | None:
    """The numeric release of ``1.4.2``, ``v1.4``, ``1.4.2-rc1``; None when there is none."""
    match = _VERSION.search(text)
    if match is None:
        return None
    parts = [int(p) for p in match.group().split(".")]
    while len(parts) > 1 and parts[-1] == 0:  # 1.4 and 1.4.0 are the same release
        parts.pop()
    return tuple(parts)


def software_in_policy(version: str, policy: FleetPolicy) -> bool:
    """Is the reported software at least the policy's minimum? A version without a number is not
    (the host cannot tell it is safe); a terminal that never reported one is not judged."""
    if not policy.minimum_software_version or not version:
        return True
    required, running = _version_key(policy.minimum_software_version), _version_key(version)
    if required is None:
        return True  # a policy without a number requires nothing
    return running is not None and running >= required


def terminal_alerts(
    *,
    state: str,
    power_source: str | None,
    battery_percent: int | None,
    charging: bool | None,
    paper: str | None = None,
    software_version: str = "",
    policy: FleetPolicy | None = None,
    authentication_failures: bool = False,
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
    if paper == "out":
        alerts.append(
            TerminalAlert(
                "paper_out",
                "critical",
                "Printer out of paper",
                "打印机缺纸",
                "load a new paper roll; slips not printed can be reprinted from the terminal",
                "请装入新的打印纸卷；未打印的签购单可在终端上重打",
            )
        )
    elif paper == "low":
        alerts.append(
            TerminalAlert(
                "paper_low",
                "warning",
                "Printer paper running low",
                "打印纸即将用完",
                "have a new paper roll ready",
                "请备好新的打印纸卷",
            )
        )
    policy = policy or NO_POLICY
    if not software_in_policy(software_version, policy):
        required = policy.minimum_software_version
        alerts.append(
            TerminalAlert(
                "software_outdated",
                "warning",
                f"Software {software_version} is older than the required {required}",
                f"终端软件版本 {software_version} 低于要求的 {required}",
                "keep the terminal switched on and connected so it can update, "
                "or call the acquirer's support",
                "请保持终端开机联网以便升级，或联系收单机构客服",
            )
        )
    if authentication_failures:
        alerts.append(
            TerminalAlert(
                "authentication",
                "critical",
                "Repeated authentication failures",
                "终端多次认证失败",
                "sign the terminal on again; if it keeps failing, stop using it and call the acquirer "
                "(it may have been tampered with or replaced)",
                "请重新签到；如仍失败，请停止使用该终端并联系收单机构（终端可能被篡改或调换）",
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
