"""Key injection: terminal master keys and DUKPT initial keys into a terminal's PIN pad.

Every flow goes through the host's :class:`~poskit.crypto.hsm.SoftHSM` and the terminal's
:class:`~poskit.terminal.secure_element.SecureElement`; clear keys pass only between the two
HSM objects. The one clear output by design is a set of key components printed for
dual-control custodians when an injection asks for them.

* :func:`inject_keys`: a new terminal master key (TMK) in the host HSM, handed to the
  terminal's PIN pad; for a DUKPT terminal also a DUKPT initial key derived from the BDK (a
  system key block, created on first use) for a fresh initial KSN. A DUKPT terminal still
  signs on: its message MACs and track encryption use the sign-on MAK and TDK (reversals and
  other MAC'd messages carry no KSN), only PIN blocks are DUKPT.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection

from poskit.config import Settings
from poskit.crypto.errors import LmkError
from poskit.crypto.hsm import KeyBlock, SoftHSM
from poskit.host.security import open_host_database
from poskit.keys._common import audit, now_or_utc
from poskit.keys.errors import KeyManagementError
from poskit.store.db import WRITE
from poskit.store.schema import system_keys, terminals
from poskit.store.schema_keys import dukpt_devices
from poskit.terminal.runtime import terminal_files
from poskit.terminal.secure_element import SecureElement
from poskit.terminal.store import TerminalStore
from poskit.tms.registry import provision_terminal_store

__all__ = [
    "BDK_NAMES",
    "Component",
    "DukptInjection",
    "InjectionResult",
    "initial_ksn",
    "inject_keys",
]

#: System key names of the base derivation keys, by DUKPT scheme.
BDK_NAMES = {"TDES": "dukpt_bdk", "AES": "dukpt_bdk_aes"}


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
    at = now_or_utc(now)
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
            audit(conn, "keys.inject", terminal_id, details, at)
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
