"""The simulated network between a terminal and the host: a :class:`HostLink` with faults.

Delivery is a direct call into the host's message handler on the same event loop, so
nothing depends on sockets or thread timing. Time on the wire is the simulated clock:
a lost or late answer costs the terminal its whole response time-out.
"""

from __future__ import annotations

from collections.abc import Callable

from poskit.iso8583.framing import unpack_frame
from poskit.sim.clock import SimClock
from poskit.sim.faults import FaultPlan, HostCrash, PowerLoss
from poskit.sim.host import SimHost
from poskit.terminal.devices.ports import ConnectFailed, NoResponse

__all__ = ["SimLink"]

#: Round trip of a healthy exchange, in simulated seconds.
_ROUND_TRIP = 0.2


class SimLink:
    """One terminal's line to the host."""

    def __init__(
        self,
        terminal_id: str,
        host: SimHost,
        clock: SimClock,
        faults: FaultPlan,
        trace: Callable[[str], None],
    ) -> None:
        self.terminal_id = terminal_id
        self.host = host
        self.clock = clock
        self.faults = faults
        self.trace = trace
        self.sent: list[bytes] = []  # every request this terminal put on the wire (for stale replays)

    @property
    def address(self) -> str:
        return f"sim:{self.terminal_id}"

    async def probe(self, *, timeout: float) -> bool:
        return True

    async def _deliver(self, frame: bytes, what: str) -> bytes | None:
        try:
            return await self.host.handle(frame, self.address)
        except HostCrash as crash:
            self.trace(f"host crashed ({crash.where}) handling {what}; restarted from its database")
            return None

    async def exchange(self, frame: bytes, *, timeout: float) -> bytes:
        f = self.faults
        if f.roll("net.refused"):
            self.trace("connection refused")
            raise ConnectFailed("connection refused (simulated)")
        if f.roll("terminal.power_before_send"):
            raise PowerLoss("before the request went out")
        if self.sent and f.roll("net.replay_stale"):
            stale = self.sent[f.rng.randrange(len(self.sent))]
            self.trace("an old request arrives late")
            await self._deliver(stale, "a stale request")
        self.sent.append(frame)
        if f.roll("net.request_lost"):
            self.clock.advance(timeout)
            self.trace("request lost")
            raise NoResponse("request lost (simulated)")
        answer = await self._deliver(frame, "the request")
        if f.roll("net.duplicate"):
            self.trace("request delivered twice")
            answer = await self._deliver(frame, "the duplicate") if answer is not None else None
        if answer is None:
            self.clock.advance(timeout)
            raise NoResponse("no answer (simulated)")
        fault = f.first("net.answer_lost", "net.answer_late", "net.reset")
        if fault is not None:
            self.clock.advance(timeout)
            self.trace(fault.removeprefix("net.").replace("_", " "))
            raise NoResponse(f"{fault} (simulated)")
        if f.roll("terminal.power_after_answer"):
            raise PowerLoss("after the host answered, before the terminal processed it")
        self.clock.advance(_ROUND_TRIP)
        return unpack_frame(answer)  # what the terminal's frame reader hands the engine
