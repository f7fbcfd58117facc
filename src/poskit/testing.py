"""Helpers for testing against a running poskit: the host (and portal) in a background thread.

``LiveServices(settings, portal=...)`` starts the same services as ``poskit up`` on the
given settings (use ``host_port=0`` / ``portal_port=0`` for free ports) inside a private
event loop, so tests and scripts can talk to them over real TCP and HTTP from the
calling thread.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from poskit.config import Settings
from poskit.host.runtime import RunningServices

__all__ = ["LiveServices"]


class LiveServices:
    """The host (and optionally the portal) running in a background thread's event loop."""

    def __init__(self, settings: Settings, *, portal: bool) -> None:
        self.settings = settings
        self.loop = asyncio.new_event_loop()
        self.services: RunningServices | None = None
        self._portal = portal
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.services = RunningServices(self.settings, portal=self._portal)
            self.loop.run_until_complete(self.services.start())
        except BaseException as exc:  # surfaced to the test
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        self.loop.run_forever()

    def start(self) -> LiveServices:
        self._thread.start()
        self._ready.wait(30)
        if self._error is not None:
            raise self._error
        return self

    @property
    def address(self) -> str:
        assert self.services is not None
        return self.services.host.address

    @property
    def url(self) -> str:
        """The portal's address (when started with ``portal=True``)."""
        return f"http://127.0.0.1:{self.settings.portal_port}"

    def run(self, coro: Any, timeout: float = 30) -> Any:
        """Run a coroutine in the services' loop (e.g. a scripted terminal against the host)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        if self.services is not None:
            asyncio.run_coroutine_threadsafe(self.services.stop(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()
