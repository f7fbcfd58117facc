"""A third party's terminal master key, delivered as clear components under dual control.

Each custodian brings one double-length TDES component (32 hex digits) and its check value
(KCV: the first 3 bytes of TDES-ECB of a zero block under the component, 6 hex digits).
Every component must have odd parity in each byte — a component with an even-parity byte was
mis-typed or mis-printed and is refused, never silently "fixed". The TMK is the XOR of the
components with each byte's low bit then set for odd parity (the XOR of two odd-parity bytes
has even parity, so this adjustment is what every HSM does). The host stores it wrapped under
the LMK; the third-party terminal, which holds the same components, signs on for working keys.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update

from poskit.config import Settings
from poskit.crypto.des import has_odd_parity
from poskit.crypto.kcv import kcv
from poskit.host.security import open_host_database
from poskit.keys._common import audit, now_or_utc
from poskit.keys.errors import KeyManagementError
from poskit.store.db import WRITE
from poskit.store.schema import terminals
from poskit.store.schema_keys import dukpt_devices

__all__ = ["ComponentImport", "import_tmk_components", "parse_component"]

_COMPONENT_HEX = 32  # double-length TDES, the TMK length of both key schemes 003 and 004
_KCV_HEX = 6


@dataclasses.dataclass(frozen=True)
class ComponentImport:
    """What a component import stored: check values only."""

    terminal_id: str
    tmk_kcv: str
    component_kcvs: tuple[str, ...]


def parse_component(text: str, position: int) -> bytes:
    """``HEX:KCV`` to the component's bytes, after checking length, parity and check value."""
    value, sep, check = text.strip().partition(":")
    label = f"component {position}"
    if not sep:
        raise KeyManagementError(f"{label}: expected HEX:KCV (32 hex digits, a colon, 6 hex digits)")
    value, check = value.strip().upper(), check.strip().upper()
    try:
        clear = bytes.fromhex(value)
        bytes.fromhex(check)
    except ValueError:
        raise KeyManagementError(f"{label}: not hexadecimal") from None
    if len(value) != _COMPONENT_HEX or len(check) != _KCV_HEX:
        raise KeyManagementError(f"{label}: expected 32 hex digits and a 6-digit check value")
    if not has_odd_parity(clear):
        raise KeyManagementError(
            f"{label}: a byte has even parity (mis-typed?); components must have odd parity"
        )
    actual = kcv(clear).hex().upper()
    if actual != check:
        raise KeyManagementError(f"{label}: check value {actual} does not match the given {check}")
    return clear


def import_tmk_components(
    settings: Settings, terminal_id: str, components: Sequence[str], *, now: datetime | None = None
) -> ComponentImport:
    """Combine 2 or 3 ``HEX:KCV`` components into the terminal's new TMK at the host.

    The terminal's working keys (current and pending) are retired: it must sign on.
    """
    if not 2 <= len(components) <= 3:
        raise KeyManagementError(f"{len(components)} components given: a TMK is delivered in 2 or 3")
    clear = [parse_component(text, i) for i, text in enumerate(components, 1)]
    if len(set(clear)) != len(clear):
        raise KeyManagementError("two components are identical: each custodian holds a different one")
    at = now_or_utc(now)
    engine, hsm, _keys = open_host_database(settings)
    try:
        with engine.connect().execution_options(**WRITE) as conn, conn.begin():
            row = conn.execute(select(terminals.c.id).where(terminals.c.terminal_id == terminal_id)).first()
            if row is None:
                raise KeyManagementError(
                    f"terminal {terminal_id} is not registered with the host: register it first"
                )
            tmk, combined_kcv = hsm.import_components(clear, "K0", algorithm="TDES", mode="B")
            tmk_kcv = combined_kcv.hex().upper()
            conn.execute(
                update(dukpt_devices)
                .where(dukpt_devices.c.terminal_id == row.id, dukpt_devices.c.status == "active")
                .values(status="retired", retired_at=at)
            )
            conn.execute(
                update(terminals)
                .where(terminals.c.id == row.id)
                .values(
                    tmk=tmk,
                    pik=None,
                    mak=None,
                    tdk=None,
                    pending_pik=None,
                    pending_mak=None,
                    pending_tdk=None,
                    pending_batch_no=None,
                    sign_on_required=True,
                    key_scheme="fixed",
                    bdk_name=None,
                )
            )
            kcvs = tuple(kcv(c).hex().upper() for c in clear)
            audit(
                conn,
                "keys.inject",
                terminal_id,
                {
                    "tmk_kcv": tmk_kcv,
                    "components": len(clear),
                    "component_kcvs": list(kcvs),
                    "source": "custodians",
                },
                at,
            )
    finally:
        engine.dispose()
    return ComponentImport(terminal_id, tmk_kcv, kcvs)
