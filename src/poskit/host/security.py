"""The host's security context: the LMK, the software HSM and the system keys.

The LMK comes from ``POSKIT_LMK`` (hex) or the key file in the data directory
(created on first run, mode 0600) and is never written to the database. Every other
key — PAN protection keys, the issuer simulator's PVKs, CVK and IMKs, the zone PIN
key between acquirer and issuer, each terminal's TMK and working keys — is stored
only as a key block wrapped under the LMK.
"""

from __future__ import annotations

import dataclasses
import os
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.engine import Connection

from poskit.cards import test_keys
from poskit.config import Settings
from poskit.crypto.hsm import SoftHSM
from poskit.crypto.lmk import LocalMasterKey
from poskit.crypto.pan_protect import PanProtector
from poskit.store.db import WRITE, make_engine
from poskit.store.migrate import upgrade
from poskit.store.schema import system_keys, terminals
from poskit.terminal.secure_element import SecureElement

__all__ = [
    "SYSTEM_KEYS",
    "HostKeys",
    "ensure_system_keys",
    "inject_terminal_master_key",
    "load_host_keys",
    "load_lmk",
    "open_host_database",
]

#: name -> (TR-31 usage, origin) of every system key the host needs.
SYSTEM_KEYS = {
    "pan_data": "generated",
    "pan_hash": "generated",
    "issuer_zpk": "generated",  # zone PIN key: PIN blocks travel acquirer -> issuer under it
    "issuer_pvk_visa": "test",
    "issuer_pvk_ibm": "test",
    **{f"issuer_cvk_{r}" if r else "issuer_cvk": "test" for r in test_keys.TEST_CVKS},
    "issuer_imk_ac": "test",
    "issuer_imk_smi": "test",
    "issuer_imk_smc": "test",
}


def cvk_key_name(pan_or_range: str) -> str:
    """The system key holding the CVK of this PAN's BIN range (one CVK per range)."""
    bin_range = test_keys.cvk_range(pan_or_range)
    return f"issuer_cvk_{bin_range}" if bin_range else "issuer_cvk"


class LmkRotationPendingError(RuntimeError):
    """An LMK rotation was interrupted: key blocks may be under either LMK until it finishes."""

    def __init__(self, pending: Path) -> None:
        super().__init__(
            f"an LMK rotation is in progress ({pending} exists): finish it with "
            "`poskit keys rotate-lmk` before starting poskit"
        )
        self.pending = pending


def refuse_if_rotation_pending(key_file: Path) -> None:
    """Services must not start while an LMK rotation is half done (key tools may, to finish it)."""
    pending = key_file.with_name(key_file.name + ".next")
    if pending.exists():
        raise LmkRotationPendingError(pending)


def load_lmk(key_file: Path, *, create: bool = True) -> LocalMasterKey:
    """The LMK from ``POSKIT_LMK`` or ``key_file``; generated into the file on first use."""
    env = os.environ.get("POSKIT_LMK")
    if env:
        return LocalMasterKey.from_hex(env)
    if key_file.exists():
        return LocalMasterKey.load(key_file)
    if not create:
        raise FileNotFoundError(f"no LMK: set POSKIT_LMK or create {key_file} with `poskit up`")
    lmk = LocalMasterKey.generate()
    key_file.parent.mkdir(parents=True, exist_ok=True)
    lmk.save(key_file)
    return lmk


@dataclasses.dataclass(frozen=True)
class HostKeys:
    """The host's system key blocks, loaded once at start-up."""

    blocks: dict[str, str]

    def __getitem__(self, name: str) -> str:
        return self.blocks[name]


def _store(conn: Connection, hsm: SoftHSM, lmk_id: str, name: str, block: str, now: datetime) -> None:
    conn.execute(
        insert(system_keys).values(
            name=name, key_block=block, kcv=hsm.kcv(block).hex().upper(), lmk_id=lmk_id, created_at=now
        )
    )


def ensure_system_keys(conn: Connection, hsm: SoftHSM, lmk_id: str, *, now: datetime | None = None) -> None:
    """Create any missing system key (idempotent; run in a write transaction)."""
    at = now or datetime.now(UTC)
    have = {r.name for r in conn.execute(select(system_keys.c.name))}
    wanted: dict[str, str] = {}
    if "pan_data" not in have or "pan_hash" not in have:
        data_key, hash_key = PanProtector.create_keys(hsm)
        wanted["pan_data"], wanted["pan_hash"] = data_key, hash_key
    if "issuer_zpk" not in have:
        wanted["issuer_zpk"] = hsm.generate_key("P0", algorithm="TDES", length=16, mode="B")
    test_imports = {
        "issuer_pvk_visa": (test_keys.TEST_PVK_VISA, "V2"),
        "issuer_pvk_ibm": (test_keys.TEST_PVK_IBM3624, "V1"),
        **{cvk_key_name(r): (key, "C0") for r, key in test_keys.TEST_CVKS.items()},
        "issuer_imk_ac": (test_keys.TEST_IMK_AC, "E0"),
        "issuer_imk_smi": (test_keys.TEST_IMK_SMI, "E2"),
        "issuer_imk_smc": (test_keys.TEST_IMK_SMC, "E1"),
    }
    for name, (clear, usage) in test_imports.items():
        if name not in have:
            wanted[name] = hsm.import_clear_key(clear, usage, algorithm="TDES", exportability="N")
    for name, block in wanted.items():
        _store(conn, hsm, lmk_id, name, block, at)


def load_host_keys(conn: Connection) -> HostKeys:
    rows = conn.execute(select(system_keys.c.name, system_keys.c.key_block))
    return HostKeys({r.name: r.key_block for r in rows})


def open_host_database(settings: Settings) -> tuple[Engine, SoftHSM, HostKeys]:
    """Migrate the host database, load the LMK and make sure the system keys exist."""
    engine = make_engine(settings.resolved_database_url)
    upgrade(engine)
    lmk = load_lmk(settings.resolved_lmk_file)
    hsm = SoftHSM(lmk)
    with engine.connect().execution_options(**WRITE) as conn, conn.begin():
        ensure_system_keys(conn, hsm, lmk.identifier)
        keys = load_host_keys(conn)
    return engine, hsm, keys


def inject_terminal_master_key(
    hsm: SoftHSM, engine: Engine, terminal_id: str, element: SecureElement, *, renew: bool = False
) -> str:
    """Key-injection ceremony: create (or reuse) the terminal's TMK and load it into its PIN pad.

    Returns the TMK check value (hex), the only thing printed.
    """
    with engine.connect().execution_options(**WRITE) as conn, conn.begin():
        tmk = conn.execute(select(terminals.c.tmk).where(terminals.c.terminal_id == terminal_id)).scalar()
        if tmk is None or renew:
            tmk = hsm.generate_key("K0", algorithm="TDES", length=16, mode="B")
            conn.execute(
                update(terminals)
                .where(terminals.c.terminal_id == terminal_id)
                .values(tmk=tmk, pik=None, mak=None, tdk=None, sign_on_required=True)
            )
    pinpad_block = hsm.transfer_key(str(tmk), to=element.hsm)
    return element.install_master_key(pinpad_block)
