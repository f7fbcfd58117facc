"""The host's write path: grouped commits, answered only after the data is on disk.

Every authorisation that changes state (issuer balance, transaction record,
ledger journal) is a *job*: a function run against a database connection. Jobs are
queued to one writer thread, which takes everything waiting (up to ``max_batch``),
runs each job inside its own SAVEPOINT of one database transaction, COMMITs once,
and only then resolves each caller's future. So under load many transactions share
one fsync, and no caller ever sees a result whose data could still be lost.

A job that raises is rolled back to its savepoint alone; the others still commit.
If the COMMIT itself fails, every job of the group fails: none was acknowledged.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import queue
import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from sqlalchemy import Engine
from sqlalchemy.engine import Connection

from poskit.store.db import WRITE

__all__ = ["GroupCommitWriter", "WriterStats", "WriterStoppedError"]

T = TypeVar("T")


class WriterStoppedError(RuntimeError):
    """The writer is not running; the job was not executed."""


@dataclasses.dataclass
class WriterStats:
    commits: int = 0
    jobs: int = 0
    failed_jobs: int = 0
    failed_commits: int = 0
    largest_group: int = 0


@dataclasses.dataclass
class _Job(Generic[T]):
    fn: Callable[[Connection], T]
    loop: asyncio.AbstractEventLoop | None
    future: asyncio.Future[T] | None
    sync_event: threading.Event | None = None
    result: Any = None
    error: BaseException | None = None


_STOP = object()


class GroupCommitWriter:
    """Single writer thread with group commit. Use ``await submit(job)`` or ``run(job)``."""

    def __init__(self, engine: Engine, *, max_batch: int = 128, name: str = "poskit-writer") -> None:
        self._engine = engine
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._started = False
        self._stopped = False
        self.stats = WriterStats()

    # lifecycle ------------------------------------------------------------------
    def start(self) -> GroupCommitWriter:
        if not self._started:
            self._started = True
            self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Finish every queued job, then stop the thread."""
        if self._started and not self._stopped:
            self._stopped = True
            self._queue.put(_STOP)
            self._thread.join(timeout)

    # submission -----------------------------------------------------------------
    async def submit(self, fn: Callable[[Connection], T]) -> T:
        """Run ``fn`` in the next group; return its result once the group is committed."""
        if not self._started or self._stopped:
            raise WriterStoppedError("the database writer is not running")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put(_Job(fn, loop, future))
        return await future

    def run(self, fn: Callable[[Connection], T]) -> T:
        """Blocking variant for synchronous callers (CLI tools, tests)."""
        if not self._started or self._stopped:
            raise WriterStoppedError("the database writer is not running")
        job: _Job[T] = _Job(fn, None, None, threading.Event())
        self._queue.put(job)
        assert job.sync_event is not None
        job.sync_event.wait()
        if job.error is not None:
            raise job.error
        return job.result  # type: ignore[no-any-return]

    # writer thread --------------------------------------------------------------
    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is _STOP:
                break
            group, stopping = self._group_after(first)
            self._execute(group)

    def _group_after(self, first: _Job[Any]) -> tuple[list[_Job[Any]], bool]:
        """``first`` and whatever else is queued (up to max_batch): one commit's group, and whether
        a stop request was met while collecting it."""
        group: list[_Job[Any]] = [first]
        while len(group) < self._max_batch:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is _STOP:
                return group, True
            group.append(item)
        return group, False

    def _execute(self, group: list[_Job[Any]]) -> None:
        self.stats.largest_group = max(self.stats.largest_group, len(group))
        try:
            with self._engine.connect() as conn:
                conn = conn.execution_options(**WRITE)
                with conn.begin():
                    for job in group:
                        savepoint = conn.begin_nested()
                        try:
                            job.result = job.fn(conn)
                            savepoint.commit()
                        except BaseException as exc:
                            savepoint.rollback()
                            job.error = exc
                            self.stats.failed_jobs += 1
                # leaving conn.begin() has committed: the data is durable now
            self.stats.commits += 1
            self.stats.jobs += len(group)
        except BaseException as exc:
            self.stats.failed_commits += 1
            for job in group:
                job.error = job.error or exc
                job.result = None
        for job in group:
            self._deliver(job)

    @staticmethod
    def _deliver(job: _Job[Any]) -> None:
        if job.sync_event is not None:
            job.sync_event.set()
            return
        assert job.loop is not None and job.future is not None
        future = job.future

        def _resolve() -> None:
            if future.cancelled():
                return
            if job.error is not None:
                future.set_exception(job.error)
            else:
                future.set_result(job.result)

        # a closed loop means nobody is waiting any more
        with contextlib.suppress(RuntimeError):
            job.loop.call_soon_threadsafe(_resolve)
