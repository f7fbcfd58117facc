"""The heartbeat's status TLV: what the terminal reports about paper, versions, uptime and storage."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from poskit.terminal.devices.scripted import FixedPower, MemoryPrinter
from poskit.terminal.heartbeat import free_storage_mb, heartbeat_fields
from poskit.terminal.power import power_status

STARTED = datetime(2026, 12, 8, 8, 0, tzinfo=UTC)


class _BlindPrinter:
    """A printer that cannot sense its paper (a PDF file, a plain ESC/POS device)."""

    async def print_receipt(self, receipt: object, *, copy: str) -> None:
        return None

    async def print_report(self, title: str, lines: list[str]) -> None:
        return None


def test_fields_in_order_with_paper_versions_uptime_and_storage() -> None:
    """A sensing printer's paper level, both versions, whole seconds of uptime and free MiB are sent."""
    parts = heartbeat_fields(
        power=power_status(FixedPower(percent=None), {}),
        printer=MemoryPrinter(paper_low=True),
        params={"network": "4g", "parameter_version": "2026120801", "gps": "31.2,121.4"},
        software_version="1.4.2",
        started_at=STARTED,
        now=STARTED + timedelta(hours=2, seconds=5.7),
        storage_free_mb=512,
    )
    assert parts == [
        "power=mains",
        "paper=low",
        "network=4g",
        "version=1.4.2",
        "params=2026120801",
        "uptime=7205",
        "storage=512",
        "gps=31.2,121.4",
    ]


def test_paper_out_is_reported_as_out() -> None:
    """A printer with no paper reports ``paper=out``."""
    parts = heartbeat_fields(
        power=power_status(FixedPower(percent=50, on_charger=False), {}),
        printer=MemoryPrinter(paper=False),
        params={},
        software_version="1.0",
        started_at=STARTED,
        now=STARTED,
        storage_free_mb=None,
    )
    assert "paper=out" in parts and "params=0" in parts and "uptime=0" in parts


def test_unknown_paper_and_storage_are_left_out_not_guessed() -> None:
    """A printer that cannot sense paper, and storage that could not be measured, send no key."""
    parts = heartbeat_fields(
        power=power_status(FixedPower(), {}),
        printer=_BlindPrinter(),
        params={},
        software_version="1.0",
        started_at=STARTED,
        now=STARTED,
        storage_free_mb=None,
    )
    assert not [p for p in parts if p.startswith(("paper=", "storage="))]


def test_free_storage_is_measured_where_the_store_lives(tmp_path: Path) -> None:
    """Free storage of an existing directory is a non-negative number; a missing one gives None."""
    free = free_storage_mb(tmp_path)
    assert free is not None and free >= 0
    assert free_storage_mb(tmp_path / "missing") is None
