"""A card sale end to end over real TCP: terminal engine -> host -> issuer -> ledger."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from poskit.money import Amount
from poskit.store.db import make_engine
from poskit.store.schema import fee_lines, journal_entries, ledger_entries, terminals, transactions

pytestmark = pytest.mark.usefixtures("live_host")


def cny(text: str) -> Amount:
    return Amount.parse(text, "CNY")


def _host_rows(settings: Any, query: Any) -> list[Any]:
    engine = make_engine(settings.resolved_database_url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(query).mappings())
    finally:
        engine.dispose()


async def test_approved_sale_debits_the_card_and_posts_a_balanced_journal(
    new_counter: Callable[..., Any], issuer_balance: Callable[[str], int], demo_settings: Any
) -> None:
    """An approved swipe+PIN sale: issuer debited, transaction stored masked, balanced journal with fee."""
    counter = new_counter()
    before = issuer_balance("magstripe-debit")
    outcome = await counter.engine("magstripe-debit", pins=("654321",)).sale(cny("123.45"))
    assert outcome.approved, outcome.message
    assert outcome.response_code == "00" and outcome.rrn and len(outcome.rrn) == 12
    assert outcome.auth_code and len(outcome.auth_code) == 6
    assert outcome.masked_pan == "621700******5670"
    assert issuer_balance("magstripe-debit") == before - 12345
    [txn] = _host_rows(demo_settings, select(transactions).where(transactions.c.rrn == outcome.rrn))
    assert txn["status"] == "approved" and txn["pan_masked"] == "621700******5670"
    assert txn["fee"] == 62  # domestic debit 0.50% of 123.45 = 0.62
    [fee] = _host_rows(demo_settings, select(fee_lines).where(fee_lines.c.transaction_id == txn["id"]))
    assert fee["formula"] == "0.50% of 123.45 = 0.62"
    entries = _host_rows(
        demo_settings,
        select(ledger_entries.c.amount)
        .select_from(ledger_entries.join(journal_entries))
        .where(journal_entries.c.transaction_id == txn["id"]),
    )
    assert sorted(e["amount"] for e in entries) == [-12283, -62, 12345]
    copies = [copy for copy, _ in counter.printer.printed]
    assert copies == ["merchant", "cardholder"]
    merchant_copy = counter.printer.printed[0][1]
    assert "621700******5670 /S" in merchant_copy and "6217000012345670" not in merchant_copy
    assert outcome.rrn in merchant_copy and "CNY 123.45" in merchant_copy
    assert counter.store.last_record() is not None and not counter.store.pending_reversals()


@pytest.mark.parametrize(
    ("card", "pins", "amount", "code"),
    [
        ("magstripe-debit", ("111111",), "10.00", "55"),
        ("low-balance", ("123456",), "20.00", "51"),
        ("expired-card", ("123456",), "5.00", "54"),
        ("blocked-card", (), "5.00", "62"),
        ("lost-card", ("123456",), "5.00", "41"),
        ("stolen-card", ("123456",), "5.00", "43"),
        ("daily-limit", (), "600.00", "61"),
    ],
)
async def test_issuer_declines_with_the_right_code(
    new_counter: Callable[..., Any],
    issuer_balance: Callable[[str], int],
    card: str,
    pins: tuple[str, ...],
    amount: str,
    code: str,
) -> None:
    """Wrong PIN, no funds, expired, blocked, lost, stolen, over the daily limit: own code each, no debit."""
    counter = new_counter()
    before = issuer_balance(card)
    outcome = await counter.engine(card, pins=pins).sale(cny(amount))
    assert outcome.status == "declined" and outcome.response_code == code, outcome.message
    assert outcome.exit_code == 1
    assert issuer_balance(card) == before
    assert not counter.store.pending_reversals()
    assert counter.printer.printed == []


async def test_chip_card_swiped_is_told_to_insert(new_counter: Callable[..., Any]) -> None:
    """A 2xx service code swiped on a working chip reader is refused with 'insert the card'."""
    counter = new_counter()
    outcome = await counter.engine("unionpay-debit", pins=("123456",)).sale(cny("8.00"))
    assert outcome.status == "failed" and "insert" in outcome.message
    assert any("insert" in t for t in counter.display.texts())


async def test_chip_card_swiped_when_the_chip_reader_is_broken_is_a_fallback(
    new_counter: Callable[..., Any], issuer_balance: Callable[[str], int]
) -> None:
    """With the chip reader out of order a chip card's swipe is sent as a fallback and approved."""
    counter = new_counter()
    before = issuer_balance("unionpay-debit")
    outcome = await counter.engine("unionpay-debit", pins=("123456",), chip_reader_ok=False).sale(cny("8.00"))
    assert outcome.approved, outcome.message
    assert outcome.entry_mode == "fallback"
    assert issuer_balance("unionpay-debit") == before - 800


async def test_host_unreachable_takes_no_money(new_counter: Callable[..., Any]) -> None:
    """No connection: a plain 'network not connected' message, nothing sent, nothing to reverse."""
    counter = new_counter()
    from poskit.terminal.devices.network import TcpHostLink

    outcome = await counter.engine("magstripe-debit", pins=("654321",), link=TcpHostLink("127.0.0.1:1")).sale(
        cny("5.00")
    )
    assert outcome.status == "failed" and outcome.exit_code == 2
    assert outcome.message.startswith("network not connected")
    assert not counter.store.pending_reversals()


async def test_lost_response_is_reversed_before_the_next_transaction(
    new_counter: Callable[..., Any],
    issuer_balance: Callable[[str], int],
    demo_settings: Any,
    drop_responses: Any,
) -> None:
    """The host approved but the answer was lost: the terminal reverses it first thing next time."""
    counter = new_counter()
    assert (await counter.engine().sign_on()).approved
    before = issuer_balance("magstripe-debit")
    engine = counter.engine("magstripe-debit", pins=("654321",), link=drop_responses(counter.link))
    lost = await engine.sale(cny("50.00"))
    assert lost.status == "failed" and lost.reversal_pending and "reversed automatically" in lost.message
    assert issuer_balance("magstripe-debit") == before - 5000  # the host did approve it
    [pending] = counter.store.pending_reversals()
    assert pending.reason == "98" and pending.stan == lost.stan
    nxt = await counter.engine("magstripe-debit", pins=("654321",)).sale(cny("1.00"))
    assert nxt.approved, nxt.message
    assert not counter.store.pending_reversals()
    assert issuer_balance("magstripe-debit") == before - 100
    rows = _host_rows(
        demo_settings,
        select(transactions.c.status, transactions.c.mti).where(
            transactions.c.terminal_id == counter.terminal_id, transactions.c.stan == lost.stan
        ),
    )
    assert sorted((r["mti"], r["status"]) for r in rows) == [("0200", "reversed"), ("0400", "applied")]


class BlackHole:
    """A TCP server that accepts and reads requests but never answers."""

    def __init__(self) -> None:
        self.writers: list[asyncio.StreamWriter] = []
        self.server: asyncio.Server | None = None

    async def _swallow(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.append(writer)
        with contextlib.suppress(Exception):
            await reader.read(65536)

    async def __aenter__(self) -> int:
        self.server = await asyncio.start_server(self._swallow, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        for writer in self.writers:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
        await self.server.wait_closed()


async def test_host_that_never_answers(
    new_counter: Callable[..., Any], issuer_balance: Callable[[str], int], demo_settings: Any
) -> None:
    """A host that accepts but never answers: timeout, reversal kept, sent and acknowledged next time."""
    from poskit.terminal.devices.network import TcpHostLink

    counter = new_counter()
    await counter.engine("magstripe-debit", pins=("654321",)).sign_on()
    profile = counter.store.profile()
    counter.store.update_profile(params={**profile.params, "response_timeout": 1})
    before = issuer_balance("magstripe-debit")
    async with BlackHole() as port:
        outcome = await counter.engine(
            "magstripe-debit", pins=("654321",), link=TcpHostLink(f"127.0.0.1:{port}")
        ).sale(cny("9.99"))
    assert outcome.status == "failed" and outcome.reversal_pending
    assert "no answer from the host" in outcome.message
    assert len(counter.store.pending_reversals()) == 1
    nxt = await counter.engine("magstripe-debit", pins=("654321",)).sale(cny("2.00"))
    assert nxt.approved, nxt.message
    assert not counter.store.pending_reversals()
    assert issuer_balance("magstripe-debit") == before - 200
    [orphan] = _host_rows(
        demo_settings,
        select(transactions).where(
            transactions.c.terminal_id == counter.terminal_id, transactions.c.stan == outcome.stan
        ),
    )
    assert orphan["mti"] == "0400" and orphan["status"] == "orphan"


async def test_x919_terminal_sells_with_double_length_mac_key(new_counter: Callable[..., Any]) -> None:
    """A terminal configured for ISO 9797-1 algorithm 3 (X9.19) signs on and sells."""
    counter = new_counter(mac_algorithm="x919")
    outcome = await counter.engine("magstripe-debit", pins=("654321",)).sale(cny("3.00"))
    assert outcome.approved, outcome.message


async def test_working_keys_rotate_at_every_sign_on(
    new_counter: Callable[..., Any], demo_settings: Any
) -> None:
    """Each sign-on delivers new PIN and MAC keys (different check values)."""
    counter = new_counter()
    engine = counter.engine()
    first = await engine.sign_on()
    second = await engine.sign_on()
    assert first.approved and second.approved
    assert first.extra["kcv"]["mak"] != second.extra["kcv"]["mak"]
    assert first.extra["kcv"]["pik"] != second.extra["kcv"]["pik"]
    [row] = _host_rows(
        demo_settings,
        select(terminals.c.sign_on_required).where(terminals.c.terminal_id == counter.terminal_id),
    )
    assert row["sign_on_required"] is False


def test_no_declined_transaction_is_posted_to_the_ledger(demo_settings: Any) -> None:
    """Only approved (and reversed) transactions have journals."""
    rows = _host_rows(
        demo_settings,
        select(func.count())
        .select_from(
            journal_entries.join(transactions, journal_entries.c.transaction_id == transactions.c.id)
        )
        .where(transactions.c.status == "declined"),
    )
    assert next(iter(rows[0].values())) == 0


def test_the_clear_card_data_scan_finds_a_planted_pan(tmp_path: Any, clear_card_scan: Any) -> None:
    """The end-of-session scan is real: a PAN written in clear or packed BCD is found."""
    (tmp_path / "leak.txt").write_text("customer 6217000012345670 paid")
    (tmp_path / "leak.bin").write_bytes(bytes.fromhex("6222021001123456789F"))
    found = clear_card_scan(tmp_path)
    assert any("leak.txt" in f for f in found) and any("leak.bin" in f for f in found)
    (tmp_path / "leak.txt").unlink()
    (tmp_path / "leak.bin").unlink()
    assert clear_card_scan(tmp_path) == []
