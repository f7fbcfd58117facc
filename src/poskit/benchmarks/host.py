"""Host throughput: a load generator drives the real host process over TCP.

The host runs as its own process (``python -m poskit host``) on a temporary data
directory. The generator signs on K terminals, builds every request in advance
(MAC'd sales with encrypted PIN blocks, unique trace numbers), then each terminal
sends its requests one after another on its own connection, as POS terminals do,
all K at once. Every answer must be an approval; throughput, latency and how many
approvals shared one durable commit are reported.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from poskit.benchmarks import BenchResult
from poskit.benchmarks._harness import percentile, terminal_engine
from poskit.cards.book import card_by_name
from poskit.cards.magstripe import track2_for
from poskit.config import Settings
from poskit.iso8583.framing import read_frame
from poskit.iso8583.model import CardData, EntryMode, Request, TxnType
from poskit.money import Amount
from poskit.tms.provisioning import provision_demo, register_terminal

DESCRIPTION = "sales per second of the host process under K concurrent terminals (load generator over TCP)"

CARD = "magstripe-debit"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _wait_port(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            _r, w = await asyncio.open_connection("127.0.0.1", port)
            w.close()
            return
        await asyncio.sleep(0.2)
    raise TimeoutError(f"the host did not listen on {port}")


async def _terminal_run(port: int, frames: list[bytes], dialect: object, latencies: list[float]) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    approved = 0
    try:
        for frame in frames:
            t0 = time.perf_counter()
            writer.write(frame)
            await writer.drain()
            payload = await read_frame(reader)
            latencies.append((time.perf_counter() - t0) * 1000)
            envelope = dialect.unframe(payload)  # type: ignore[attr-defined]
            if dialect.decode(envelope.message).fields.get(39) == "00":  # type: ignore[attr-defined]
                approved += 1
    finally:
        writer.close()
    return approved


async def _measure(quick: bool) -> BenchResult:
    terminals, per_terminal = (4, 10) if quick else (32, 40)
    with tempfile.TemporaryDirectory(prefix="poskit-bench-host-") as tmp:
        port = _free_port()
        settings = Settings(data_dir=Path(tmp), host_port=port, portal_port=0)
        provision_demo(settings)
        tids = [f"LOAD{i:04d}" for i in range(terminals)]
        for tid in tids:
            register_terminal(settings, tid, "898310058120001")
        env = {**os.environ, "POSKIT_DATA_DIR": tmp, "POSKIT_HOST_PORT": str(port)}
        host = subprocess.Popen(
            [sys.executable, "-m", "poskit", "host", "--log-format", "json"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            await _wait_port(port)
            card = card_by_name(CARD)
            track = track2_for(card)
            batches: list[list[bytes]] = []
            dialect = None
            for tid in tids:
                store, engine = terminal_engine(settings, f"127.0.0.1:{port}", tid, CARD, register=False)
                signed = await engine.sign_on()
                assert signed.approved, signed.message
                dialect = engine.dialect
                frames = []
                for i in range(per_terminal):
                    request = Request(
                        TxnType.SALE,
                        tid,
                        "898310058120001",
                        store.next_stan(),
                        store.batch_no(),
                        amount=Amount.of(100 + i, "CNY"),
                        card=CardData(
                            entry_mode=EntryMode.SWIPE,
                            track2=track.to_field35(),
                            pin_max_length=6,
                            pin_block=engine.element.encrypt_pin(card.pin, card.pan),
                        ),
                        operator="01",
                        local_datetime=datetime.now().replace(microsecond=0),
                    )
                    raw = dialect.seal(dialect.encode_request(request), mac=engine.element.generate_mac)
                    frames.append(dialect.frame(raw))
                batches.append(frames)
                store.close()
            latencies: list[float] = []
            started = time.perf_counter()
            approved = await asyncio.gather(*(_terminal_run(port, f, dialect, latencies) for f in batches))
            elapsed = time.perf_counter() - started
        finally:
            host.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                host.wait(20)
    total = terminals * per_terminal
    assert sum(approved) == total, f"only {sum(approved)} of {total} approved"
    return BenchResult(
        "host",
        "Host: throughput under concurrent terminals",
        [
            (
                "load",
                f"{terminals} terminals x {per_terminal} magstripe + PIN sales = {total}, each terminal "
                "sending its next request when the previous answer arrives",
            ),
            ("throughput", f"{total / elapsed:.0f} approved sales/s"),
            (
                "latency per sale (request sent to answer read)",
                f"median {percentile(latencies, 50):.1f} ms, p95 {percentile(latencies, 95):.1f} ms, "
                f"max {max(latencies):.1f} ms",
            ),
        ],
        notes=[
            "The host is a separate process on SQLite (WAL, synchronous=FULL): every approval is "
            "answered after its durable commit; concurrent approvals share commits (group commit).",
            "Per sale the host verifies the MAC, translates and verifies the PIN in the HSM, runs the "
            "issuer decision, records the transaction, prices it and posts its journal.",
        ],
    )


def run(*, quick: bool = False) -> BenchResult:
    return asyncio.run(_measure(quick))
