"""Fixtures for outside-terminal tests: a live host and third-party terminals with known TMKs."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select, update
from tests.outside.client import OutsideTerminal

from poskit.cards.book import card_by_name
from poskit.crypto.hsm import SoftHSM
from poskit.crypto.pan_protect import PanProtector
from poskit.host.security import load_host_keys, load_lmk
from poskit.store.db import WRITE, make_engine
from poskit.store.schema import issuer_cards, terminals
from poskit.tms.registry import register_terminal

MID = "898310058120001"
TMK = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")  # the third party's own master key
_tids = itertools.count(1)


@pytest.fixture
def outside_terminal(demo_settings: Any, live_host: Any) -> Callable[..., OutsideTerminal]:
    """Make a registered third-party terminal (fresh TID) whose TMK the outside client holds."""

    def make(
        *, dialect: str = "cups", mac: str = "cups-ecb", scheme: str = "004", merchant: str = MID
    ) -> OutsideTerminal:
        tid = f"OUT{next(_tids):05d}"
        register_terminal(demo_settings, tid, merchant, dialect=dialect, mac_algorithm=mac)
        hsm = SoftHSM(load_lmk(demo_settings.resolved_lmk_file, create=False))
        block = hsm.import_clear_key(TMK, "K0", algorithm="TDES", mode="B")
        engine = make_engine(demo_settings.resolved_database_url)
        with engine.connect().execution_options(**WRITE) as conn, conn.begin():
            conn.execute(update(terminals).where(terminals.c.terminal_id == tid).values(tmk=block))
        engine.dispose()
        return OutsideTerminal(live_host.address, tid, merchant, TMK, dialect=dialect, mac=mac, scheme=scheme)

    return make


@pytest.fixture(scope="session")
def last_online_atc(demo_settings: Any) -> Callable[[str], int]:
    """The issuer's last online ATC of a test card (0 before its first chip transaction)."""
    lmk = load_lmk(demo_settings.resolved_lmk_file, create=False)
    engine = make_engine(demo_settings.resolved_database_url)
    with engine.connect() as conn:
        keys = load_host_keys(conn)
    protector = PanProtector(SoftHSM(lmk), data_key=keys["pan_data"], hash_key=keys["pan_hash"])

    def atc(card_name: str) -> int:
        digest = protector.fingerprint(card_by_name(card_name).pan)
        with engine.connect() as conn:
            value = conn.execute(
                select(issuer_cards.c.last_online_atc).where(issuer_cards.c.pan_hash == digest)
            ).scalar_one()
        return int(value or 0)

    return atc
