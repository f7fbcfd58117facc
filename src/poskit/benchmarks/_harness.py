"""Shared set-up for benchmarks: a throw-away data directory, the host in-process, scripted terminals."""

from __future__ import annotations

import contextlib
import statistics
import tempfile
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

from poskit.cards.book import card_by_name
from poskit.config import Settings
from poskit.demo.world import provision_demo
from poskit.host.runtime import RunningServices
from poskit.logs import configure_logging
from poskit.terminal.devices.scripted import ScriptedPinEntry, TestCardReader, scripted_devices
from poskit.terminal.engine import TerminalEngine
from poskit.terminal.runtime import open_terminal
from poskit.terminal.store import TerminalStore
from poskit.tms.registry import register_terminal

__all__ = ["bench_world", "percentile", "summary", "terminal_engine"]


@contextlib.asynccontextmanager
async def bench_world() -> AsyncIterator[tuple[Settings, RunningServices]]:
    """A provisioned temporary data directory with the host listening on a free port."""
    import logging

    configure_logging("console", level=logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="poskit-bench-") as tmp:
        settings = Settings(data_dir=Path(tmp), host_port=0, portal_port=0)
        provision_demo(settings)
        services = RunningServices(settings, portal=False)
        await services.start()
        try:
            yield settings, services
        finally:
            await services.stop()


def terminal_engine(
    settings: Settings,
    address: str,
    terminal_id: str,
    card: str,
    *,
    entry: str = "swipe",
    pins: Sequence[str] = (),
    register: bool = True,
) -> tuple[TerminalStore, TerminalEngine]:
    if register:
        register_terminal(settings, terminal_id, "898310058120001")
    return open_terminal(
        settings,
        terminal_id,
        lambda link: scripted_devices(
            link,
            TestCardReader(card_by_name(card), entry),  # type: ignore[arg-type]
            ScriptedPinEntry(list(pins) * 100_000),
        ),
        host_address=address,
    )


def percentile(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def summary(values_ms: Sequence[float]) -> str:
    return (
        f"median {statistics.median(values_ms):.1f} ms, p95 {percentile(values_ms, 95):.1f} ms, "
        f"min {min(values_ms):.1f} ms ({len(values_ms)} runs)"
    )
