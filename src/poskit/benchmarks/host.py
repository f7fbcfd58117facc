"""Host throughput: many terminals selling at once over TCP, with grouped durable commits."""

from __future__ import annotations

import asyncio
import time

from poskit.benchmarks import BenchResult
from poskit.benchmarks._harness import bench_world, percentile, terminal_engine
from poskit.money import Amount

DESCRIPTION = "sales per second through the TCP host with concurrent terminals (group commit on SQLite)"


async def _measure(quick: bool) -> BenchResult:
    terminals, per_terminal = (4, 5) if quick else (16, 25)
    async with bench_world() as (settings, services):
        address = services.host.address
        engines = [
            terminal_engine(settings, address, f"LOAD{i:04d}", "magstripe-debit", pins=["654321"])
            for i in range(terminals)
        ]
        for _, engine in engines:
            await engine.sign_on()
        latencies: list[float] = []

        async def run_terminal(engine: object) -> None:
            for i in range(per_terminal):
                t0 = time.perf_counter()
                outcome = await engine.sale(Amount.of(100 + i, "CNY"))  # type: ignore[attr-defined]
                latencies.append((time.perf_counter() - t0) * 1000)
                assert outcome.approved, outcome.message

        stats_before = services.writer.stats.commits, services.writer.stats.jobs
        started = time.perf_counter()
        await asyncio.gather(*(run_terminal(engine) for _, engine in engines))
        elapsed = time.perf_counter() - started
        commits = services.writer.stats.commits - stats_before[0]
        jobs = services.writer.stats.jobs - stats_before[1]
        for store, _ in engines:
            store.close()
    total = terminals * per_terminal
    return BenchResult(
        "host",
        "Host: concurrent terminals, sales per second",
        [
            ("terminals x sales", f"{terminals} x {per_terminal} = {total} magstripe + PIN sales"),
            (
                "throughput (whole system: terminal engines + host in one process)",
                f"{total / elapsed:.0f} sales/s",
            ),
            (
                "latency per sale",
                f"median {percentile(latencies, 50):.1f} ms, p95 {percentile(latencies, 95):.1f} ms",
            ),
            (
                "durable commits for the writes",
                f"{commits} commits for {jobs} jobs ({jobs / max(commits, 1):.1f} per commit)",
            ),
        ],
        notes=[
            "Terminals and host share one Python process and event loop here, so the figure is a floor "
            "for the host alone; every approval is answered only after its SQLite commit (WAL, FULL)."
        ],
    )


def run(*, quick: bool = False) -> BenchResult:
    return asyncio.run(_measure(quick))
