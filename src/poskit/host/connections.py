"""Connection limits of the host's TCP front end and the bookkeeping behind them.

A hostile network must not be able to hold the host's sockets or fill its log:

* :class:`ConnectionLimits` — the deadlines and caps (``POSKIT_HOST_*`` settings);
* :class:`PeerNotes` — what the application learnt from one frame (a valid message from a
  registered terminal, a verified MAC, a bad frame), so the server can tell a terminal from
  a stranger;
* :class:`BadFrameThrottle` — recent bad frames per remote address, to slow a peer down;
* :class:`RateLimitedLog` — a few warning lines per event and window, then one summary line
  with the count of the rest.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

__all__ = ["BadFrameThrottle", "ConnectionLimits", "PeerNotes", "RateLimitedLog"]


@dataclasses.dataclass(frozen=True, slots=True)
class ConnectionLimits:
    """Deadlines (seconds) and caps of the TCP front end; docs/protocol.md "Connection limits"."""

    #: once the first byte of a frame arrived, the whole frame must arrive within this time
    frame_timeout: float = 10.0
    #: a connection that has not sent one valid message within this time of opening is closed
    first_message_timeout: float = 30.0
    #: a connection that sent a valid message is closed after this long without a frame
    idle_timeout: float = 300.0
    #: open connections in total; when full the oldest unauthenticated one makes room
    max_connections: int = 2000
    #: open connections from one remote address
    max_per_address: int = 100
    #: bad frames one connection may send before it is closed
    max_bad_frames: int = 10
    #: bad frames from one address within ``bad_frame_window`` before it is slowed down
    address_bad_frames: int = 50
    bad_frame_window: float = 60.0
    #: the pause before the next read after a bad frame (and before serving a slowed address)
    bad_frame_delay: float = 0.5

    def __post_init__(self) -> None:
        for name in ("frame_timeout", "first_message_timeout", "idle_timeout", "bad_frame_window"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        for name in ("max_connections", "max_per_address", "max_bad_frames", "address_bad_frames"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.bad_frame_delay < 0:
            raise ValueError("bad_frame_delay must not be negative")


@dataclasses.dataclass(slots=True)
class PeerNotes:
    """What :meth:`HostApp.handle` learnt about the sender from one frame."""

    #: the frame was a message from a registered terminal (answered, not just closed)
    valid: bool = False
    #: the message's MAC verified under the terminal's keys: the sender holds them
    authenticated: bool = False
    #: the frame could not be unframed or decoded
    bad: bool = False


class BadFrameThrottle:
    """Bad frames per remote address within a sliding window."""

    def __init__(self, limits: ConnectionLimits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self._clock = clock
        self._seen: dict[str, list[float]] = {}

    def _recent(self, address: str) -> list[float]:
        horizon = self._clock() - self.limits.bad_frame_window
        times = [t for t in self._seen.get(address, ()) if t > horizon]
        if times:
            self._seen[address] = times
        else:
            self._seen.pop(address, None)
        return times

    def note(self, address: str) -> None:
        times = self._recent(address)
        # bounded memory per address: only "more than the limit" matters
        self._seen[address] = [*times[-self.limits.address_bad_frames :], self._clock()]

    def slowed(self, address: str) -> bool:
        """True while the address sent at least ``address_bad_frames`` bad frames in the window."""
        return len(self._recent(address)) >= self.limits.address_bad_frames


class RateLimitedLog:
    """At most ``burst`` warnings per event per ``window`` seconds; the rest become a count.

    When an event comes back after its window, or on :meth:`flush`, one
    ``host.log_suppressed`` line reports how many lines of that event were left out.
    """

    def __init__(
        self,
        logger: Any,
        *,
        burst: int = 5,
        window: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._log = logger
        self.burst = burst
        self.window = window
        self._clock = clock
        self._windows: dict[str, tuple[float, int, int]] = {}  # event -> (start, logged, suppressed)

    def warning(self, event: str, **fields: Any) -> None:
        now = self._clock()
        start, logged, suppressed = self._windows.get(event, (now, 0, 0))
        if now - start >= self.window:
            self._summary(event, suppressed)
            start, logged, suppressed = now, 0, 0
        if logged < self.burst:
            self._log.warning(event, **fields)
            logged += 1
        else:
            suppressed += 1
        self._windows[event] = (start, logged, suppressed)

    def flush(self) -> None:
        for event, (_start, _logged, suppressed) in self._windows.items():
            self._summary(event, suppressed)
        self._windows.clear()

    def _summary(self, event: str, suppressed: int) -> None:
        if suppressed:
            self._log.warning(
                "host.log_suppressed", suppressed_event=event, count=suppressed, window_s=self.window
            )
