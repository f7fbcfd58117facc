"""LMK rotation: re-wrap every stored key block under a new LMK.

The new LMK is written to a side file first (``lmk.key.next``); rows are re-wrapped in small committed
batches, each block telling by itself which LMK wraps it (:meth:`SoftHSM.owns_key`); the
old LMK stays the host's LMK until every block verifies under the new one, then the side
file replaces it atomically. An interrupted run loses nothing and resumes when re-run.
The host must be stopped meanwhile (it caches key blocks and its LMK).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Table, insert, select, update

from poskit.config import Settings
from poskit.crypto.errors import LmkError
from poskit.crypto.hsm import SoftHSM
from poskit.crypto.lmk import LocalMasterKey
from poskit.keys._common import audit, host_lmk, now_or_utc
from poskit.keys.errors import KeyManagementError
from poskit.store.db import WRITE, make_engine
from poskit.store.migrate import upgrade
from poskit.store.schema import system_keys, terminals
from poskit.store.schema_keys import lmk_rotations

__all__ = [
    "KEY_BLOCK_COLUMNS",
    "RotationProgress",
    "RotationResult",
    "lmk_side_file",
    "rotate_lmk",
]

#: Every database column holding key blocks wrapped under the host LMK (LMK rotation walks these).
KEY_BLOCK_COLUMNS: tuple[tuple[Table, str], ...] = (
    (system_keys, "key_block"),
    (terminals, "tmk"),
    (terminals, "pik"),
    (terminals, "mak"),
    (terminals, "tdk"),
)
RandomSource = Callable[[int], bytes]


@dataclasses.dataclass(frozen=True)
class RotationProgress:
    """Where a rotation stands after a committed batch."""

    table: str
    column: str
    rewrapped: int
    already: int


@dataclasses.dataclass(frozen=True)
class RotationResult:
    old_lmk_id: str
    new_lmk_id: str
    rewrapped: int  # by this run
    already: int  # found already under the new LMK (an interrupted run resumed)
    resumed: bool


# ---------------------------------------------------------------------------------- LMK rotation
def lmk_side_file(settings: Settings) -> Path:
    """Where a rotation keeps the new LMK until every key block is re-wrapped under it."""
    path = settings.resolved_lmk_file
    return path.with_name(path.name + ".next")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def rotate_lmk(
    settings: Settings,
    *,
    batch_size: int = 50,
    now: datetime | None = None,
    random: RandomSource = os.urandom,
    on_batch: Callable[[RotationProgress], None] | None = None,
) -> RotationResult:
    """Re-wrap every key block of :data:`KEY_BLOCK_COLUMNS` under a new LMK, resumably.

    ``on_batch`` is called after each committed batch (progress display; tests use it to
    interrupt a run). Raises :class:`KeyManagementError` for a block that opens under
    neither LMK, leaving everything as it was.
    """
    if os.environ.get("POSKIT_LMK"):
        raise KeyManagementError(
            "the LMK comes from POSKIT_LMK: rotation needs the key file; unset POSKIT_LMK and "
            "keep the LMK in the data directory's key file"
        )
    at = now_or_utc(now)
    lmk_file, side = settings.resolved_lmk_file, lmk_side_file(settings)
    old = host_lmk(settings)
    resumed = side.exists()
    if resumed:
        try:
            new = LocalMasterKey.load(side)
        except LmkError as exc:
            raise KeyManagementError(f"the pending new LMK in {side} cannot be read: {exc.reason}") from None
    else:
        new = LocalMasterKey.generate(random)
        new.save(side)  # durable before any block depends on it
        _fsync_dir(side.parent)
    if new == old:
        raise KeyManagementError(f"{side} holds the current LMK: remove it and run the rotation again")
    old_hsm, new_hsm = SoftHSM(old), SoftHSM(new)
    engine = make_engine(settings.resolved_database_url)
    rewrapped = already = 0
    try:
        upgrade(engine)
        with engine.connect().execution_options(**WRITE) as conn, conn.begin():
            rotation_id = conn.execute(
                select(lmk_rotations.c.id).where(
                    lmk_rotations.c.old_lmk_id == old.identifier,
                    lmk_rotations.c.new_lmk_id == new.identifier,
                    lmk_rotations.c.status == "running",
                )
            ).scalar()
            if rotation_id is None:
                conn.execute(
                    insert(lmk_rotations).values(
                        old_lmk_id=old.identifier, new_lmk_id=new.identifier, status="running", started_at=at
                    )
                )
        for table, column in KEY_BLOCK_COLUMNS:
            col, pk = table.c[column], table.c.id
            last = 0
            while True:
                with engine.connect().execution_options(**WRITE) as conn, conn.begin():
                    rows = conn.execute(
                        select(pk, col).where(col.is_not(None), pk > last).order_by(pk).limit(batch_size)
                    ).all()
                    if not rows:
                        break
                    done = 0
                    for ident, block in rows:
                        if new_hsm.owns_key(block):
                            already += 1
                            continue
                        if not old_hsm.owns_key(block):
                            raise KeyManagementError(
                                f"{table.name}.{column} row {ident}: the key block opens under neither the "
                                f"current LMK {old.identifier} nor the new LMK {new.identifier}; nothing was "
                                "lost, the rotation stopped here"
                            )
                        values: dict[str, Any] = {column: old_hsm.rewrap(block, new_hsm)}
                        if table is system_keys:
                            values["lmk_id"] = new.identifier
                        conn.execute(update(table).where(pk == ident).values(values))
                        done += 1
                    conn.execute(
                        update(lmk_rotations)
                        .where(
                            lmk_rotations.c.new_lmk_id == new.identifier, lmk_rotations.c.status == "running"
                        )
                        .values(rewrapped=lmk_rotations.c.rewrapped + done)
                    )
                    last = rows[-1][0]
                rewrapped += done
                if on_batch is not None:
                    on_batch(RotationProgress(table.name, column, rewrapped, already))
        _verify_all(engine, new_hsm)
        os.replace(side, lmk_file)  # the swap: atomic on one file system
        _fsync_dir(lmk_file.parent)
        with engine.connect().execution_options(**WRITE) as conn, conn.begin():
            conn.execute(
                update(lmk_rotations)
                .where(lmk_rotations.c.new_lmk_id == new.identifier, lmk_rotations.c.status == "running")
                .values(status="done", finished_at=now_or_utc(now))
            )
            audit(
                conn,
                "keys.rotate_lmk",
                "host LMK",
                {"old_lmk_id": old.identifier, "new_lmk_id": new.identifier, "rewrapped": rewrapped},
                at,
            )
    finally:
        engine.dispose()
    return RotationResult(old.identifier, new.identifier, rewrapped, already, resumed)


def _verify_all(engine: Engine, hsm: SoftHSM) -> None:
    """Every key block opens under the new LMK (checked before the old LMK is retired)."""
    with engine.connect() as conn:
        for table, column in KEY_BLOCK_COLUMNS:
            col = table.c[column]
            for ident, block in conn.execute(select(table.c.id, col).where(col.is_not(None))):
                if not hsm.owns_key(block):
                    raise KeyManagementError(
                        f"{table.name}.{column} row {ident} is not under the new LMK (was the host "
                        "running during the rotation?); stop the host and run the rotation again"
                    )
