"""The load generator of ``poskit bench host``: its own process, never the host's.

It drives terminals over TCP with frames built in advance (each terminal signed on
with its own keys, its own trace numbers). Two modes:

- closed loop: each terminal sends its next request when the previous answer
  arrives, for saturation throughput;
- open loop: every request has a scheduled send time (a fixed offered rate spread
  over the terminals), requests are sent at that time whether or not earlier answers
  have arrived, and latency is measured from the *scheduled* time, so queueing in
  the host shows up in the percentiles (no coordinated omission).

Answers are matched to requests by trace number (field 11), so the same code drives
the echo server of the ceiling measurement, which returns each frame unchanged.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections import Counter
from multiprocessing.connection import Connection
from typing import Any

from hdrh.histogram import HdrHistogram

from poskit.eventloop import run
from poskit.iso8583.dialects import get_dialect
from poskit.iso8583.framing import read_frame

__all__ = [
    "LoadPlan",
    "LoadReport",
    "decode_histogram",
    "generator_main",
    "idle_main",
    "new_histogram",
    "record_latency",
]

# Latencies are recorded in microseconds, 1 µs to 1 h, 3 significant digits. An HDR histogram
# silently drops a value above its range, so anything longer is recorded as 1 h (and counted).
_LOWEST_US, _HIGHEST_US, _DIGITS = 1, 3_600_000_000, 3


def new_histogram() -> HdrHistogram:
    return HdrHistogram(_LOWEST_US, _HIGHEST_US, _DIGITS)


def record_latency(hist: HdrHistogram, seconds: float) -> bool:
    """Record one latency; False when it was beyond the range and recorded as the range's top."""
    micros = max(_LOWEST_US, int(seconds * 1e6))
    hist.record_value(min(micros, _HIGHEST_US))
    return micros <= _HIGHEST_US


@dataclasses.dataclass(frozen=True)
class LoadPlan:
    """What one generator run sends: ``frames[t]`` are terminal t's framed requests in order,
    ``stans[t]`` their trace numbers. ``rate`` (requests/s over all terminals) selects open loop."""

    port: int
    dialect: str
    frames: list[list[bytes]]
    stans: list[list[int]]
    rate: float | None = None
    echo: bool = False


@dataclasses.dataclass
class LoadReport:
    sent: int
    answered: int
    elapsed_s: float
    codes: dict[str, int]
    kinds: dict[str, int]
    histogram: str  # HdrHistogram.encode()
    errors: list[str]


class _Terminal:
    def __init__(self, plan: LoadPlan, index: int, hist: HdrHistogram, codes: Counter[str]) -> None:
        self.plan = plan
        self.frames = plan.frames[index]
        self.stans = plan.stans[index]
        self.hist = hist
        self.codes = codes
        self.dialect = get_dialect(plan.dialect)
        # An answer is matched by trace number and message class: in the cups dialect a
        # reversal (0400) carries its sale's trace number, and in open loop both can be
        # outstanding at once. Decoded here, before the clock starts.
        self.keys = [
            (stan, self._message_class(frame[2:]))  # a frame is its 2-byte length, then the payload
            for frame, stan in zip(self.frames, self.stans, strict=True)
        ]
        self.pending: dict[tuple[int, str], float] = {}
        self.answered = 0
        self.unmatched = 0
        self.kinds: Counter[str] = Counter()

    def _message_class(self, payload: bytes) -> str:
        return str(self.dialect.decode(self.dialect.unframe(payload).message).mti)[:2]

    def _record(self, payload: bytes) -> None:
        message = self.dialect.decode(self.dialect.unframe(payload).message)
        started = self.pending.pop((int(message.fields[11]), str(message.mti)[:2]), None)
        if started is None:  # an answer to nothing outstanding: count it, keep reading
            self.unmatched += 1
            return
        record_latency(self.hist, time.perf_counter() - started)
        self.codes["echo" if self.plan.echo else str(message.fields.get(39, "none"))] += 1
        self.kinds[message.mti] += 1
        self.answered += 1

    async def closed(self) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.plan.port)
        try:
            for frame, key in zip(self.frames, self.keys, strict=True):
                self.pending[key] = time.perf_counter()
                writer.write(frame)
                self._record(await read_frame(reader))
        finally:
            writer.close()

    async def open(self, start: float, offset: float, interval: float) -> None:
        """Send frame i at ``start + offset + i * interval`` regardless of answers."""
        reader, writer = await asyncio.open_connection("127.0.0.1", self.plan.port)

        async def receive() -> None:
            while self.pending or sending:
                self._record(await read_frame(reader))

        sending = True
        receiver = asyncio.create_task(receive())
        try:
            for i, (frame, key) in enumerate(zip(self.frames, self.keys, strict=True)):
                due = start + offset + i * interval
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                self.pending[key] = due  # latency counts from the intended send time
                writer.write(frame)
            sending = False
            if self.pending:
                await receiver
        finally:
            receiver.cancel()
            writer.close()


async def _drive(plan: LoadPlan) -> LoadReport:
    hist = new_histogram()
    codes: Counter[str] = Counter()
    terminals = [_Terminal(plan, i, hist, codes) for i in range(len(plan.frames))]
    errors: list[str] = []
    started = time.perf_counter()
    if plan.rate is None:
        runs = [t.closed() for t in terminals]
    else:
        per_terminal_rate = plan.rate / len(terminals)
        interval = 1.0 / per_terminal_rate
        start = started + 0.5  # every connection is open before the first scheduled send
        runs = [t.open(start, interval * i / len(terminals), interval) for i, t in enumerate(terminals)]
    results = await asyncio.gather(*runs, return_exceptions=True)
    elapsed = time.perf_counter() - started - (0.5 if plan.rate is not None else 0.0)
    errors += [f"{type(r).__name__}: {r}" for r in results if isinstance(r, BaseException)]
    unmatched = sum(t.unmatched for t in terminals)
    if unmatched:
        errors.insert(0, f"{unmatched} answers matched no outstanding request")
    kinds: Counter[str] = Counter()
    for t in terminals:
        kinds.update(t.kinds)
    return LoadReport(
        sent=sum(len(f) for f in plan.frames),
        answered=sum(t.answered for t in terminals),
        elapsed_s=elapsed,
        codes=dict(codes),
        kinds=dict(kinds),
        histogram=hist.encode().decode("ascii") if hist.get_total_count() else "",
        errors=errors[:10],
    )


def generator_main(plan: LoadPlan, pipe: Connection) -> None:
    """Process entry point: run the plan, send the :class:`LoadReport` back."""
    # uvloop when installed: the generator should cost as little of the shared CPU as it can.
    pipe.send(run(_drive(plan), loop="auto"))
    pipe.close()


async def _hold_idle(port: int, count: int, pipe: Connection) -> None:
    writers: list[asyncio.StreamWriter] = []
    failed = 0
    for _ in range(count):
        try:
            _reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writers.append(writer)
        except OSError:
            failed += 1
    await asyncio.sleep(1.0)  # let the host accept and set up every connection
    pipe.send({"connected": len(writers), "failed": failed})
    await asyncio.get_running_loop().run_in_executor(None, pipe.recv)  # until told to let go
    for writer in writers:
        writer.close()


def idle_main(port: int, count: int, pipe: Connection) -> None:
    """Process entry point: open ``count`` idle terminal connections and hold them."""
    run(_hold_idle(port, count, pipe), loop="auto")


def decode_histogram(encoded: str) -> Any:
    return HdrHistogram.decode(encoded) if encoded else new_histogram()
