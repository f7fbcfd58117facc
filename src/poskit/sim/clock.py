"""The simulated clock: time moves only when the simulation says so.

Every component of a simulated world reads this clock instead of the wall clock, so a
full merchant day passes in the time it takes to compute it, and a seed replays exactly.
A terminal's clock may drift or jump relative to the host's (a real POS's RTC does).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

__all__ = ["SimClock", "SkewedClock"]


class SimClock:
    """The world's true time; ``sleep`` advances it instead of waiting."""

    def __init__(self, start: datetime) -> None:
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def __call__(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> None:
        if seconds > 0:
            self._now += timedelta(seconds=seconds)

    async def sleep(self, seconds: float) -> None:
        self.advance(seconds)


class SkewedClock:
    """A device clock: the world's time plus an offset that drifts or jumps."""

    def __init__(self, world: SimClock) -> None:
        self.world = world
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return self.world.now() + self.offset

    def __call__(self) -> datetime:
        return self.now()

    def shift(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)
