"""The group-commit writer: grouped commits, results only after commit, failures isolated."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, func, insert, select
from sqlalchemy.engine import Connection

from poskit.store.schema import audit_log
from poskit.store.writer import GroupCommitWriter, WriterStoppedError


def _add(tag: str):  # type: ignore[no-untyped-def]
    def job(conn: Connection) -> str:
        conn.execute(insert(audit_log).values(at=datetime.now(UTC), actor="test", action=tag, details={}))
        return tag

    return job


def _count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(audit_log)).scalar_one())


async def test_many_jobs_share_few_commits(engine: Engine) -> None:
    """Concurrent submissions are grouped: fewer commits than jobs, every job committed."""
    writer = GroupCommitWriter(engine).start()
    gate = threading.Event()

    def blocker(conn: Connection) -> str:
        gate.wait(5)  # hold the writer so that the next jobs queue up behind it
        return "blocker"

    first = asyncio.ensure_future(writer.submit(blocker))
    await asyncio.sleep(0.05)
    rest = [asyncio.ensure_future(writer.submit(_add(f"job{i}"))) for i in range(50)]
    await asyncio.sleep(0.05)
    gate.set()
    results = await asyncio.gather(first, *rest)
    writer.stop()
    assert results[1:] == [f"job{i}" for i in range(50)]
    assert _count(engine) == 50
    assert writer.stats.commits < writer.stats.jobs
    assert writer.stats.largest_group > 1


async def test_result_is_visible_to_others_when_delivered(engine: Engine) -> None:
    """When submit() returns, another connection already sees the committed row."""
    writer = GroupCommitWriter(engine).start()
    await writer.submit(_add("durable"))
    assert _count(engine) == 1
    writer.stop()


async def test_failing_job_is_rolled_back_alone(engine: Engine) -> None:
    """A job that raises loses its own writes; the other jobs of its group still commit."""
    writer = GroupCommitWriter(engine).start()

    def bad(conn: Connection) -> None:
        _add("doomed")(conn)
        raise RuntimeError("issuer exploded")

    ok1 = asyncio.ensure_future(writer.submit(_add("a")))
    boom = asyncio.ensure_future(writer.submit(bad))
    ok2 = asyncio.ensure_future(writer.submit(_add("b")))
    assert await ok1 == "a" and await ok2 == "b"
    with pytest.raises(RuntimeError, match="issuer exploded"):
        await boom
    writer.stop()
    with engine.connect() as conn:
        actions = sorted(r.action for r in conn.execute(select(audit_log.c.action)))
    assert actions == ["a", "b"]


def test_failed_commit_acknowledges_nobody(sqlite_engine: Engine) -> None:
    """If the COMMIT fails (here: a deferred constraint), every job of the group gets the error."""
    writer = GroupCommitWriter(sqlite_engine).start()

    def defer_and_violate(conn: Connection) -> str:
        conn.exec_driver_sql("PRAGMA defer_foreign_keys=ON")
        conn.exec_driver_sql(
            "INSERT INTO terminals (terminal_id, merchant_id, created_at) VALUES ('T1', 999, '2026-01-01')"
        )
        return "written"

    with pytest.raises(Exception, match="FOREIGN KEY"):
        writer.run(defer_and_violate)
    writer.stop()


def test_stopped_writer_refuses_work(engine: Engine) -> None:
    """After stop() nothing is accepted (and nothing silently dropped)."""
    writer = GroupCommitWriter(engine).start()
    writer.stop()
    with pytest.raises(WriterStoppedError):
        writer.run(_add("late"))
