"""Key-management flows: key injection, DUKPT devices, LMK rotation and key status.

Every flow goes through the host's :class:`~poskit.crypto.hsm.SoftHSM` and the terminal's
:class:`~poskit.terminal.secure_element.SecureElement`; clear keys pass only between the two
HSM objects. The one clear output by design is a set of key components printed for
dual-control custodians when an injection asks for them.

* :func:`inject_keys`: a new terminal master key (TMK) in the host HSM, handed to the
  terminal's PIN pad; for a DUKPT terminal also a DUKPT initial key derived from the BDK (a
  system key block, created on first use) for a fresh initial KSN. A DUKPT terminal still
  signs on: its message MACs and track encryption use the sign-on MAK and TDK (reversals and
  other MAC'd messages carry no KSN), only PIN blocks are DUKPT.
* :func:`rotate_lmk`: re-wraps every stored key block under a new LMK. The new LMK is
  written to a side file first (``lmk.key.next``); rows are re-wrapped in small committed
  batches, each block telling by itself which LMK wraps it (:meth:`SoftHSM.owns_key`); the
  old LMK stays the host's LMK until every block verifies under the new one, then the side
  file replaces it atomically. An interrupted run loses nothing and resumes when re-run.
  The host must be stopped meanwhile (it caches key blocks and its LMK).
* :func:`key_status`: check values only, host and PIN pad side by side.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Table, func, insert, select, update
from sqlalchemy.engine import Connection

from poskit.config import Settings
from poskit.crypto.errors import CryptoError, LmkError
from poskit.crypto.hsm import KeyBlock, SoftHSM
from poskit.crypto.lmk import LocalMasterKey
from poskit.store.db import WRITE, make_engine
from poskit.store.migrate import upgrade
from poskit.store.schema import audit_log, system_keys, terminals
from poskit.store.schema_keys import dukpt_devices, lmk_rotations
from poskit.terminal.runtime import terminal_files
from poskit.terminal.secure_element import SecureElement
from poskit.terminal.store import TerminalStore
from poskit.tms.provisioning import open_host_database, provision_terminal_store

__all__ = [
    "BDK_NAMES",
    "KEY_BLOCK_COLUMNS",
    "Component",
    "DukptInjection",
    "InjectionResult",
    "KeyManagementError",
    "KeyStatus",
    "RotationProgress",
    "RotationResult",
    "initial_ksn",
    "inject_keys",
    "key_status",
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

#: System key names of the base derivation keys, by DUKPT scheme.
BDK_NAMES = {"TDES": "dukpt_bdk", "AES": "dukpt_bdk_aes"}

_ACTOR = "poskit-cli"
RandomSource = Callable[[int], bytes]


class KeyManagementError(ValueError):
    """A key-management flow cannot run; the message says why and what to do (one line)."""


@dataclasses.dataclass(frozen=True, repr=False)
class Component:
    """One clear key component for a custodian, with its check value."""

    value: bytes
    kcv: str

    @property
    def hex(self) -> str:
        return self.value.hex().upper()

    def __repr__(self) -> str:
        return f"Component(kcv={self.kcv!r})"


@dataclasses.dataclass(frozen=True)
class DukptInjection:
    """What a DUKPT injection created: public values only."""

    scheme: str  # TDES | AES
    bdk_name: str
    bdk_kcv: str
    initial_ksn: str  # hex, counter zero
    ik_kcv: str


@dataclasses.dataclass(frozen=True)
class InjectionResult:
    """The outcome of :func:`inject_keys`."""

    terminal_id: str
    tmk_kcv: str
    pinpad_tmk_kcv: str
    components: tuple[Component, ...] = ()
    dukpt: DukptInjection | None = None
    pinpad_reset: bool = False  # the PIN pad's master key file was missing and was re-created


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


@dataclasses.dataclass(frozen=True)
class KeyStatus:
    """Check values of one terminal's keys, host side and PIN pad side."""

    terminal_id: str
    key_scheme: str
    mac_algorithm: str
    host_lmk_id: str
    host_keys: dict[str, dict[str, Any]]
    dukpt: dict[str, Any] | None
    pinpad_lmk_id: str | None
    pinpad_keys: dict[str, dict[str, Any]]
    pinpad_dukpt_ksn: str | None
    problems: list[str]

    @property
    def tmk_match(self) -> bool | None:
        host, pad = self.host_keys.get("tmk"), self.pinpad_keys.get("tmk")
        if host is None or pad is None:
            return None
        return bool(host["kcv"] == pad["kcv"])

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["tmk_match"] = self.tmk_match
        return data


# ---------------------------------------------------------------------------------- helpers
def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def _audit(conn: Connection, action: str, subject: str, details: dict[str, Any], at: datetime) -> None:
    conn.execute(
        insert(audit_log).values(at=at, actor=_ACTOR, action=action, subject=subject, details=details)
    )


def _host_lmk(settings: Settings) -> LocalMasterKey:
    """The host LMK, never created here (``poskit up`` creates it)."""
    env = os.environ.get("POSKIT_LMK")
    if env:
        return LocalMasterKey.from_hex(env, argument="POSKIT_LMK")
    path = settings.resolved_lmk_file
    if not path.exists():
        raise KeyManagementError(f"no LMK at {path}: run `poskit up` first (or set POSKIT_LMK)")
    return LocalMasterKey.load(path)


def _open_host(settings: Settings) -> tuple[Engine, SoftHSM, LocalMasterKey]:
    lmk = _host_lmk(settings)
    engine = make_engine(settings.resolved_database_url)
    upgrade(engine)
    return engine, SoftHSM(lmk), lmk


def initial_ksn(*, scheme: str, bdk_id: bytes, device_id: int) -> bytes:
    """A device's initial KSN (counter zero) from the BDK's identifier and a device number.

    TDES (X9.24-1, 10 bytes): key set ID ``FFFF`` + 3 bytes of the BDK check value, a 19-bit
    device ID, a 21-bit counter. AES (X9.24-3, 12 bytes): the 4-byte BDK ID, a 4-byte
    derivation ID (the device number) and a 32-bit counter.
    """
    if scheme == "AES":
        if len(bdk_id) != 4 or not 0 < device_id < 1 << 32:
            raise KeyManagementError("AES DUKPT needs a 4-byte BDK ID and a 32-bit device ID")
        return bdk_id + device_id.to_bytes(4, "big") + bytes(4)
    if len(bdk_id) != 3 or not 0 < device_id < 1 << 19:
        raise KeyManagementError("TDES DUKPT device IDs are exhausted (19 bits) for this BDK")
    ksi = int.from_bytes(b"\xff\xff" + bdk_id, "big")
    return ((ksi << 40) | (device_id << 21)).to_bytes(10, "big")


def _ensure_bdk(
    conn: Connection, hsm: SoftHSM, lmk_id: str, scheme: str, at: datetime
) -> tuple[str, KeyBlock]:
    name = BDK_NAMES[scheme]
    block = conn.execute(select(system_keys.c.key_block).where(system_keys.c.name == name)).scalar()
    if block is None:
        # Non-exportable: a BDK only ever derives initial keys inside the HSM.
        block = hsm.generate_key("B0", algorithm=scheme, length=16, mode="X", exportability="N")  # type: ignore[arg-type]
        conn.execute(
            insert(system_keys).values(
                name=name, key_block=block, kcv=hsm.kcv(block).hex().upper(), lmk_id=lmk_id, created_at=at
            )
        )
    return name, str(block)


def _open_pinpad(settings: Settings, terminal_id: str, store: TerminalStore) -> tuple[SecureElement, bool]:
    """The PIN pad's secure element; a lost master key file is re-created and its old keys wiped."""
    _, key_file = terminal_files(settings, terminal_id)
    mac = store.profile().mac_algorithm
    if key_file.exists():
        try:
            return SecureElement.open(key_file, store, mac_algorithm=mac), False
        except LmkError as exc:
            raise KeyManagementError(
                f"the PIN pad master key of {terminal_id} cannot be used ({exc.reason}); "
                f"fix or remove {key_file} and inject again"
            ) from None
    element = SecureElement.open(key_file, store, create=True, mac_algorithm=mac)
    element.wipe()  # blocks under the lost key can never be opened again
    return element, True


# ---------------------------------------------------------------------------------- injection
def inject_keys(
    settings: Settings,
    terminal_id: str,
    *,
    dukpt: bool = False,
    aes: bool = False,
    components: int = 0,
    now: datetime | None = None,
) -> InjectionResult:
    """Create a new TMK (and a DUKPT initial key when ``dukpt``) and load it into the PIN pad.

    ``components`` >= 2 creates the TMK as that many random components (returned for the
    custodians, the only clear key output); their XOR is the key. The host side is committed
    first: if the PIN pad step fails, run the injection again.
    """
    if aes and not dukpt:
        raise KeyManagementError("--aes applies to DUKPT: add --dukpt")
    if components and not 2 <= components <= 9:
        raise KeyManagementError(f"--components {components}: dual control needs 2 to 9 components")
    at = _now(now)
    scheme = "AES" if aes else "TDES"
    engine, hsm, _keys = open_host_database(settings)
    try:
        with engine.connect().execution_options(**WRITE) as conn, conn.begin():
            row = conn.execute(select(terminals.c.id).where(terminals.c.terminal_id == terminal_id)).first()
            if row is None:
                raise KeyManagementError(
                    f"terminal {terminal_id} is not registered with the host: register it first"
                )
            parts: list[tuple[bytes, bytes]] = []
            if components:
                tmk, parts = hsm.generate_components("K0", components, algorithm="TDES", length=16, mode="B")
            else:
                tmk = hsm.generate_key("K0", algorithm="TDES", length=16, mode="B")
            tmk_kcv = hsm.kcv(tmk).hex().upper()
            conn.execute(
                update(dukpt_devices)
                .where(dukpt_devices.c.terminal_id == row.id, dukpt_devices.c.status == "active")
                .values(status="retired", retired_at=at)
            )
            injection: DukptInjection | None = None
            ik: KeyBlock | None = None
            ksn = b""
            bdk_name: str | None = None
            if dukpt:
                bdk_name, bdk = _ensure_bdk(conn, hsm, hsm.lmk_identifier, scheme, at)
                device_id = (
                    int(conn.execute(select(func.coalesce(func.max(dukpt_devices.c.id), 0))).scalar_one()) + 1
                )
                bdk_id = hsm.kcv(bdk, length=4 if aes else 3)
                ksn = initial_ksn(scheme=scheme, bdk_id=bdk_id, device_id=device_id)
                ik = hsm.derive_dukpt_initial_key(bdk=bdk, ksn=ksn, aes=aes)
                injection = DukptInjection(
                    scheme=scheme,
                    bdk_name=bdk_name,
                    bdk_kcv=hsm.kcv(bdk).hex().upper(),
                    initial_ksn=ksn.hex().upper(),
                    ik_kcv=hsm.kcv(ik).hex().upper(),
                )
                conn.execute(
                    insert(dukpt_devices).values(
                        id=device_id,
                        terminal_id=row.id,
                        scheme=scheme,
                        bdk_name=bdk_name,
                        initial_ksn=injection.initial_ksn,
                        ik_kcv=injection.ik_kcv,
                        injected_at=at,
                    )
                )
            conn.execute(
                update(terminals)
                .where(terminals.c.id == row.id)
                .values(
                    tmk=tmk,
                    pik=None,
                    mak=None,
                    tdk=None,
                    sign_on_required=True,
                    key_scheme="dukpt" if dukpt else "fixed",
                    bdk_name=bdk_name,
                )
            )
            details: dict[str, Any] = {"tmk_kcv": tmk_kcv, "components": len(parts)}
            if injection is not None:
                details.update(dataclasses.asdict(injection))
            _audit(conn, "keys.inject", terminal_id, details, at)
        with engine.connect() as conn:
            store = provision_terminal_store(settings, conn, terminal_id)
        try:
            element, reset = _open_pinpad(settings, terminal_id, store)
            store.update_profile(key_scheme="dukpt" if dukpt else "fixed", sign_on_required=True)
            pad_kcv = element.install_master_key(hsm.transfer_key(tmk, to=element.hsm))
            if ik is not None:
                element.install_dukpt_key(hsm.transfer_key(ik, to=element.hsm), ksn)
            else:
                element.erase_dukpt_key()
            store.log_event(
                "keys_injected", tmk_kcv=pad_kcv, dukpt=injection.initial_ksn if injection else None
            )
        finally:
            store.close()
    finally:
        engine.dispose()
    return InjectionResult(
        terminal_id=terminal_id,
        tmk_kcv=tmk_kcv,
        pinpad_tmk_kcv=pad_kcv,
        components=tuple(Component(c, k.hex().upper()) for c, k in parts),
        dukpt=injection,
        pinpad_reset=reset,
    )


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
    at = _now(now)
    lmk_file, side = settings.resolved_lmk_file, lmk_side_file(settings)
    old = _host_lmk(settings)
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
                .values(status="done", finished_at=_now(now))
            )
            _audit(
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


# ---------------------------------------------------------------------------------- status
def _describe(hsm: SoftHSM, block: str) -> dict[str, Any]:
    try:
        info = hsm.describe(block)
    except CryptoError:
        return {"kcv": None, "ok": False}
    return {
        "kcv": info.kcv,
        "usage": info.usage,
        "algorithm": info.algorithm,
        "length": info.length,
        "ok": True,
    }


def key_status(settings: Settings, terminal_id: str) -> KeyStatus:
    """Check values of the terminal's keys in the host HSM and in its PIN pad (no clear keys)."""
    engine, hsm, lmk = _open_host(settings)
    problems: list[str] = []
    try:
        with engine.connect() as conn:
            row = (
                conn.execute(select(terminals).where(terminals.c.terminal_id == terminal_id))
                .mappings()
                .first()
            )
            if row is None:
                raise KeyManagementError(f"terminal {terminal_id} is not registered with the host")
            host_keys = {
                name: _describe(hsm, row[name]) for name in ("tmk", "pik", "mak", "tdk") if row[name]
            }
            device = (
                conn.execute(
                    select(dukpt_devices)
                    .where(dukpt_devices.c.terminal_id == row["id"], dukpt_devices.c.status == "active")
                    .order_by(dukpt_devices.c.id.desc())
                )
                .mappings()
                .first()
            )
            dukpt: dict[str, Any] | None = None
            if device is not None:
                bdk = conn.execute(
                    select(system_keys.c.key_block).where(system_keys.c.name == device["bdk_name"])
                ).scalar()
                dukpt = {
                    "scheme": device["scheme"],
                    "bdk_name": device["bdk_name"],
                    "bdk_kcv": _describe(hsm, bdk)["kcv"] if bdk else None,
                    "initial_ksn": device["initial_ksn"],
                    "ik_kcv": device["ik_kcv"],
                    "last_counter": int(device["last_counter"]),
                }
        if any(not k["ok"] for k in host_keys.values()):
            problems.append("a host key block does not open under the current LMK")
        store_file, key_file = terminal_files(settings, terminal_id)
        pinpad_lmk: str | None = None
        pinpad_keys: dict[str, dict[str, Any]] = {}
        next_ksn: str | None = None
        if not store_file.exists():
            problems.append(f"no terminal store at {store_file}")
        else:
            store = TerminalStore.open(store_file)
            try:
                stored = store.key_names()
                if not key_file.exists():
                    problems.append(f"PIN pad master key file {key_file} is missing: inject keys again")
                    pinpad_keys = {name: {"kcv": kcv, "ok": False} for name, kcv in stored.items()}
                else:
                    element = SecureElement.open(key_file, store)
                    pinpad_lmk = element.hsm.lmk_identifier
                    for name, kcv in stored.items():
                        block = store.get_key(name) or ""
                        ok = name == "dukpt" or element.hsm.owns_key(block)
                        pinpad_keys[name] = {"kcv": kcv, "ok": ok}
                    ksn = element.dukpt_ksn()
                    next_ksn = ksn.hex().upper() if ksn else None
                    if row["key_scheme"] == "dukpt" and (problem := element.dukpt_problem()):
                        problems.append(problem)
                if "tmk" not in stored:
                    problems.append(f"the PIN pad has no TMK: `poskit keys inject --terminal {terminal_id}`")
            finally:
                store.close()
    finally:
        engine.dispose()
    status = KeyStatus(
        terminal_id=terminal_id,
        key_scheme=str(row["key_scheme"]),
        mac_algorithm=str(row["mac_algorithm"]),
        host_lmk_id=lmk.identifier,
        host_keys=host_keys,
        dukpt=dukpt,
        pinpad_lmk_id=pinpad_lmk,
        pinpad_keys=pinpad_keys,
        pinpad_dukpt_ksn=next_ksn,
        problems=problems,
    )
    if status.tmk_match is False:
        problems.append("the PIN pad's TMK differs from the host's: inject keys again")
    return status
