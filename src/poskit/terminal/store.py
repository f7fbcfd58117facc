"""Access to a terminal's own SQLite store: profile, counters, keys, reversals, batch.

Every method is one short durable transaction, so the terminal process can be
killed between any two steps of a flow and resume from what is on disk.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Engine, delete, func, insert, select, update
from sqlalchemy.engine import Connection

from poskit.store.db import WRITE, inserted_id, make_engine
from poskit.terminal.schema import (
    batch_records,
    counters,
    event_log,
    pending_uploads,
    reversal_queue,
    secure_keys,
    terminal_operators,
    terminal_profile,
)

__all__ = [
    "SCHEMA_HEAD",
    "BatchRecord",
    "NotProvisionedError",
    "ReversalRecord",
    "TerminalProfile",
    "TerminalStore",
]

_MIGRATIONS = Path(__file__).parent / "migrations"

#: The newest revision of the terminal store's migrations (a test checks it against Alembic's
#: head). A store already at it opens without importing Alembic, which costs ``poskit pay``
#: more than half a second; a new migration must update it.
SCHEMA_HEAD: Final = "0001"


def _schema_version(engine: Engine) -> str | None:
    """The store's Alembic revision, read with two plain queries (None: new or unmigrated)."""
    with engine.connect() as conn:
        known = conn.exec_driver_sql(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
        ).first()
        if known is None:
            return None
        rows = conn.exec_driver_sql("SELECT version_num FROM alembic_version").all()
    return str(rows[0][0]) if len(rows) == 1 else None


class NotProvisionedError(LookupError):
    """The terminal store has no profile: the terminal was never set up."""

    def __init__(self, path: Path) -> None:
        super().__init__(
            f"terminal store {path} is not provisioned: run `poskit up` first "
            "or provision the terminal with `poskit keys inject`"
        )
        self.path = path


@dataclasses.dataclass(frozen=True, slots=True)
class TerminalProfile:
    terminal_id: str
    merchant_no: str
    merchant_name: str
    merchant_name_en: str
    acquirer_name: str
    currency: str
    country: str
    dialect: str
    mac_algorithm: str
    key_scheme: str
    track_encryption: bool
    host_address: str
    portal_url: str
    support_phone: str
    language: str
    chip_reader_ok: bool
    sign_on_required: bool
    signed_on_at: datetime | None
    operator: str | None
    software_version: str
    params: dict[str, Any]


@dataclasses.dataclass(frozen=True, slots=True)
class ReversalRecord:
    id: int
    stan: int
    batch_no: int
    txn_type: str
    reason: str
    pan_token: str | None
    pan_masked: str | None
    amount: int
    currency: str
    request: dict[str, Any]
    icc_data: bytes | None
    attempts: int
    status: str
    created_at: datetime


@dataclasses.dataclass(frozen=True, slots=True)
class BatchRecord:
    id: int
    batch_no: int
    stan: int
    txn_type: str
    amount: int
    currency: str
    pan_token: str | None
    pan_masked: str | None
    card_organisation: str
    foreign_card: bool
    entry_mode: str
    response_code: str
    auth_code: str | None
    rrn: str | None
    settlement_date: str | None
    local_datetime: datetime
    operator: str
    status: str
    original_stan: int | None
    signature_required: bool
    signature: bytes | None
    signature_uploaded: bool
    settled: bool
    receipt: dict[str, Any]


class TerminalStore:
    """The terminal's persistent state. Open with :meth:`open`."""

    def __init__(self, engine: Engine, path: Path, *, now: Any = None) -> None:
        self.engine = engine
        self.path = path
        self._now = now or (lambda: datetime.now(UTC))

    @classmethod
    def open(cls, path: Path, *, now: Any = None) -> TerminalStore:
        """Open (creating and migrating if needed) the store at ``path``."""
        path.parent.mkdir(parents=True, exist_ok=True)
        engine = make_engine(f"sqlite:///{path.resolve()}")
        if _schema_version(engine) != SCHEMA_HEAD:
            from poskit.store.migrate import upgrade  # Alembic only when there is work for it

            upgrade(engine, script_location=_MIGRATIONS)
        return cls(engine, path, now=now)

    def close(self) -> None:
        self.engine.dispose()

    def _write(self) -> Any:
        return self.engine.connect().execution_options(**WRITE)

    def _tx(self, fn: Any) -> Any:
        with self._write() as conn, conn.begin():
            return fn(conn)

    # profile ------------------------------------------------------------------
    def is_provisioned(self) -> bool:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(terminal_profile)).scalar_one() > 0

    def provision(self, **values: Any) -> None:
        """Create or replace the profile (terminal set-up by the TMS or `poskit up`)."""
        values.setdefault("params", {})
        values.setdefault("created_at", self._now())

        def run(conn: Connection) -> None:
            conn.execute(delete(terminal_profile))
            conn.execute(insert(terminal_profile).values(id=1, **values))
            for name, start in (("stan", 0), ("batch", 1)):
                if conn.execute(select(counters.c.value).where(counters.c.name == name)).first() is None:
                    conn.execute(insert(counters).values(name=name, value=start))

        self._tx(run)

    def profile(self) -> TerminalProfile:
        with self.engine.connect() as conn:
            row = conn.execute(select(terminal_profile)).mappings().first()
        if row is None:
            raise NotProvisionedError(self.path)
        fields = {f.name for f in dataclasses.fields(TerminalProfile)}
        return TerminalProfile(**{k: v for k, v in row.items() if k in fields})

    def update_profile(self, **values: Any) -> None:
        self._tx(lambda conn: conn.execute(update(terminal_profile).values(**values)))

    # counters -----------------------------------------------------------------
    def next_stan(self) -> int:
        """Advance and return the trace (voucher) number: 000001..999999, then wraps to 1."""

        def run(conn: Connection) -> int:
            value = conn.execute(select(counters.c.value).where(counters.c.name == "stan")).scalar_one()
            nxt = 1 if value >= 999_999 else value + 1
            conn.execute(update(counters).where(counters.c.name == "stan").values(value=nxt))
            return int(nxt)

        return int(self._tx(run))

    def current_stan(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(counters.c.value).where(counters.c.name == "stan")).scalar_one())

    def batch_no(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(counters.c.value).where(counters.c.name == "batch")).scalar_one())

    def set_batch_no(self, value: int) -> None:
        self._tx(
            lambda conn: conn.execute(update(counters).where(counters.c.name == "batch").values(value=value))
        )

    # keys ---------------------------------------------------------------------
    def get_key(self, name: str) -> str | None:
        with self.engine.connect() as conn:
            value = conn.execute(select(secure_keys.c.key_block).where(secure_keys.c.name == name)).scalar()
        return str(value) if value is not None else None

    def put_keys(self, keys: Mapping[str, tuple[str, str]]) -> None:
        """Store several key blocks atomically: ``{name: (key_block, kcv_hex)}``."""

        def run(conn: Connection) -> None:
            for name, (block, kcv) in keys.items():
                conn.execute(delete(secure_keys).where(secure_keys.c.name == name))
                conn.execute(
                    insert(secure_keys).values(name=name, key_block=block, kcv=kcv, updated_at=self._now())
                )

        self._tx(run)

    def delete_keys(self, *names: str) -> None:
        self._tx(lambda conn: conn.execute(delete(secure_keys).where(secure_keys.c.name.in_(names))))

    def key_names(self) -> dict[str, str]:
        """Names of the stored keys with their check values (safe to show)."""
        with self.engine.connect() as conn:
            return {r.name: r.kcv for r in conn.execute(select(secure_keys.c.name, secure_keys.c.kcv))}

    # reversals ----------------------------------------------------------------
    def save_reversal(
        self,
        *,
        stan: int,
        batch_no: int,
        txn_type: str,
        pan_token: str | None,
        pan_masked: str | None,
        amount: int,
        currency: str,
        request: dict[str, Any],
        icc_data: bytes | None,
        reason: str = "98",
    ) -> int:
        """Persist a reversal record *before* the reversible request is sent."""
        now = self._now()
        result = self._tx(
            lambda conn: conn.execute(
                insert(reversal_queue).values(
                    stan=stan,
                    batch_no=batch_no,
                    txn_type=txn_type,
                    reason=reason,
                    pan_token=pan_token,
                    pan_masked=pan_masked,
                    amount=amount,
                    currency=currency,
                    request=request,
                    icc_data=icc_data,
                    created_at=now,
                    updated_at=now,
                )
            )
        )
        return inserted_id(result)

    def reserve_with_reversal(self, **values: Any) -> tuple[int, int]:
        """Allocate the next trace number and persist its reversal record in ONE durable commit.

        Returns ``(stan, reversal_id)``. Both must survive a crash together: a reversal always
        names the trace number the request went out with.
        """
        now = self._now()

        def run(conn: Connection) -> tuple[int, int]:
            value = conn.execute(select(counters.c.value).where(counters.c.name == "stan")).scalar_one()
            stan = 1 if value >= 999_999 else value + 1
            conn.execute(update(counters).where(counters.c.name == "stan").values(value=stan))
            rid = conn.execute(
                insert(reversal_queue).values(
                    stan=stan, reason=values.pop("reason", "98"), created_at=now, updated_at=now, **values
                )
            )
            return int(stan), inserted_id(rid)

        result: tuple[int, int] = self._tx(run)
        return result

    def set_reversal_reason(self, reversal_id: int, reason: str) -> None:
        self._tx(
            lambda conn: conn.execute(
                update(reversal_queue)
                .where(reversal_queue.c.id == reversal_id)
                .values(reason=reason, updated_at=self._now())
            )
        )

    def set_reversal_icc(self, reversal_id: int, icc_data: bytes) -> None:
        """The field 55 subset the reversal carries (known only after the card's second AC)."""
        self._tx(
            lambda conn: conn.execute(
                update(reversal_queue)
                .where(reversal_queue.c.id == reversal_id)
                .values(icc_data=icc_data, updated_at=self._now())
            )
        )

    def record_reversal_attempt(self, reversal_id: int, error: str) -> None:
        self._tx(
            lambda conn: conn.execute(
                update(reversal_queue)
                .where(reversal_queue.c.id == reversal_id)
                .values(
                    attempts=reversal_queue.c.attempts + 1, last_error=error[:200], updated_at=self._now()
                )
            )
        )

    def delete_reversal(self, reversal_id: int) -> None:
        self._tx(lambda conn: conn.execute(delete(reversal_queue).where(reversal_queue.c.id == reversal_id)))

    def pending_reversals(self) -> list[ReversalRecord]:
        with self.engine.connect() as conn:
            rows = (
                conn.execute(
                    select(reversal_queue)
                    .where(reversal_queue.c.status == "pending")
                    .order_by(reversal_queue.c.id)
                )
                .mappings()
                .all()
            )
        return [
            ReversalRecord(**{k: v for k, v in r.items() if k not in ("last_error", "updated_at")})
            for r in rows
        ]

    # batch --------------------------------------------------------------------
    def complete_transaction(self, record: Mapping[str, Any], *, clear_reversal: int | None) -> BatchRecord:
        """Add the approved transaction to the batch and drop its reversal record atomically."""

        def run(conn: Connection) -> int:
            rid = conn.execute(insert(batch_records).values(created_at=self._now(), **record))
            if clear_reversal is not None:
                conn.execute(delete(reversal_queue).where(reversal_queue.c.id == clear_reversal))
            return inserted_id(rid)

        record_id = self._tx(run)
        found = self.batch_record(record_id)
        assert found is not None
        return found

    def batch_record(self, record_id: int) -> BatchRecord | None:
        with self.engine.connect() as conn:
            row = (
                conn.execute(select(batch_records).where(batch_records.c.id == record_id)).mappings().first()
            )
        return _batch(row) if row else None

    def find_voucher(self, stan: int, batch_no: int | None = None) -> BatchRecord | None:
        query = select(batch_records).where(batch_records.c.stan == stan)
        if batch_no is not None:
            query = query.where(batch_records.c.batch_no == batch_no)
        with self.engine.connect() as conn:
            row = conn.execute(query.order_by(batch_records.c.id.desc())).mappings().first()
        return _batch(row) if row else None

    def last_record(self) -> BatchRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(batch_records).order_by(batch_records.c.id.desc())).mappings().first()
        return _batch(row) if row else None

    def records(self, batch_no: int | None = None) -> list[BatchRecord]:
        query = select(batch_records).order_by(batch_records.c.id)
        if batch_no is not None:
            query = query.where(batch_records.c.batch_no == batch_no)
        with self.engine.connect() as conn:
            return [_batch(r) for r in conn.execute(query).mappings()]

    def update_record(self, record_id: int, **values: Any) -> None:
        self._tx(
            lambda conn: conn.execute(
                update(batch_records).where(batch_records.c.id == record_id).values(**values)
            )
        )

    # uploads ------------------------------------------------------------------
    def queue_upload(self, kind: str, *, batch_no: int, stan: int, payload: dict[str, Any]) -> int:
        now = self._now()
        result = self._tx(
            lambda conn: conn.execute(
                insert(pending_uploads).values(
                    kind=kind, batch_no=batch_no, stan=stan, payload=payload, created_at=now, updated_at=now
                )
            )
        )
        return inserted_id(result)

    def pending_uploads(self, kind: str | None = None) -> list[dict[str, Any]]:
        query = select(pending_uploads).where(pending_uploads.c.status == "pending")
        if kind:
            query = query.where(pending_uploads.c.kind == kind)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query.order_by(pending_uploads.c.id)).mappings()]

    def finish_upload(self, upload_id: int, status: str = "done", error: str = "") -> None:
        self._tx(
            lambda conn: conn.execute(
                update(pending_uploads)
                .where(pending_uploads.c.id == upload_id)
                .values(
                    status=status,
                    last_error=error[:200],
                    attempts=pending_uploads.c.attempts + 1,
                    updated_at=self._now(),
                )
            )
        )

    # operators ----------------------------------------------------------------
    def set_operators(self, rows: list[dict[str, Any]]) -> None:
        def run(conn: Connection) -> None:
            conn.execute(delete(terminal_operators))
            if rows:
                conn.execute(insert(terminal_operators), rows)

        self._tx(run)

    def operator(self, code: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = (
                conn.execute(select(terminal_operators).where(terminal_operators.c.code == code))
                .mappings()
                .first()
            )
        return dict(row) if row else None

    def update_operator(self, code: str, **values: Any) -> None:
        self._tx(
            lambda conn: conn.execute(
                update(terminal_operators).where(terminal_operators.c.code == code).values(**values)
            )
        )

    # events -------------------------------------------------------------------
    def log_event(self, event: str, **details: Any) -> None:
        self._tx(
            lambda conn: conn.execute(insert(event_log).values(at=self._now(), event=event, details=details))
        )

    def events(self, limit: int = 50) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(event_log).order_by(event_log.c.id.desc()).limit(limit)).mappings()
            return [dict(r) for r in rows]


def _batch(row: Any) -> BatchRecord:
    fields = {f.name for f in dataclasses.fields(BatchRecord)}
    return BatchRecord(**{k: v for k, v in row.items() if k in fields})
