"""Keyless network management messages from a stranger change nothing (protocol.md §6, §7.2)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from tests.outside.client import OutsideTerminal

from poskit.cards.book import card_by_name
from poskit.cards.magstripe import track2_for

DIALECTS = [("cups", "cups-ecb"), ("ascii87", "x919")]


def _card() -> tuple[str, str, str]:
    card = card_by_name("magstripe-debit")
    return card.pan, str(track2_for(card)), card.pin


def _stranger(genuine: OutsideTerminal) -> OutsideTerminal:
    """Someone who knows only fields 41/42 (from a receipt), on a connection of their own."""
    return OutsideTerminal(
        genuine.address, genuine.tid, genuine.mid, bytes(16), dialect=genuine.dialect, mac=genuine.mac_method
    )


@pytest.mark.parametrize(("dialect", "mac"), DIALECTS)
async def test_spoofed_sign_off_leaves_the_terminal_in_service(
    outside_terminal: Callable[..., OutsideTerminal],
    issuer_balance: Callable[[str], int],
    dialect: str,
    mac: str,
) -> None:
    """A stranger's keyless sign-off is acknowledged 00, yet the genuine terminal's next sale is 00."""
    async with outside_terminal(dialect=dialect, mac=mac) as t:
        assert (await t.sign_on())["39"] == "00"
        async with _stranger(t) as s:
            s.stan = 500
            assert (await s.sign_off())["39"] == "00"
        before = issuer_balance("magstripe-debit")
        _, answer = await t.sale(*_card(), amount_minor=700)
        assert answer["39"] == "00", answer
        assert issuer_balance("magstripe-debit") == before - 700


@pytest.mark.parametrize(("dialect", "mac"), DIALECTS)
async def test_spoofed_sign_on_then_sign_off_leave_keys_and_batch(
    outside_terminal: Callable[..., OutsideTerminal], dialect: str, mac: str
) -> None:
    """A stranger's sign-on (keys it cannot read) then sign-off: the genuine keys and batch still serve."""
    async with outside_terminal(dialect=dialect, mac=mac) as t:
        assert (await t.sign_on())["39"] == "00"
        async with _stranger(t) as s:
            s.stan, s.batch = 600, 42
            doc = s._base("0800")
            if dialect == "cups":
                doc.update({"60": s._field60("00", "004"), "63": "01 spoof"})
            else:
                doc.update({"53": "0610000000000000", "60": s._field60("00", "000"), "70": "001"})
            assert (await s.exchange(doc, mac=False))["39"] == "00"
            assert (await s.sign_off())["39"] == "00"
        _, answer = await t.sale(*_card(), amount_minor=300)
        assert answer["39"] == "00", answer
        assert answer["60"][2:8] == f"{t.batch:06d}"


@pytest.mark.parametrize(("dialect", "mac"), DIALECTS)
async def test_genuine_sign_off_then_sign_on_serves_under_the_new_keys(
    outside_terminal: Callable[..., OutsideTerminal], dialect: str, mac: str
) -> None:
    """The terminal's own sign-off and sign-on: its first sale under the new keys is 00 and MAC'd."""
    async with outside_terminal(dialect=dialect, mac=mac) as t:
        assert (await t.sign_on())["39"] == "00"
        old_mak = t.mak
        assert (await t.sign_off())["39"] == "00"
        assert (await t.sign_on())["39"] == "00"
        assert t.mak != old_mak
        _, answer = await t.sale(*_card(), amount_minor=200)
        assert answer["39"] == "00", answer


@pytest.mark.parametrize(
    ("dialect", "mac", "scheme"),
    [("cups", "cups-ecb", "001"), ("cups", "cups-ecb", "006"), ("ascii87", "x919", "001")],
)
async def test_refused_key_schemes_get_40_and_change_nothing(
    outside_terminal: Callable[..., OutsideTerminal],
    issuer_balance: Callable[[str], int],
    dialect: str,
    mac: str,
    scheme: str,
) -> None:
    """A sign-on for scheme 001 (single DES) or 006 (SM4) is answered 40 without keys; the terminal's
    keys and batch from its 004 sign-on still serve its next sale."""
    async with outside_terminal(dialect=dialect, mac=mac) as t:
        assert (await t.sign_on())["39"] == "00"
        doc = t._base("0800")
        if dialect == "cups":
            doc.update({"60": t._field60("00", scheme), "63": "01 outside"})
        else:
            doc.update({"53": "0000000000000000", "60": t._field60("00", "000"), "70": "001"})
        refused = await t.exchange(doc, mac=False)
        assert refused["39"] == "40", refused
        assert "62" not in refused
        before = issuer_balance("magstripe-debit")
        _, answer = await t.sale(*_card(), amount_minor=150)
        assert answer["39"] == "00", answer
        assert answer["60"][2:8] == f"{t.batch:06d}"
        assert issuer_balance("magstripe-debit") == before - 150


def _status_upload(t: OutsideTerminal, tlv: str) -> dict[str, str]:
    doc = t._base("0820")
    data = tlv.encode("ascii").hex().upper()
    if t.dialect == "cups":
        doc.update({"60": t._field60("00", "362"), "62": data})
    else:
        doc.update({"60": t._field60("00", "000"), "62": data, "70": "362"})
    return doc


def _reported(demo_settings: Any, tid: str) -> tuple[Any, Any]:
    from sqlalchemy import select

    from poskit.store.db import make_engine
    from poskit.store.schema import terminals

    engine = make_engine(demo_settings.resolved_database_url)
    try:
        with engine.connect() as conn:
            row = conn.execute(
                select(terminals.c.software_version, terminals.c.network).where(
                    terminals.c.terminal_id == tid
                )
            ).one()
    finally:
        engine.dispose()
    return row.software_version, row.network


@pytest.mark.parametrize(("dialect", "mac"), DIALECTS)
async def test_status_report_is_recorded_only_after_the_terminal_authenticates(
    outside_terminal: Callable[..., OutsideTerminal], demo_settings: Any, dialect: str, mac: str
) -> None:
    """A keyless 0820 status report is answered 00 but recorded only at the terminal's next request
    whose MAC verifies from the same address; a stranger's report from another address never is."""
    async with outside_terminal(dialect=dialect, mac=mac) as t:
        assert (await t.sign_on())["39"] == "00"
        assert (await t.exchange(_status_upload(t, "power=mains;version=GENUINE-1;network=eth"), mac=False))[
            "39"
        ] == "00"
        assert _reported(demo_settings, t.tid)[0] != "GENUINE-1"
        _, sale = await t.sale(*_card(), amount_minor=100)
        assert sale["39"] == "00"
        assert _reported(demo_settings, t.tid) == ("GENUINE-1", "eth")
        stranger = _stranger(t)
        stranger.local_address, stranger.stan = "127.0.0.2", 700  # another address than the terminal's
        async with stranger as s:
            forged = _status_upload(s, "power=mains;version=FORGED-9;network=spoof;gps=-33.9,18.4")
            assert (await s.exchange(forged, mac=False))["39"] == "00"
        _, sale = await t.sale(*_card(), amount_minor=100)
        assert sale["39"] == "00"
        assert _reported(demo_settings, t.tid) == ("GENUINE-1", "eth")
