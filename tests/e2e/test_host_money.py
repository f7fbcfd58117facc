"""Money over TCP: a repeat must match its original, and a reversal that overtook its sale wins."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select

from poskit.cards.book import card_by_name
from poskit.cards.magstripe import track2_for
from poskit.iso8583.dialects import get_dialect
from poskit.iso8583.model import CardData, EntryMode, Original, Request, TxnType
from poskit.money import Amount
from poskit.store.db import make_engine
from poskit.store.schema_ledger import flags

pytestmark = pytest.mark.usefixtures("live_host")

DIALECTS = [("cups", "cups-ecb"), ("ascii87", "x919")]


def _sale(counter: Any, stan: int, amount: str, card_name: str = "magstripe-debit") -> Request:
    """A swiped sale; a chip card is sent as a fallback swipe so the host reads it."""
    card = card_by_name(card_name)
    entry = EntryMode.SWIPE if card_name == "magstripe-debit" else EntryMode.FALLBACK
    return Request(
        TxnType.SALE,
        counter.terminal_id,
        "898310058120001",
        stan,
        counter.store.batch_no(),
        amount=Amount.parse(amount, "CNY"),
        card=CardData(
            entry_mode=entry,
            track2=track2_for(card).to_field35(),
            pin_block=counter.element.encrypt_pin(card.pin, card.pan),
            pin_max_length=6,
        ),
        operator="01",
        local_datetime=datetime.now().replace(microsecond=0),
    )


def _reversal(
    counter: Any, dialect_name: str, sale_stan: int, amount: str, card_name: str = "magstripe-debit"
) -> Request:
    """cups reversals carry the sale's trace; ascii87 ones their own, naming the sale in field 90."""
    stan = sale_stan if dialect_name == "cups" else counter.store.next_stan()
    batch = counter.store.batch_no()
    return Request(
        TxnType.REVERSAL,
        counter.terminal_id,
        "898310058120001",
        stan,
        batch,
        amount=Amount.parse(amount, "CNY"),
        card=CardData(entry_mode=EntryMode.SWIPE, pan=card_by_name(card_name).pan),
        reversal_reason="98",
        original=Original(batch=batch, stan=sale_stan, txn_type=TxnType.SALE),
        local_datetime=datetime.now().replace(microsecond=0),
    )


async def _send(counter: Any, dialect_name: str, request: Request) -> Any:
    dialect = get_dialect(dialect_name)
    raw = dialect.seal(dialect.encode_request(request), mac=counter.element.generate_mac)
    payload = await counter.link.exchange(dialect.frame(raw), timeout=10)
    envelope = dialect.unframe(payload)
    return dialect.decode_response(dialect.decode(envelope.message), envelope=envelope)


def _flag_kinds(counter: Any) -> list[str]:
    engine = make_engine(counter.settings.resolved_database_url)
    with engine.connect() as conn:
        return [
            str(kind)
            for kind in conn.execute(select(flags.c.kind).where(flags.c.terminal_id == counter.terminal_id))
            .scalars()
            .all()
        ]


@pytest.mark.parametrize(("dialect_name", "mac_algorithm"), DIALECTS)
async def test_repeat_with_another_amount_or_card_is_refused_94_and_flagged(
    new_counter: Callable[..., Any],
    issuer_balance: Callable[[str], int],
    dialect_name: str,
    mac_algorithm: str,
) -> None:
    """Same key, another amount or card: 94, one debit, a duplicate_mismatch flag; a true repeat replays."""
    counter = new_counter(dialect=dialect_name, mac_algorithm=mac_algorithm)
    assert (await counter.engine().sign_on()).approved
    before = issuer_balance("magstripe-debit")
    stan = counter.store.next_stan()
    first = await _send(counter, dialect_name, _sale(counter, stan, "7.77"))
    assert first.response_code == "00"
    other_amount = await _send(counter, dialect_name, _sale(counter, stan, "77.70"))
    assert other_amount.response_code == "94"
    assert other_amount.rrn is None and other_amount.auth_code is None
    other_card = await _send(counter, dialect_name, _sale(counter, stan, "7.77", "mastercard-credit"))
    assert other_card.response_code == "94"
    assert issuer_balance("magstripe-debit") == before - 777
    assert "duplicate_mismatch" in _flag_kinds(counter)
    repeat = await _send(counter, dialect_name, _sale(counter, stan, "7.77"))
    assert repeat.response_code == "00"
    assert (repeat.rrn, repeat.auth_code) == (first.rrn, first.auth_code)


@pytest.mark.parametrize(("dialect_name", "mac_algorithm"), DIALECTS)
async def test_repeat_of_a_reversed_sale_is_answered_12(
    new_counter: Callable[..., Any],
    issuer_balance: Callable[[str], int],
    dialect_name: str,
    mac_algorithm: str,
) -> None:
    """A sale, its reversal, then the sale again: 12 (never a bare 00), the money stays returned."""
    counter = new_counter(dialect=dialect_name, mac_algorithm=mac_algorithm)
    assert (await counter.engine().sign_on()).approved
    before = issuer_balance("magstripe-debit")
    stan = counter.store.next_stan()
    assert (await _send(counter, dialect_name, _sale(counter, stan, "5.00"))).response_code == "00"
    reversal = await _send(counter, dialect_name, _reversal(counter, dialect_name, stan, "5.00"))
    assert reversal.response_code == "00"
    again = await _send(counter, dialect_name, _sale(counter, stan, "5.00"))
    assert again.response_code == "12"
    assert issuer_balance("magstripe-debit") == before


@pytest.mark.parametrize(("dialect_name", "mac_algorithm"), DIALECTS)
async def test_late_original_after_an_orphan_reversal_is_refused_12(
    new_counter: Callable[..., Any],
    issuer_balance: Callable[[str], int],
    dialect_name: str,
    mac_algorithm: str,
) -> None:
    """A 0400 naming a sale the host never saw, then that sale: 12 in both dialects, no debit."""
    counter = new_counter(dialect=dialect_name, mac_algorithm=mac_algorithm)
    assert (await counter.engine().sign_on()).approved
    stan = counter.store.next_stan()
    orphan = await _send(counter, dialect_name, _reversal(counter, dialect_name, stan, "12.00"))
    assert orphan.response_code == "00"
    before = issuer_balance("magstripe-debit")
    late = await _send(counter, dialect_name, _sale(counter, stan, "12.00"))
    assert late.response_code == "12"
    assert issuer_balance("magstripe-debit") == before


@pytest.mark.parametrize(("dialect_name", "mac_algorithm"), DIALECTS)
async def test_reversal_naming_another_amount_or_card_reverses_nothing(
    new_counter: Callable[..., Any],
    issuer_balance: Callable[[str], int],
    dialect_name: str,
    mac_algorithm: str,
) -> None:
    """A reversal with another amount (64) or card (25) leaves the sale charged; the matching one undoes."""
    counter = new_counter(dialect=dialect_name, mac_algorithm=mac_algorithm)
    assert (await counter.engine().sign_on()).approved
    before = issuer_balance("magstripe-debit")
    stan = counter.store.next_stan()
    assert (await _send(counter, dialect_name, _sale(counter, stan, "9.00"))).response_code == "00"
    partial = await _send(counter, dialect_name, _reversal(counter, dialect_name, stan, "1.00"))
    assert partial.response_code == "64"
    other_card = await _send(
        counter, dialect_name, _reversal(counter, dialect_name, stan, "9.00", "mastercard-credit")
    )
    assert other_card.response_code == "25"
    assert issuer_balance("magstripe-debit") == before - 900
    matching = await _send(counter, dialect_name, _reversal(counter, dialect_name, stan, "9.00"))
    assert matching.response_code == "00"
    assert issuer_balance("magstripe-debit") == before


class _Recorder:
    """Forwards to the real host and keeps every frame the terminal sent."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.frames: list[bytes] = []

    @property
    def address(self) -> str:
        return str(self.inner.address)

    async def probe(self, *, timeout: float) -> bool:
        return bool(await self.inner.probe(timeout=timeout))

    async def exchange(self, frame: bytes, *, timeout: float) -> bytes:
        self.frames.append(frame)
        return bytes(await self.inner.exchange(frame, timeout=timeout))


async def test_true_repeat_of_a_chip_sale_gets_the_original_answer(
    new_counter: Callable[..., Any], issuer_balance: Callable[[str], int]
) -> None:
    """The same chip 0200 twice (same ATC and cryptogram): the stored answer, not an ATC-replay 34."""
    counter = new_counter()
    recorder = _Recorder(counter.link)
    before = issuer_balance("unionpay-debit")
    outcome = await counter.engine("unionpay-debit", entry="chip", pins=("123456",), link=recorder).sale(
        Amount.parse("8.00", "CNY")
    )
    assert outcome.approved, outcome.message
    dialect = get_dialect("cups")
    sale_frames = [f for f in recorder.frames if dialect.unframe(f).message[:4] == bytes.fromhex("00000200")]
    assert len(sale_frames) == 1
    payload = await counter.link.exchange(sale_frames[0], timeout=10)
    envelope = dialect.unframe(payload)
    repeat = dialect.decode_response(dialect.decode(envelope.message), envelope=envelope)
    assert repeat.response_code == "00"
    assert repeat.rrn == outcome.rrn
    assert issuer_balance("unionpay-debit") == before - 800
