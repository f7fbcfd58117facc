"""The terminal's power: mains or battery, and whether a payment may start on what is left."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Literal

from poskit.terminal.devices.ports import PowerSource

__all__ = [
    "DEFAULT_BATTERY_CRITICAL",
    "DEFAULT_BATTERY_LOW",
    "PowerStatus",
    "power_status",
]

#: Below this the terminal warns the operator to charge it (profile param ``battery_low``).
DEFAULT_BATTERY_LOW = 15
#: Below this, off the charger, a payment is refused: the machine may die between the
#: authorisation and the slip, leaving a reversal the merchant cannot see (``battery_critical``).
DEFAULT_BATTERY_CRITICAL = 5


@dataclasses.dataclass(frozen=True, slots=True)
class PowerStatus:
    source: Literal["mains", "battery"]
    percent: int | None  # None on mains: a machine without a battery is never "0 %"
    charging: bool
    low_at: int
    critical_at: int

    @property
    def low(self) -> bool:
        return self.percent is not None and not self.charging and self.percent < self.low_at

    @property
    def critical(self) -> bool:
        return self.percent is not None and not self.charging and self.percent < self.critical_at

    def status_fields(self) -> list[str]:
        """The power part of the 0820 status TLV (docs/protocol.md, terminal status)."""
        if self.percent is None:
            return ["power=mains"]
        return ["power=battery", f"battery={self.percent}", f"charging={int(self.charging)}"]

    def refusal(self) -> str | None:
        """Why a payment may not start now, or None."""
        if not self.critical:
            return None
        return (
            f"battery {self.percent}% is too low to finish a payment (below {self.critical_at}%): "
            "connect the charger, then take the payment"
        )

    def warning(self) -> str | None:
        return f"Battery low ({self.percent}%): connect the charger" if self.low else None


def _level(params: Mapping[str, Any], key: str, default: int) -> int:
    try:
        return max(0, min(100, int(params.get(key, default))))
    except (TypeError, ValueError):
        return default


def power_status(power: PowerSource, params: Mapping[str, Any]) -> PowerStatus:
    percent = power.battery_percent()
    return PowerStatus(
        source="mains" if percent is None else "battery",
        percent=None if percent is None else max(0, min(100, percent)),
        charging=percent is not None and power.charging(),
        low_at=_level(params, "battery_low", DEFAULT_BATTERY_LOW),
        critical_at=_level(params, "battery_critical", DEFAULT_BATTERY_CRITICAL),
    )
