"""Running the services: the ISO 8583 host and the portal in one asyncio process.

``poskit up`` and ``poskit host`` use :func:`run_services`; tests use
:class:`RunningServices` to start them on free ports in the background.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import signal
import socket
from collections.abc import Callable, Iterator
from typing import Any

import uvicorn

from poskit.config import Settings
from poskit.host.app import HostApp, HostServices
from poskit.host.registry import home_timezone
from poskit.host.security import open_host_database, refuse_if_rotation_pending
from poskit.host.server import HostServer
from poskit.logs import get_logger
from poskit.portal.app import create_app
from poskit.portal.pos import close_pos, configure_pos
from poskit.portal.security import load_session_secret
from poskit.store.writer import GroupCommitWriter
from poskit.tms.registry import sync_operators

__all__ = ["PortInUseError", "PortalServer", "RunningServices", "bind_listening_socket", "run_services"]

_log = get_logger("poskit.runtime")


class PortalServer(uvicorn.Server):
    """uvicorn without its own signal handling: poskit stops all services together."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class PortInUseError(OSError):
    """A listening port is taken (another poskit, or another program): say which, and how to move."""

    def __init__(self, service: str, bind: str, port: int, setting: str) -> None:
        super().__init__(
            errno.EADDRINUSE,
            f"the {service} port {bind}:{port} is already in use (stop what holds it, or choose "
            f"another port with {setting})",
        )
        self.service, self.bind, self.port = service, bind, port


def bind_listening_socket(service: str, bind: str, port: int, setting: str) -> socket.socket:
    """The portal's socket, bound before anything starts, so a busy port starts nothing."""
    try:
        return socket.create_server((bind, port))
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise PortInUseError(service, bind, port, setting) from exc
        raise


class RunningServices:
    """Host (+ portal) started inside the current event loop."""

    def __init__(self, settings: Settings, *, portal: bool = True, host: bool = True) -> None:
        self.settings = settings
        self.with_portal = portal
        self.with_host = host
        refuse_if_rotation_pending(settings.resolved_lmk_file)
        self.engine, self.hsm, self.keys = open_host_database(settings)
        self.writer = self._writer(settings)
        with self.engine.connect() as conn:
            zone = home_timezone(conn)
        self.services = HostServices(
            self.engine,
            self.writer,
            self.hsm,
            self.keys,
            timezone=zone,
            receipt_link_days=settings.receipt_link_days,
        )
        self.app = HostApp(self.services)
        self.host = HostServer(
            self.app,
            bind=settings.host_bind,
            port=settings.host_port,
            limits=settings.connection_limits(),
        )
        self.portal: PortalServer | None = None
        self.portal_app: Any = None
        self._tasks: list[asyncio.Task[Any]] = []

    def _writer(self, settings: Settings) -> GroupCommitWriter:
        if settings.host_engine == "memory":
            from poskit.host.hotpath.writer import MemoryWriter

            return MemoryWriter(self.engine).start()
        return GroupCommitWriter(self.engine).start()

    async def start(self) -> None:
        portal_socket = (
            bind_listening_socket(
                "portal",
                self.settings.portal_bind,
                self.settings.portal_port,
                "POSKIT_PORTAL_PORT or --portal-port",
            )
            if self.with_portal
            else None
        )
        if self.with_host:
            try:
                await self.host.start()
            except OSError as exc:
                if portal_socket is not None:
                    portal_socket.close()
                if exc.errno == errno.EADDRINUSE:
                    raise PortInUseError(
                        "ISO 8583 host",
                        self.settings.host_bind,
                        self.settings.host_port,
                        "POSKIT_HOST_PORT or --host-port",
                    ) from exc
                raise
            self._tasks.append(asyncio.create_task(self.host.serve_forever()))
        if portal_socket is not None:
            secret = load_session_secret(self.settings.data_dir / "portal-session.key")
            portal_app = create_app(
                self.engine,
                session_secret=secret,
                secure_cookies=self.settings.portal_bind not in ("127.0.0.1", "localhost"),
                fleet_policy=self.settings.fleet_policy(),
            )
            configure_pos(portal_app, settings=self.settings, host_address=self.host.address)
            portal_app.state.operators_changed = lambda merchant_id: sync_operators(
                self.settings, self.engine, merchant_id=merchant_id
            )
            self.portal_app = portal_app
            config = uvicorn.Config(
                portal_app,
                host=self.settings.portal_bind,
                port=self.settings.portal_port,
                log_level="warning",
                lifespan="off",
                access_log=False,
            )
            self.portal = PortalServer(config)
            self._tasks.append(asyncio.create_task(self.portal.serve(sockets=[portal_socket])))
            for _ in range(200):
                if self.portal.started or self._tasks[-1].done():
                    break
                await asyncio.sleep(0.02)
            if self._tasks[-1].done():
                self._tasks[-1].result()  # surfaces "address already in use" and friends

    async def stop(self) -> None:
        """Stop taking work, let transactions in flight finish, then close everything."""
        if self.portal is not None:
            await close_pos(self.portal_app)  # open POS pages finish what they sent
            self.portal.should_exit = True
        await self.host.stop()
        portal_task = self._tasks[-1] if self.portal is not None and self._tasks else None
        if portal_task is not None:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(portal_task), 5)  # uvicorn closes its socket itself
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self.writer.stop()
        stats = self.writer.stats
        _log.info(
            "writer.stopped",
            commits=stats.commits,
            jobs=stats.jobs,
            failed_commits=stats.failed_commits,
            largest_group=stats.largest_group,
            engine=self.settings.host_engine,
            decided_in_memory=getattr(self.writer, "decided_in_memory", 0),
            handed_to_sql=getattr(self.writer, "handed_to_sql", 0),
        )
        self.engine.dispose()


async def run_services(
    settings: Settings,
    *,
    portal: bool = True,
    host: bool = True,
    on_ready: Callable[[RunningServices], None] | None = None,
) -> None:
    """Run until SIGINT/SIGTERM, then stop cleanly (pending writes are committed first)."""
    services = RunningServices(settings, portal=portal, host=host)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await services.start()
    if on_ready is not None:
        on_ready(services)
    await stop.wait()
    _log.info("services.stopping")
    await services.stop()
