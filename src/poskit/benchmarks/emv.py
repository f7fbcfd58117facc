"""Chip and contactless timing: card to approval on loopback, through the real kernel and host."""

from __future__ import annotations

import asyncio
import time

from poskit.benchmarks import BenchResult
from poskit.benchmarks._harness import bench_world, summary, terminal_engine
from poskit.money import Amount

DESCRIPTION = "time of a chip+PIN sale and of a contactless tap, card to approval, on loopback"


async def _measure(quick: bool) -> BenchResult:
    runs = 5 if quick else 40
    async with bench_world() as (settings, services):
        address = services.host.address
        store_c, chip = terminal_engine(
            settings, address, "BENCH001", "unionpay-debit", entry="chip", pins=["123456"]
        )
        store_t, tap = terminal_engine(settings, address, "BENCH002", "quickpass-phone", entry="tap")
        await chip.sign_on()
        await tap.sign_on()
        chip_ms, tap_ms = [], []
        for i in range(runs):
            t0 = time.perf_counter()
            outcome = await chip.sale(Amount.of(1000 + i, "CNY"))
            chip_ms.append((time.perf_counter() - t0) * 1000)
            assert outcome.approved, outcome.message
            t0 = time.perf_counter()
            outcome = await tap.sale(Amount.of(500 + i, "CNY"))
            tap_ms.append((time.perf_counter() - t0) * 1000)
            assert outcome.approved, outcome.message
        store_c.close()
        store_t.close()
    return BenchResult(
        "emv",
        "EMV: card to approval on loopback",
        [
            (
                "chip + online PIN sale (kernel, ODA, ARQC/ARPC, 2nd GENERATE AC, host, receipt)",
                summary(chip_ms),
            ),
            ("contactless tap under the QPS limit (no CVM)", summary(tap_ms)),
        ],
        notes=[
            "Each figure includes the terminal's reachability probe, the host's durable commit (SQLite, "
            "synchronous=FULL) and printing to memory; EMV's in-field target for a tap is 500 ms."
        ],
        data={"chip_ms": chip_ms, "tap_ms": tap_ms},
    )


def run(*, quick: bool = False) -> BenchResult:
    return asyncio.run(_measure(quick))
