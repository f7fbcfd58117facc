"""kill -9 of the in-memory host under load: every acknowledged approval survives, exactly once."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from poskit.benchmarks._harness import terminal_engine
from poskit.config import Settings
from poskit.money import Amount
from poskit.store.db import make_engine
from poskit.store.schema import transactions

TERMINALS = 4
KILLS = 3


def _free_port() -> int:
    for _ in range(50):
        port = random.randint(20000, 60000)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port")


def _start_host(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:  # the child keeps its own descriptor
        process = subprocess.Popen([sys.executable, "-m", "poskit", "host"], env=env, stdout=out, stderr=out)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"host exited: {log.read_text()[-2000:]}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return process
        time.sleep(0.1)
    process.kill()
    raise RuntimeError("host did not start listening")


async def _till(
    settings: Settings, address: str, tid: str, acks: list[tuple[str, str]], stop: asyncio.Event
) -> None:
    """One terminal selling as fast as the host answers; approved answers are acknowledgements."""
    store, engine = terminal_engine(settings, address, tid, "magstripe-debit", pins=["654321"])
    try:
        while not stop.is_set():
            try:
                outcome = await engine.sale(Amount.of(100 + random.randrange(50), "CNY"))
            except (OSError, ConnectionError):
                outcome = None
            if outcome is not None and outcome.approved and outcome.rrn:
                acks.append((tid, outcome.rrn))
            elif outcome is None or not outcome.approved:
                await asyncio.sleep(0.05)  # the host is down: the terminal keeps its reversal pending
        for _ in range(100):  # what was left unanswered is reversed once the host is back
            if await engine.send_pending_reversals():
                break
            await asyncio.sleep(0.1)
    finally:
        store.close()


def test_host_killed_under_load_keeps_every_acknowledged_approval(
    demo_copy: Settings, tmp_path: Path
) -> None:
    """Four terminals sell while the memory-engine host process is killed with SIGKILL three times and
    restarted from the database alone: every approval a terminal received is stored exactly once, as
    approved, and `poskit ledger check` is clean afterwards."""
    port = _free_port()
    settings = demo_copy.model_copy(update={"host_port": port})
    env = {
        **os.environ,
        "POSKIT_DATA_DIR": str(settings.data_dir),
        "POSKIT_HOST_PORT": str(port),
        "POSKIT_HOST_ENGINE": "memory",
    }
    log = tmp_path / "host.log"
    host = _start_host(env, port, log)
    acks: list[tuple[str, str]] = []

    async def scenario() -> None:
        nonlocal host
        stop = asyncio.Event()
        tills = [
            asyncio.create_task(_till(settings, f"127.0.0.1:{port}", f"K{i:07d}", acks, stop))
            for i in range(TERMINALS)
        ]
        for _ in range(KILLS):
            target = len(acks) + 20
            deadline = time.monotonic() + 60
            while len(acks) < target and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            assert len(acks) >= target, "the host stopped approving"
            host.send_signal(signal.SIGKILL)
            host.wait()
            await asyncio.sleep(0.2)
            host = await asyncio.to_thread(_start_host, env, port, log)
        target = len(acks) + 20
        while len(acks) < target:
            await asyncio.sleep(0.02)
        stop.set()
        await asyncio.gather(*tills)

    try:
        asyncio.run(scenario())
    finally:
        host.send_signal(signal.SIGTERM)
        host.wait(30)
    engine = make_engine(settings.resolved_database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(transactions.c.rrn, func.count(), func.min(transactions.c.status))
                .where(transactions.c.rrn.in_([rrn for _tid, rrn in acks]))
                .group_by(transactions.c.rrn)
            ).all()
    finally:
        engine.dispose()
    assert len(acks) >= (KILLS + 1) * 20 and len(set(acks)) == len(acks)
    stored = {rrn: (count, status) for rrn, count, status in rows}
    assert set(stored) == {rrn for _tid, rrn in acks}
    assert all(v == (1, "approved") for v in stored.values()), stored
    check = subprocess.run(
        [sys.executable, "-m", "poskit", "ledger", "check", "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    report: dict[str, Any] = json.loads(check.stdout)
    assert report["ok"], report["breaks"]
