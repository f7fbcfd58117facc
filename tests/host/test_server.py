"""The host's TCP front end under a hostile network: deadlines, caps, throttling, quiet logs.

Each test starts its own :class:`HostServer` (free port, tight limits) on the session host's
application, so the shared host's limits are untouched, and talks to it over TCP.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import structlog

from poskit.host.connections import ConnectionLimits
from poskit.host.server import HostServer
from poskit.iso8583.dialects import get_dialect
from poskit.iso8583.message import IsoMessage
from poskit.money import Amount
from poskit.terminal.devices.network import TcpHostLink
from poskit.testing import LiveServices


@pytest.fixture
def limited_host(live_host: LiveServices) -> Iterator[Callable[..., HostServer]]:
    """Start a HostServer with the given limits on the live host's application and loop."""
    started: list[HostServer] = []

    def start(**limits: Any) -> HostServer:
        assert live_host.services is not None
        server = HostServer(live_host.services.app, port=0, limits=ConnectionLimits(**limits))
        live_host.run(server.start())
        started.append(server)
        return server

    yield start
    for server in started:
        live_host.run(server.stop())


async def _connect(server: HostServer) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", server.port)


async def _closed_by_host(reader: asyncio.StreamReader, within: float) -> bool:
    """True when the host closes (EOF or reset) the connection within ``within`` seconds."""
    try:
        async with asyncio.timeout(within):
            return await reader.read(100) == b""
    except ConnectionError:
        return True
    except TimeoutError:
        return False


async def test_slowloris_frame_is_closed_after_the_frame_deadline(
    limited_host: Callable[..., HostServer],
) -> None:
    """A frame trickled one byte at a time is cut off once the frame deadline after its first byte passes."""
    server = limited_host(frame_timeout=0.6, first_message_timeout=30)
    reader, writer = await _connect(server)
    writer.write(b"\x00")  # the first byte of a length prefix...
    await writer.drain()
    closed = False
    for byte in b"\x40\x60\x00\x03\x00\x00":  # ...then one byte every 0.2 s
        await asyncio.sleep(0.2)
        try:
            writer.write(bytes([byte]))
            await writer.drain()
        except ConnectionError:
            closed = True
            break
    assert closed or await _closed_by_host(reader, within=2)
    writer.close()


async def test_connection_without_a_valid_message_is_closed_after_the_first_message_timeout(
    limited_host: Callable[..., HostServer],
) -> None:
    """A silent socket and one sending only keep-alive polls are both closed at the first-message deadline."""
    server = limited_host(first_message_timeout=0.5)
    silent, silent_writer = await _connect(server)
    polling, polling_writer = await _connect(server)
    for _ in range(3):
        polling_writer.write(b"\x00\x00")  # keep-alives are not a valid message
        await polling_writer.drain()
        await asyncio.sleep(0.1)
    assert await _closed_by_host(silent, within=3)
    assert await _closed_by_host(polling, within=3)
    silent_writer.close()
    polling_writer.close()
    assert server.open_connections == 0


async def test_per_address_cap_refuses_the_extra_connection(limited_host: Callable[..., HostServer]) -> None:
    """With a cap of 3 per address the 4th connection from 127.0.0.1 is closed at once, the 3 stay open."""
    server = limited_host(max_per_address=3)
    held = [await _connect(server) for _ in range(3)]
    extra, extra_writer = await _connect(server)
    assert await _closed_by_host(extra, within=3)
    for reader, _writer in held:
        assert not await _closed_by_host(reader, within=0.2)
    assert server.refused == 1
    for _reader, writer in held:
        writer.close()
    extra_writer.close()


async def test_full_host_evicts_a_stranger_so_a_signed_on_terminal_is_approved(
    limited_host: Callable[..., HostServer], new_counter: Callable[..., Any]
) -> None:
    """All slots held by idle strangers: the terminal connects, its sale is 00, the oldest stranger goes."""
    server = limited_host(max_connections=4, max_per_address=100)
    counter = new_counter()
    counter.link = TcpHostLink(f"127.0.0.1:{server.port}")
    assert (await counter.engine().sign_on()).approved
    strangers = [await _connect(server) for _ in range(4)]
    await asyncio.sleep(0.2)
    assert server.open_connections == 4
    sale = await counter.engine("magstripe-debit", pins=("654321",)).sale(Amount.parse("3.21", "CNY"))
    assert sale.response_code == "00"
    assert server.evicted >= 1
    assert await _closed_by_host(strangers[0][0], within=3)  # the oldest unauthenticated one
    for _reader, writer in strangers:
        writer.close()


async def test_a_thousand_bad_frames_write_a_bounded_number_of_log_lines(
    live_host: LiveServices, limited_host: Callable[..., HostServer]
) -> None:
    """1,000 undecodable frames: each is refused; the log gets a few lines and a suppressed-count summary."""
    server = limited_host(bad_frame_delay=0, address_bad_frames=1_000_000, max_per_address=1000)
    with structlog.testing.capture_logs() as lines:
        for _ in range(100):
            connections = [await _connect(server) for _ in range(10)]
            for _reader, writer in connections:
                writer.write(b"\x00\x08" + b"\xff" * 8)  # no dialect starts with 0xFF
                await writer.drain()
            for reader, writer in connections:
                assert await _closed_by_host(reader, within=5)
                writer.close()
        assert live_host.services is not None
        live_host.run(asyncio.sleep(0.1))
        live_host.run(server.stop())
        live_host.services.app.bad_frame_log.flush()
    assert server.frames == 1000
    assert len(lines) < 40, [line["event"] for line in lines]
    suppressed = sum(line["count"] for line in lines if line["event"] == "host.log_suppressed")
    assert suppressed >= 900


def _unknown_transaction_frame() -> bytes:
    """An ascii87 0600 (no such transaction here) from a terminal id: answered with an error, not closed."""
    dialect = get_dialect("ascii87")
    return dialect.frame(dialect.encode(IsoMessage("0600", {11: "000001", 41: "E2E99999"})))


async def test_peer_sending_bad_frames_is_slowed_then_disconnected(
    limited_host: Callable[..., HostServer],
) -> None:
    """Each bad frame is answered only after the throttle delay; the 3rd bad frame ends the connection."""
    server = limited_host(max_bad_frames=3, bad_frame_delay=0.3)
    reader, writer = await _connect(server)
    answers = 0
    for _ in range(3):
        writer.write(_unknown_transaction_frame())
        await writer.drain()
    loop = asyncio.get_running_loop()
    started = loop.time()
    while True:
        try:
            async with asyncio.timeout(5):
                prefix = await reader.readexactly(2)
                await reader.readexactly(int.from_bytes(prefix, "big"))
        except (asyncio.IncompleteReadError, ConnectionError):
            break
        answers += 1
    assert answers == 3  # every frame got its error answer...
    assert loop.time() - started >= 0.6  # ...the second and third only after a throttle pause each
    assert await _closed_by_host(reader, within=1)  # ...and then the host hung up
    writer.close()
