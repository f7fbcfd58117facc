"""The host under bad input: duplicates, bad MACs, malformed frames — and it keeps serving."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from poskit.cards.book import card_by_name
from poskit.cards.magstripe import track2_for
from poskit.iso8583.dialects import get_dialect
from poskit.iso8583.model import CardData, EntryMode, Request, TxnType
from poskit.money import Amount

pytestmark = pytest.mark.usefixtures("live_host")


def _sale_request(counter: Any, stan: int, amount: str) -> Request:
    card = card_by_name("magstripe-debit")
    track = track2_for(card)
    pin_block = counter.element.encrypt_pin(card.pin, card.pan)
    return Request(
        TxnType.SALE,
        counter.terminal_id,
        "898310058120001",
        stan,
        counter.store.batch_no(),
        amount=Amount.parse(amount, "CNY"),
        card=CardData(
            entry_mode=EntryMode.SWIPE, track2=track.to_field35(), pin_block=pin_block, pin_max_length=6
        ),
        operator="01",
        local_datetime=datetime.now().replace(microsecond=0),
    )


async def _send(counter: Any, request: Request, *, corrupt_mac: bool = False) -> Any:
    dialect = get_dialect("cups")
    raw = dialect.seal(dialect.encode_request(request), mac=counter.element.generate_mac)
    if corrupt_mac:
        raw = raw[:-1] + bytes([raw[-1] ^ 0x01])
    payload = await counter.link.exchange(dialect.frame(raw), timeout=10)
    envelope = dialect.unframe(payload)
    return dialect.decode_response(dialect.decode(envelope.message), envelope=envelope), envelope


async def test_duplicate_request_gets_the_original_answer(
    new_counter: Callable[..., Any], issuer_balance: Callable[[str], int]
) -> None:
    """The same terminal, batch and trace number twice: one debit, the same RRN and auth code twice."""
    counter = new_counter()
    assert (await counter.engine().sign_on()).approved
    before = issuer_balance("magstripe-debit")
    request = _sale_request(counter, counter.store.next_stan(), "7.77")
    first, _ = await _send(counter, request)
    second, _ = await _send(counter, request)
    assert first.response_code == second.response_code == "00"
    assert first.rrn == second.rrn and first.auth_code == second.auth_code
    assert issuer_balance("magstripe-debit") == before - 777


async def test_forged_mac_is_answered_a0_and_leaves_the_genuine_terminal_in_service(
    new_counter: Callable[..., Any], issuer_balance: Callable[[str], int]
) -> None:
    """A wrong MAC: A0, no debit — and the terminal's keys stay, so its next sale is approved."""
    counter = new_counter()
    assert (await counter.engine().sign_on()).approved
    before = issuer_balance("magstripe-debit")
    response, envelope = await _send(
        counter, _sale_request(counter, counter.store.next_stan(), "4.00"), corrupt_mac=True
    )
    assert response.response_code == "A0"
    assert envelope.header.processing_requirement == 3
    assert issuer_balance("magstripe-debit") == before
    # The forger got A0; the genuine terminal, with the same keys, goes on without a sign-on.
    genuine, _ = await _send(counter, _sale_request(counter, counter.store.next_stan(), "4.00"))
    assert genuine.response_code == "00"
    assert issuer_balance("magstripe-debit") == before - 400


async def test_repeated_authentication_failures_flag_the_terminal(
    new_counter: Callable[..., Any],
) -> None:
    """Five forged MACs within the hour raise one high 'authentication_failures' flag; service goes on."""
    from poskit.ledger.monitoring import list_flags
    from poskit.store.db import make_engine

    counter = new_counter()
    assert (await counter.engine().sign_on()).approved
    for _ in range(6):
        forged, _ = await _send(
            counter, _sale_request(counter, counter.store.next_stan(), "1.00"), corrupt_mac=True
        )
        assert forged.response_code == "A0"
    engine = make_engine(counter.settings.resolved_database_url)
    with engine.connect() as conn:
        mine = [f for f in list_flags(conn) if f.terminal_id == counter.terminal_id]
    assert [f.kind for f in mine] == ["authentication_failures"]
    assert mine[0].severity == "high" and "5 requests failed authentication" in mine[0].summary
    genuine, _ = await _send(counter, _sale_request(counter, counter.store.next_stan(), "1.00"))
    assert genuine.response_code == "00"


@pytest.mark.parametrize("dialect_name", ["cups", "ascii87"])
async def test_echo_test_is_answered_00(new_counter: Callable[..., Any], dialect_name: str) -> None:
    """The echo test (cups 0820 60.3=301; ascii87 0800 70=301) from a registered terminal is answered 00."""
    counter = new_counter(dialect=dialect_name)
    dialect = get_dialect(dialect_name)
    request = Request(
        TxnType.ECHO,
        counter.terminal_id,
        counter.store.profile().merchant_no,
        counter.store.next_stan(),
        counter.store.batch_no(),
    )
    raw = dialect.encode(dialect.encode_request(request, with_mac=False))
    payload = await counter.link.exchange(dialect.frame(raw), timeout=10)
    envelope = dialect.unframe(payload)
    response = dialect.decode_response(dialect.decode(envelope.message), envelope=envelope)
    assert response.response_code == "00"


async def _raw_exchange(address: str, data: bytes) -> bytes:
    host, port = address.rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(data)
        await writer.drain()
        return await asyncio.wait_for(reader.read(4096), 5)
    finally:
        writer.close()
        await writer.wait_closed()


async def test_garbage_frames_close_the_connection_and_the_host_keeps_serving(
    live_host: Any, new_counter: Callable[..., Any]
) -> None:
    """Random bytes, an oversize length and a non-ISO payload: connection closed, next terminal served."""
    for junk in (b"\x00\x05hello", b"\xff\xff" + b"x" * 10, b"\x00\x03\x01\x02\x03"):
        assert await _raw_exchange(live_host.address, junk) == b""
    counter = new_counter()
    outcome = await counter.engine("magstripe-debit", pins=("654321",)).sale(Amount.parse("1.23", "CNY"))
    assert outcome.approved, outcome.message


async def test_malformed_message_gets_format_error_30(
    live_host: Any, new_counter: Callable[..., Any]
) -> None:
    """A decodable header with a field that breaks the spec is answered 30, not dropped silently."""
    counter = new_counter()
    assert (await counter.engine().sign_on()).approved
    dialect = get_dialect("cups")
    raw = bytearray(
        dialect.encode(
            dialect.encode_request(_sale_request(counter, counter.store.next_stan(), "1.00"), with_mac=False)
        )
    )
    raw = raw[:-3]  # cut the last field short
    payload = await counter.link.exchange(dialect.frame(bytes(raw)), timeout=10)
    envelope = dialect.unframe(payload)
    reply = dialect.decode(envelope.message)
    assert reply.fields[39] == "30"
    assert reply.mti == "0210"


async def test_terminal_used_for_another_merchant_is_refused_and_flagged(
    new_counter: Callable[..., Any], demo_settings: Any
) -> None:
    """一机一户: a request under another merchant number (another MCC) is declined 03 and flagged."""
    from sqlalchemy import select

    from poskit.store.db import make_engine
    from poskit.store.schema_ledger import flags

    counter = new_counter()
    assert (await counter.engine().sign_on()).approved
    request = _sale_request(counter, counter.store.next_stan(), "5.00")
    jumped = dataclasses.replace(request, merchant_id="898310053110009")  # the same shop under MCC 5311
    response, _ = await _send(counter, jumped)
    assert response.response_code == "03"
    engine = make_engine(demo_settings.resolved_database_url)
    try:
        with engine.connect() as conn:
            kinds = {
                r.kind
                for r in conn.execute(select(flags.c.kind).where(flags.c.terminal_id == counter.terminal_id))
            }
    finally:
        engine.dispose()
    assert {"terminal_merchant_mismatch", "mcc_mismatch"} & kinds


async def test_status_upload_records_the_terminal_and_flags_a_moved_one(
    new_counter: Callable[..., Any], demo_settings: Any
) -> None:
    """Sign-on sends the terminal's status, recorded at its next MAC'd request; a position far from
    its registered site raises a flag."""
    from datetime import UTC, datetime

    from sqlalchemy import select

    from poskit.ledger.monitoring import register_terminal_site
    from poskit.store.db import WRITE, make_engine
    from poskit.store.schema import terminals
    from poskit.store.schema_ledger import flags

    counter = new_counter()
    engine = make_engine(demo_settings.resolved_database_url)
    try:
        with engine.connect().execution_options(**WRITE) as conn, conn.begin():
            register_terminal_site(
                conn,
                terminal_id=counter.terminal_id,
                latitude=31.2304,
                longitude=121.4737,
                radius_m=500,
                now=datetime.now(UTC),
            )
        profile = counter.store.profile()
        counter.store.update_profile(params={**profile.params, "gps": "39.9042,116.4074"})  # now in Beijing
        terminal = counter.engine()
        assert (await terminal.sign_on()).approved
        # the 0820 carries no MAC: its report is recorded once the terminal authenticates (a MAC'd 0500)
        assert (await terminal.settle()).approved
        with engine.connect() as conn:
            row = conn.execute(
                select(terminals.c.battery_percent, terminals.c.software_version).where(
                    terminals.c.terminal_id == counter.terminal_id
                )
            ).one()
            kinds = {
                r.kind
                for r in conn.execute(select(flags.c.kind).where(flags.c.terminal_id == counter.terminal_id))
            }
    finally:
        engine.dispose()
    assert row.battery_percent == 87 and row.software_version
    assert "terminal_location" in kinds


async def test_terminal_on_mains_is_recorded_as_mains_not_battery_zero(
    new_counter: Callable[..., Any], demo_settings: Any
) -> None:
    """A terminal without a battery sends power=mains; the host stores no battery level for it."""
    from sqlalchemy import select

    from poskit.store.db import make_engine
    from poskit.store.schema import terminals
    from poskit.terminal.devices.scripted import FixedPower

    counter = new_counter()
    terminal = counter.engine()
    terminal.devices.power = FixedPower(percent=None, on_charger=False)
    assert (await terminal.sign_on()).approved
    assert (await terminal.settle()).approved  # the held status report is recorded on a MAC'd request
    engine = make_engine(demo_settings.resolved_database_url)
    try:
        with engine.connect() as conn:
            row = conn.execute(
                select(terminals.c.battery_percent, terminals.c.power_source, terminals.c.charging).where(
                    terminals.c.terminal_id == counter.terminal_id
                )
            ).one()
    finally:
        engine.dispose()
    assert (row.power_source, row.battery_percent, row.charging) == ("mains", None, None)


async def test_heartbeat_records_paper_versions_uptime_and_storage(
    new_counter: Callable[..., Any], demo_settings: Any
) -> None:
    """The sign-on heartbeat's paper level, parameter version, uptime and free storage reach the
    terminal's row once the terminal authenticates."""
    from sqlalchemy import select

    from poskit.store.db import make_engine
    from poskit.store.schema import terminals

    counter = new_counter()
    profile = counter.store.profile()
    counter.store.update_profile(params={**profile.params, "parameter_version": "2026120801"})
    terminal = counter.engine()
    counter.printer.paper_low = True
    assert (await terminal.sign_on()).approved
    assert (await terminal.settle()).approved
    engine = make_engine(demo_settings.resolved_database_url)
    try:
        with engine.connect() as conn:
            row = conn.execute(
                select(
                    terminals.c.paper,
                    terminals.c.parameter_version,
                    terminals.c.uptime_seconds,
                    terminals.c.storage_free_mb,
                ).where(terminals.c.terminal_id == counter.terminal_id)
            ).one()
    finally:
        engine.dispose()
    assert (row.paper, row.parameter_version) == ("low", "2026120801")
    assert row.uptime_seconds is not None and row.uptime_seconds >= 0
    assert row.storage_free_mb is not None and row.storage_free_mb >= 0


async def test_critical_battery_refuses_a_sale_before_anything_is_sent(
    new_counter: Callable[..., Any],
) -> None:
    """Off the charger below the critical level, the sale is refused plainly and nothing reaches the host."""
    from poskit.terminal.devices.scripted import FixedPower

    counter = new_counter()
    terminal = counter.engine("magstripe-debit", pins=("123456",))
    assert (await terminal.sign_on()).approved
    stan = counter.store.next_stan()
    terminal.devices.power = FixedPower(percent=3, on_charger=False)
    outcome = await terminal.purchase(TxnType.SALE, Amount.parse("12.00", "CNY"))
    assert not outcome.approved and "connect the charger" in outcome.message
    assert counter.store.next_stan() == stan + 1  # no STAN was spent: no request went out
    assert not counter.store.pending_reversals()
