"""The load generator of ``poskit bench host`` against the echo server of its ceiling measurement."""

from __future__ import annotations

import asyncio
import dataclasses

from tests.net import free_port

from poskit.benchmarks._echo import serve
from poskit.benchmarks._loadgen import (
    LoadPlan,
    LoadReport,
    _drive,
    decode_histogram,
    new_histogram,
    record_latency,
)
from poskit.iso8583.dialects import get_dialect
from poskit.iso8583.model import Request, TxnType


def _plan(port: int, terminals: int, per_terminal: int, rate: float | None) -> LoadPlan:
    dialect = get_dialect("cups")
    frames, stans = [], []
    for t in range(terminals):
        tid = f"T{t:07d}"
        ids = list(range(1, per_terminal + 1))
        requests = [Request(TxnType.ECHO, tid, "898310058120001", s, 1) for s in ids]
        frames.append([dialect.frame(dialect.encode(dialect.encode_request(r))) for r in requests])
        stans.append(ids)
    return LoadPlan(port, "cups", frames, stans, rate=rate, echo=True)


async def _run(rate: float | None) -> LoadReport:
    port = free_port()
    server = asyncio.create_task(serve(port))
    await asyncio.sleep(0.2)
    try:
        plan = _plan(port, terminals=4, per_terminal=25, rate=rate)
        return await _drive(plan)
    finally:
        server.cancel()


async def test_closed_loop_answers_every_request_matched_by_trace_number() -> None:
    report = await _run(None)
    assert report.sent == report.answered == 100
    assert report.codes == {"echo": 100} and report.errors == []
    assert decode_histogram(report.histogram).get_total_count() == 100


async def test_open_loop_keeps_the_offered_rate_and_times_from_the_schedule() -> None:
    """100 requests at 200/s take about half a second however fast the server answers."""
    report = await _run(200.0)
    assert report.answered == 100
    assert 0.4 <= report.elapsed_s < 2.0


def test_a_latency_beyond_the_histogram_range_is_kept_not_dropped() -> None:
    """A queue of minutes in an overloaded open-loop run still counts: a latency past the top
    of the range (1 h) is recorded as that top, never silently lost."""
    hist = new_histogram()
    assert record_latency(hist, 0.004) is True
    assert record_latency(hist, 200.0) is True  # minutes of queueing are inside the range
    assert record_latency(hist, 10 * 3600.0) is False
    assert hist.get_total_count() == 3
    assert hist.get_max_value() >= 3_599_000_000


async def test_open_loop_tells_apart_a_reversal_that_shares_its_sales_trace_number() -> None:
    """In open loop a request and another of a different class with the same trace number (a
    cups reversal reuses its sale's) are both outstanding; each answer is matched to its own."""
    port = free_port()
    server = asyncio.create_task(serve(port))
    await asyncio.sleep(0.2)
    try:
        dialect = get_dialect("cups")
        echo = dialect.encode_request(Request(TxnType.ECHO, "T0000001", "898310058120001", 7, 1))
        other = dataclasses.replace(echo, mti="0400")
        frames = [[dialect.frame(dialect.encode(m)) for m in (echo, other)]]
        report = await _drive(LoadPlan(port, "cups", frames, [[7, 7]], rate=100.0, echo=True))
    finally:
        server.cancel()
    assert report.errors == []
    assert report.answered == 2 and report.kinds == {"0820": 1, "0400": 1}
