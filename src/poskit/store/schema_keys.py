"""Key-management tables: DUKPT devices injected per terminal and LMK rotation runs.

No key material lives here. A DUKPT device row records which BDK (a system key block, by
name) a terminal's initial key came from, the initial KSN (public: it travels in every
PIN-bearing request) with the initial key's check value, and the highest transaction counter
the host has accepted, so a replayed KSN is refused. An LMK rotation row is the audit trail
and progress record of one ``poskit keys rotate-lmk`` run (LMK identifiers are check values).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, String, Table

from poskit.store.schema import UtcDateTime, metadata

__all__ = ["dukpt_devices", "lmk_rotations"]

dukpt_devices = Table(
    "dukpt_devices",
    metadata,
    Column("id", Integer, primary_key=True),  # also the device ID inside the initial KSN
    Column("terminal_id", ForeignKey("terminals.id"), nullable=False),
    Column("scheme", String(4), nullable=False),  # TDES (X9.24-1) | AES (X9.24-3)
    Column("bdk_name", String(40), nullable=False),  # system_keys.name of the BDK
    Column("initial_ksn", String(24), nullable=False, unique=True),  # hex, counter zero
    Column("ik_kcv", String(16), nullable=False),
    Column("last_counter", BigInteger, nullable=False, server_default="0"),
    Column("status", String(12), nullable=False, server_default="active"),  # active | retired
    Column("injected_at", UtcDateTime(), nullable=False),
    Column("retired_at", UtcDateTime(), nullable=True),
)
Index("ix_dukpt_devices_terminal", dukpt_devices.c.terminal_id)

lmk_rotations = Table(
    "lmk_rotations",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("old_lmk_id", String(16), nullable=False),
    Column("new_lmk_id", String(16), nullable=False),
    Column("status", String(12), nullable=False),  # running | done
    Column("rewrapped", Integer, nullable=False, server_default="0"),
    Column("started_at", UtcDateTime(), nullable=False),
    Column("finished_at", UtcDateTime(), nullable=True),
)
