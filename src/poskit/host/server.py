"""The host's asyncio TCP server (default 127.0.0.1:8583).

Each connection reads length-prefixed frames; each frame is processed in its own
task so a slow authorisation never blocks the next message on the connection, and
responses are written under a per-connection lock. A frame that cannot be framed
(oversize, truncated, too slow) closes that connection only; every other terminal keeps
being served. Zero-length frames are keep-alive polls and are ignored.

The limits of :class:`~poskit.host.connections.ConnectionLimits` keep a hostile peer from
holding sockets: a frame deadline once its first byte arrived, a deadline for the first
valid message, an idle timeout, a per-address cap, and a total cap that makes room by
closing the oldest connection that never carried a verified MAC — so a terminal that
holds its keys is never starved by strangers.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from typing import Any

from poskit.host.app import HostApp
from poskit.host.connections import BadFrameThrottle, ConnectionLimits, PeerNotes, RateLimitedLog
from poskit.iso8583.framing import LENGTH_PREFIX
from poskit.logs import get_logger

__all__ = ["HostServer"]

_log = get_logger("poskit.host.server")


class _FrameClosed(Exception):
    """The connection ends: a clean close, a framing error or a missed deadline (``reason``)."""

    def __init__(self, reason: str, *, bad: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.bad = bad


@dataclasses.dataclass(eq=False)
class _Connection:
    peer: str
    address: str
    opened: float
    writer: asyncio.StreamWriter
    notes: PeerNotes = dataclasses.field(default_factory=PeerNotes)
    bad_frames: int = 0

    def close(self) -> None:
        self.writer.transport.abort()


class HostServer:
    """TCP front end of :class:`HostApp`."""

    def __init__(
        self,
        app: HostApp,
        *,
        bind: str = "127.0.0.1",
        port: int = 8583,
        max_frame: int = 4096,
        limits: ConnectionLimits | None = None,
    ) -> None:
        self.app = app
        self.bind = bind
        self.port = port
        self.max_frame = max_frame
        self.limits = limits or ConnectionLimits()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._handlers: set[asyncio.Task[Any]] = set()  # one per connection, ended at stop()
        self._open: dict[_Connection, None] = {}  # insertion order = age
        self._per_address: dict[str, int] = {}
        self._throttle = BadFrameThrottle(self.limits)
        self._warn = RateLimitedLog(_log)
        self.connections = 0
        self.frames = 0
        self.evicted = 0
        self.refused = 0

    @property
    def address(self) -> str:
        return f"{self.bind}:{self.port}"

    @property
    def open_connections(self) -> int:
        return len(self._open)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._on_connect, self.bind, self.port, reuse_address=True)
        sockets = self._server.sockets or ()
        if sockets and self.port == 0:
            self.port = sockets[0].getsockname()[1]
        _log.info("host.listening", address=self.address)

    async def serve_forever(self) -> None:
        if self._server is None:
            await self.start()
        assert self._server is not None
        async with self._server:
            await self._server.serve_forever()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)
        # asyncio.Server.close() leaves accepted connections open (before 3.12): end them, so
        # no handler is left pending (reading or throttled) when the loop closes.
        handlers = [t for t in self._handlers if not t.done()]
        for handler in handlers:
            handler.cancel()
        if handlers:
            await asyncio.wait(handlers, timeout=5)
        pending = [t for t in self._tasks if not t.done()]
        if pending:
            await asyncio.wait(pending, timeout=10)
        self._warn.flush()
        _log.info("host.stopped", frames=self.frames, evicted=self.evicted, refused=self.refused)

    # admission -------------------------------------------------------------------------
    def _admit(self, conn: _Connection) -> bool:
        """Register the connection, making room if the host is full; False to refuse it."""
        if self._per_address.get(conn.address, 0) >= self.limits.max_per_address:
            self._warn.warning("host.too_many_connections_from_address", peer=conn.peer)
            return False
        if len(self._open) >= self.limits.max_connections:
            victim = next((c for c in self._open if not c.notes.authenticated), None)
            if victim is None:
                self._warn.warning("host.too_many_connections", peer=conn.peer)
                return False
            self._release(victim)
            victim.close()
            self.evicted += 1
            self._warn.warning("host.evicted_unauthenticated", peer=victim.peer)
        self._open[conn] = None
        self._per_address[conn.address] = self._per_address.get(conn.address, 0) + 1
        return True

    def _release(self, conn: _Connection) -> None:
        if self._open.pop(conn, False) is None:
            left = self._per_address.get(conn.address, 1) - 1
            if left > 0:
                self._per_address[conn.address] = left
            else:
                self._per_address.pop(conn.address, None)

    # reading ---------------------------------------------------------------------------
    async def _read_frame(self, reader: asyncio.StreamReader, conn: _Connection) -> bytes:
        """One frame's payload (b"" for a keep-alive), within the connection's deadlines."""
        limits = self.limits
        if conn.notes.valid:
            wait = limits.idle_timeout
        else:  # counted from the connection's start: keep-alives and bad frames do not extend it
            wait = conn.opened + limits.first_message_timeout - time.monotonic()
        try:
            async with asyncio.timeout(max(wait, 0.0)):
                first = await reader.readexactly(1)
        except TimeoutError:
            raise _FrameClosed("idle timeout" if conn.notes.valid else "no valid message in time") from None
        except asyncio.IncompleteReadError:
            raise _FrameClosed("closed by peer") from None
        try:
            async with asyncio.timeout(limits.frame_timeout):
                prefix = first + await reader.readexactly(LENGTH_PREFIX - 1)
                length = int.from_bytes(prefix, "big")
                if length > self.max_frame:
                    raise _FrameClosed(f"frame length {length} exceeds {self.max_frame}", bad=True)
                return await reader.readexactly(length) if length else b""
        except TimeoutError:
            raise _FrameClosed("frame not complete within the frame deadline", bad=True) from None
        except asyncio.IncompleteReadError as exc:
            raise _FrameClosed(
                f"stream ended inside a frame after {len(exc.partial)} bytes", bad=True
            ) from None

    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer_info = writer.get_extra_info("peername")
        address = str(peer_info[0]) if peer_info else "?"
        peer = f"{peer_info[0]}:{peer_info[1]}" if peer_info else "?"
        conn = _Connection(peer, address, time.monotonic(), writer)
        handler = asyncio.current_task()
        if handler is not None:
            self._handlers.add(handler)
            handler.add_done_callback(self._handlers.discard)
        if not self._admit(conn):
            self.refused += 1
            writer.transport.abort()
            return
        self.connections += 1
        lock = asyncio.Lock()
        inflight: set[asyncio.Task[Any]] = set()
        try:
            if self._throttle.slowed(address):
                await asyncio.sleep(self.limits.bad_frame_delay)
            while True:
                try:
                    payload = await self._read_frame(reader, conn)
                except _FrameClosed as closed:
                    if closed.bad:
                        self._throttle.note(address)
                        self._warn.warning("host.bad_frame", peer=peer, error=closed.reason)
                    break
                except (ConnectionError, OSError):
                    break
                if not payload:
                    continue
                self.frames += 1
                notes = PeerNotes()
                task = asyncio.create_task(self._process(payload, peer, writer, lock, notes))
                inflight.add(task)
                self._tasks.add(task)
                task.add_done_callback(inflight.discard)
                task.add_done_callback(self._tasks.discard)
                # the next frame waits for this one's verdict only when the peer is not yet trusted
                if not conn.notes.authenticated:
                    await asyncio.wait({task})
                    if notes.bad and not await self._after_bad_frame(conn):
                        break
                    conn.notes.valid |= notes.valid
                    conn.notes.authenticated |= notes.authenticated
                    if writer.is_closing():
                        break
        finally:
            self._release(conn)
            if inflight:
                await asyncio.wait(inflight, timeout=30)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _after_bad_frame(self, conn: _Connection) -> bool:
        """Throttle a peer that sent a bad frame; False when the connection must close."""
        conn.bad_frames += 1
        self._throttle.note(conn.address)
        if conn.bad_frames >= self.limits.max_bad_frames:
            self._warn.warning("host.bad_frames_disconnect", peer=conn.peer, bad_frames=conn.bad_frames)
            return False
        await asyncio.sleep(self.limits.bad_frame_delay)
        return True

    async def _process(
        self,
        payload: bytes,
        peer: str,
        writer: asyncio.StreamWriter,
        lock: asyncio.Lock,
        notes: PeerNotes,
    ) -> None:
        try:
            response = await self.app.handle(payload, peer, notes=notes)
        except Exception as exc:  # the last line of defence: log, close this connection, keep serving
            _log.error("host.unhandled_error", peer=peer, error=type(exc).__name__, detail=str(exc)[:200])
            response = None
        async with lock:
            if response is None:
                writer.close()
                return
            try:
                writer.write(response)
                await writer.drain()
            except (ConnectionError, OSError):
                _log.info("host.peer_gone", peer=peer)
