"""The terminal's heartbeat: what the 0820 status TLV reports about the machine (docs/protocol.md §5)."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

from poskit.terminal.devices.ports import PaperSensor, Printer
from poskit.terminal.power import PowerStatus

__all__ = ["DEFAULT_PARAMETER_VERSION", "free_storage_mb", "heartbeat_fields"]

#: The version a terminal runs before any parameter set was downloaded: its factory defaults.
DEFAULT_PARAMETER_VERSION = "0"


def free_storage_mb(directory: Path) -> int | None:
    """Free space where the terminal keeps its store, in MiB; None when the directory is unreadable."""
    try:
        return shutil.disk_usage(directory).free // (1024 * 1024)
    except OSError:
        return None


def heartbeat_fields(
    *,
    power: PowerStatus,
    printer: Printer,
    params: dict[str, Any],
    software_version: str,
    started_at: datetime,
    now: datetime,
    storage_free_mb: int | None,
) -> list[str]:
    """The ``key=value`` items of the status TLV, in the documented order.

    ``paper`` is sent only by a printer that can sense its paper; ``storage`` only when it could
    be measured: an absent key leaves the host's last value, a guessed one would mislead it."""
    parts = [*power.status_fields()]
    if isinstance(printer, PaperSensor):
        parts.append(f"paper={printer.paper_level()}")
    parts += [
        f"network={params.get('network', 'ethernet')}",
        f"version={software_version}",
        f"params={params.get('parameter_version', DEFAULT_PARAMETER_VERSION)}",
        f"uptime={max(0, int((now - started_at).total_seconds()))}",
    ]
    if storage_free_mb is not None:
        parts.append(f"storage={storage_free_mb}")
    if params.get("gps"):
        parts.append(f"gps={params['gps']}")
    return parts
