"""Key status: check values of one terminal's keys, host HSM and PIN pad side by side (no clear keys)."""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy import select

from poskit.config import Settings
from poskit.crypto.errors import CryptoError
from poskit.crypto.hsm import SoftHSM
from poskit.keys._common import open_host
from poskit.keys.errors import KeyManagementError
from poskit.store.schema import system_keys, terminals
from poskit.store.schema_keys import dukpt_devices
from poskit.terminal.runtime import terminal_files
from poskit.terminal.secure_element import SecureElement
from poskit.terminal.store import TerminalStore

__all__ = [
    "KeyStatus",
    "key_status",
]


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
    engine, hsm, lmk = open_host(settings)
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
