"""A seeded random day with dropped connections, lost answers and power cuts.

Whatever happens on the wire or to the terminal process, at the end the terminal's
totals equal the host's, and every test card's issuer balance equals its opening
balance minus exactly the money the terminal's records say was taken.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest

from poskit.cards.book import card_by_name
from poskit.money import Amount
from poskit.terminal.devices.ports import ConnectFailed, NoResponse
from poskit.terminal.engine import TerminalEngine

pytestmark = pytest.mark.usefixtures("live_host")

CARDS = {"magstripe-debit": "654321", "daily-limit": None, "unionpay-credit": "111111"}


class FaultyLink:
    """Forwards to the real host but, as the seeded dice say, fails like a real network."""

    def __init__(
        self, inner: Any, rng: random.Random, *, p_refuse: float, p_lose: float, p_cut: float
    ) -> None:
        self.inner, self.rng = inner, rng
        self.p_refuse, self.p_lose, self.p_cut = p_refuse, p_lose, p_cut
        self.events: list[str] = []

    @property
    def address(self) -> str:
        return str(self.inner.address)

    async def probe(self, *, timeout: float) -> bool:
        return bool(await self.inner.probe(timeout=timeout))

    async def exchange(self, frame: bytes, *, timeout: float) -> bytes:
        roll = self.rng.random()
        if roll < self.p_refuse:
            self.events.append("refused")
            raise ConnectFailed("connection refused (injected)")
        answer = await self.inner.exchange(frame, timeout=timeout)
        if roll < self.p_refuse + self.p_lose:
            self.events.append("lost")
            raise NoResponse("answer lost (injected)")
        if roll < self.p_refuse + self.p_lose + self.p_cut:
            self.events.append("power cut")
            raise asyncio.CancelledError  # the process dies right after the host answered
        return bytes(answer)


def _expected_balance(counter: Any, card: str, opening: int) -> int:
    """Opening balance minus what the terminal's records say this card paid, plus refunds and voids."""
    pan = card_by_name(card).pan
    total = opening
    for r in counter.store.records():
        if not r.pan_token or counter.element.reveal_pan(r.pan_token) != pan:
            continue
        if r.txn_type == "sale" and r.status == "approved":
            total -= r.amount
        elif r.txn_type == "refund" and r.status == "approved":
            total += r.amount
    return total


async def test_random_day_with_faults_keeps_terminal_host_and_issuer_in_step(
    new_counter: Callable[..., Any], issuer_balance: Callable[[str], int]
) -> None:
    """40 seeded operations with injected refusals, lost answers and power cuts; then settle and check."""
    rng = random.Random(20261124)
    counter = new_counter()
    opening = {card: issuer_balance(card) for card in CARDS}
    link = FaultyLink(counter.link, rng, p_refuse=0.08, p_lose=0.12, p_cut=0.08)
    for _ in range(40):
        card = rng.choice(list(CARDS))
        pin = CARDS[card]
        engine: TerminalEngine = counter.engine(card, pins=(pin,) if pin else (), link=link)
        action = rng.random()
        try:
            if action < 0.7:
                await engine.sale(Amount.of(rng.randint(100, 20_000), "CNY"))
            elif action < 0.85:
                approved = [
                    r
                    for r in counter.store.records(counter.store.batch_no())
                    if r.txn_type == "sale" and r.status == "approved"
                ]
                if approved:
                    await engine.void(rng.choice(approved).stan, "123456")
            else:
                sales = [
                    r for r in counter.store.records() if r.txn_type == "sale" and r.status == "approved"
                ]
                if sales:
                    target = rng.choice(sales)
                    await engine.refund(
                        Amount.of(max(1, target.amount // 3), "CNY"),
                        target.rrn or "",
                        target.local_datetime.strftime("%m%d"),
                        "123456",
                    )
        except asyncio.CancelledError:
            pass  # power cut: the next engine starts from what the store kept
    assert {"refused", "lost", "power cut"} <= set(link.events)
    clean = counter.engine()
    assert await clean.send_pending_reversals() and await clean.send_pending_uploads()
    settled = await clean.settle()
    assert settled.approved, settled.message
    assert settled.extra["balanced"] is True, (settled.extra["terminal_totals"], settled.extra["host_totals"])
    for card in CARDS:
        assert issuer_balance(card) == _expected_balance(counter, card, opening[card]), card


async def test_killed_terminal_process_reverses_on_restart(
    demo_settings: Any, live_host: Any, new_counter: Callable[..., Any], issuer_balance: Callable[[str], int]
) -> None:
    """`poskit pay` SIGKILLed while waiting for the answer: the next run reverses first, nothing lost."""
    counter = new_counter()
    assert (await counter.engine().sign_on()).approved
    counter.store.close()
    host_seen, release = asyncio.Event(), asyncio.Event()
    handlers: set[asyncio.Task[Any]] = set()

    async def slow_proxy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            handlers.add(task)
        data = await reader.read(4096)
        if not data:  # the terminal's reachability probe: connect and hang up
            writer.close()
            return
        host, port = live_host.address.rsplit(":", 1)
        up_reader, up_writer = await asyncio.open_connection(host, int(port))
        try:
            up_writer.write(data)
            await up_writer.drain()
            await up_reader.read(4096)  # the host approved ...
            host_seen.set()
            await release.wait()  # ... but the answer never reaches the terminal
        finally:
            for w in (up_writer, writer):
                w.close()

    proxy = await asyncio.start_server(slow_proxy, "127.0.0.1", 0)
    port = proxy.sockets[0].getsockname()[1]
    before = issuer_balance("magstripe-debit")
    env = {**os.environ, "POSKIT_DATA_DIR": str(demo_settings.data_dir)}
    command = [
        sys.executable,
        "-m",
        "poskit",
        "pay",
        "44.00",
        "--card",
        "magstripe-debit",
        "--pin",
        "654321",
        "--terminal",
        counter.terminal_id,
        "--host",
        f"127.0.0.1:{port}",
        "--json",
    ]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        await asyncio.wait_for(host_seen.wait(), 30)
        process.send_signal(signal.SIGKILL)
        process.wait(10)
    finally:
        release.set()
        proxy.close()
        await proxy.wait_closed()
        await asyncio.gather(*handlers, return_exceptions=True)
        await asyncio.sleep(0.05)  # let the closed transports finish
    assert (
        issuer_balance("magstripe-debit") == before - 4400
    )  # approved at the host, never seen by the terminal
    rerun = subprocess.run(
        [
            sys.executable,
            "-m",
            "poskit",
            "pay",
            "1.00",
            "--card",
            "magstripe-debit",
            "--pin",
            "654321",
            "--terminal",
            counter.terminal_id,
            "--host",
            live_host.address,
            "--json",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert issuer_balance("magstripe-debit") == before - 100
