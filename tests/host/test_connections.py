"""Connection bookkeeping: the bad-frame throttle window and the rate-limited warning log."""

from __future__ import annotations

from typing import Any

import pytest

from poskit.host.connections import BadFrameThrottle, ConnectionLimits, RateLimitedLog


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class _Recorder:
    def __init__(self) -> None:
        self.lines: list[tuple[str, dict[str, Any]]] = []

    def warning(self, event: str, **fields: Any) -> None:
        self.lines.append((event, fields))


def test_address_is_slowed_after_the_limit_and_recovers_after_the_window() -> None:
    """Three bad frames within the window slow the address down; once they age out it is served normally."""
    clock = _Clock()
    throttle = BadFrameThrottle(ConnectionLimits(address_bad_frames=3, bad_frame_window=60), clock)
    for _ in range(2):
        throttle.note("10.0.0.1")
    assert not throttle.slowed("10.0.0.1")
    throttle.note("10.0.0.1")
    assert throttle.slowed("10.0.0.1")
    assert not throttle.slowed("10.0.0.2")
    clock.now += 61
    assert not throttle.slowed("10.0.0.1")


def test_rate_limited_log_writes_a_burst_then_one_summary_per_window() -> None:
    """500 warnings in a window: 5 lines, then one host.log_suppressed line counting the other 495."""
    clock, out = _Clock(), _Recorder()
    log = RateLimitedLog(out, burst=5, window=60, clock=clock)
    for _ in range(500):
        log.warning("frame.unknown_dialect", peer="10.0.0.1:5000")
    assert len(out.lines) == 5
    clock.now += 60
    log.warning("frame.unknown_dialect", peer="10.0.0.1:5000")
    assert out.lines[5] == (
        "host.log_suppressed",
        {"suppressed_event": "frame.unknown_dialect", "count": 495, "window_s": 60},
    )
    assert out.lines[6][0] == "frame.unknown_dialect"
    log.flush()
    assert len(out.lines) == 7  # nothing was suppressed in the new window


def test_limits_refuse_nonsense_values() -> None:
    """A zero deadline or cap is a configuration error, not a host that closes everything."""
    with pytest.raises(ValueError, match="frame_timeout"):
        ConnectionLimits(frame_timeout=0)
    with pytest.raises(ValueError, match="max_per_address"):
        ConnectionLimits(max_per_address=0)
