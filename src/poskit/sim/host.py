"""The real host logic inside the simulation: its participants, its database, a crashable writer.

:class:`SimWriter` is the group-commit writer without its thread: a job runs at once, in
its own transaction, on the caller's turn of the event loop, so the run stays
deterministic. Around the commit it injects the seed's faults: the process dying before
the COMMIT (nothing durable), after it but before the answer (durable, never answered),
and a failing COMMIT (disk I/O error, disk full), which the host must answer as a
system error without having moved money.
"""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from sqlalchemy import Engine
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError

from poskit.config import Settings
from poskit.crypto.hsm import SoftHSM
from poskit.host.app import HostApp, HostServices
from poskit.host.registry import home_timezone
from poskit.host.security import load_host_keys, load_lmk
from poskit.iso8583.framing import unpack_frame
from poskit.sim.faults import FaultPlan, HostCrash
from poskit.store.db import WRITE, make_engine
from poskit.store.writer import GroupCommitWriter, WriterStoppedError

__all__ = ["SimHost", "SimWriter"]

T = TypeVar("T")

_DISK_ERRORS = {"host.disk_io_error": "disk I/O error", "host.disk_full": "database or disk is full"}


class SimWriter(GroupCommitWriter):
    """A group-commit writer whose every group is one job, run inline, with injected faults."""

    def __init__(self, engine: Engine, faults: FaultPlan) -> None:
        super().__init__(engine)
        self._faults = faults

    def start(self) -> SimWriter:
        self._started = True
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stopped = True

    async def submit(self, fn: Callable[[Connection], T]) -> T:
        return self.run(fn)

    def run(self, fn: Callable[[Connection], T]) -> T:
        if not self._started or self._stopped:
            raise WriterStoppedError("the database writer is not running")
        fault = self._faults.first(
            "host.crash_before_commit", "host.disk_io_error", "host.disk_full", "host.crash_after_commit"
        )
        self.stats.largest_group = max(self.stats.largest_group, 1)
        try:
            with self._engine.connect() as conn:
                conn = conn.execution_options(**WRITE)
                with conn.begin():
                    result = fn(conn)
                    if fault == "host.crash_before_commit":
                        raise HostCrash(fault)
                    if fault in _DISK_ERRORS:
                        raise OperationalError("COMMIT", {}, sqlite3.OperationalError(_DISK_ERRORS[fault]))
        except OperationalError:
            self.stats.failed_commits += 1
            raise
        self.stats.commits += 1
        self.stats.jobs += 1
        if fault == "host.crash_after_commit":
            raise HostCrash(fault)
        return result


class SimHost:
    """The host process: booted from its database, and booted again after every crash."""

    def __init__(
        self, settings: Settings, *, clock: Callable[[], datetime], rng: random.Random, faults: FaultPlan
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.rng = rng
        self.faults = faults
        self.lmk = load_lmk(settings.resolved_lmk_file, create=False)
        self.boots = 0
        self.unhandled: list[str] = []  # exceptions that escaped the host's handler (each one a bug)
        self.engine: Engine | None = None
        self.app = self._boot()

    def _random(self, n: int) -> bytes:
        return self.rng.randbytes(n)

    def _boot(self) -> HostApp:
        """Start from the database alone, as a restarted process does."""
        self.boots += 1
        if self.engine is not None:
            self.engine.dispose()
        self.engine = make_engine(self.settings.resolved_database_url)
        with self.engine.connect() as conn:
            keys = load_host_keys(conn)
            zone = home_timezone(conn)
        hsm = SoftHSM(self.lmk, random=self._random)
        writer = SimWriter(self.engine, self.faults).start()
        services = HostServices(
            self.engine, writer, hsm, keys, clock=self.clock, random=self._random, timezone=zone
        )
        # Wall time must not decide anything in a replayable run: the record cache lives until
        # the host itself invalidates it (sign-on, settlement) or the process restarts.
        services.terminal_cache_seconds = float("inf")
        return HostApp(services)

    async def handle(self, payload: bytes, peer: str) -> bytes | None:
        """The host's answer, or raises HostCrash after rebooting (the answer died with it)."""
        try:
            return await self.app.handle(unpack_frame(payload), peer)
        except HostCrash:
            self.app = self._boot()
            raise
        except Exception as exc:  # the TCP server's last line of defence does the same: close
            self.unhandled.append(f"{type(exc).__name__}: {str(exc)[:200]}")
            return None

    def close(self) -> None:
        if self.engine is not None:
            self.engine.dispose()
            self.engine = None
