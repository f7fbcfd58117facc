"""Field 37 of an 0810 / 0510: the host's reference of the exchange (protocol.md §5.1)."""

from __future__ import annotations

from datetime import datetime

from poskit.host.app import exchange_reference


def test_reference_is_year_digit_day_of_year_time_and_trace() -> None:
    """2025-06-15 10:30:00, trace 000001 → 5 166 103000 01 (the §10.2 example)."""
    assert exchange_reference(datetime(2025, 6, 15, 10, 30, 0), 1) == "516610300001"


def test_reference_keeps_the_last_two_trace_digits() -> None:
    """Trace 123456 on 31 December contributes 56 after day 365."""
    assert exchange_reference(datetime(2026, 12, 31, 23, 59, 58), 123456) == "636523595856"
