"""The merchant's whole day over real TCP: voids, refunds, pre-authorisations, balance, settlement."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from poskit.money import Amount
from poskit.store.db import make_engine
from poskit.store.schema import issuer_accounts, issuer_cards, transactions
from poskit.store.schema_terminal_day import batch_upload_items, host_batches

pytestmark = pytest.mark.usefixtures("live_host")


@pytest.fixture(params=["cups", "ascii87"])
def dialect_counter(request: pytest.FixtureRequest, new_counter: Callable[..., Any]) -> Callable[[], Any]:
    """A fresh terminal on each wire dialect (ascii87 terminals MAC with X9.19)."""
    mac = "x919" if request.param == "ascii87" else "cups-ecb"
    return lambda: new_counter(dialect=request.param, mac_algorithm=mac)


SUPERVISOR = "123456"


def cny(text: str) -> Amount:
    return Amount.parse(text, "CNY")


def _rows(settings: Any, query: Any) -> list[Any]:
    engine = make_engine(settings.resolved_database_url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(query).mappings())
    finally:
        engine.dispose()


async def _sale(counter: Any, amount: str, card: str = "magstripe-debit", pin: str = "654321") -> Any:
    outcome = await counter.engine(card, pins=(pin,)).sale(cny(amount))
    assert outcome.approved, outcome.message
    return outcome


async def test_void_restores_the_card_and_negates_the_ledger(
    dialect_counter: Callable[[], Any], issuer_balance: Callable[[str], int], demo_settings: Any
) -> None:
    """A void of the current batch gives the money back and marks the sale voided on both sides."""
    counter = dialect_counter()
    before = issuer_balance("magstripe-debit")
    sale = await _sale(counter, "88.00")
    void = await counter.engine().void(sale.stan, SUPERVISOR)
    assert void.approved, void.message
    assert issuer_balance("magstripe-debit") == before
    assert counter.store.find_voucher(sale.stan).status == "voided"
    [host_sale] = _rows(demo_settings, select(transactions).where(transactions.c.rrn == sale.rrn))
    assert host_sale["status"] == "voided"
    void_receipt = counter.printer.printed[-2][1]
    assert "VOID" in void_receipt and f"{sale.stan:06d}" in void_receipt


async def test_void_needs_the_supervisor_and_locks_after_three_wrong_passwords(
    new_counter: Callable[..., Any],
) -> None:
    """Wrong supervisor passwords refuse the void; the third locks the supervisor."""
    counter = new_counter()
    sale = await _sale(counter, "5.00")
    engine = counter.engine()
    for _ in range(2):
        refused = await engine.void(sale.stan, "999999")
        assert refused.status == "failed" and "wrong password" in refused.message
    locked = await engine.void(sale.stan, "999999")
    assert "locked" in locked.message
    still_locked = await engine.void(sale.stan, SUPERVISOR)
    assert still_locked.status == "failed" and "locked" in still_locked.message


async def test_void_of_an_unknown_voucher_is_refused(new_counter: Callable[..., Any]) -> None:
    """No such voucher in the batch: a plain message, nothing sent."""
    counter = new_counter()
    outcome = await counter.engine().void(999_999, SUPERVISOR)
    assert outcome.status == "failed" and "no voucher" in outcome.message


async def test_refund_is_capped_at_the_original(
    dialect_counter: Callable[[], Any], issuer_balance: Callable[[str], int]
) -> None:
    """Partial refunds add up to the original at most; the one that would exceed it is declined 64."""
    counter = dialect_counter()
    sale = await _sale(counter, "100.00")
    before = issuer_balance("magstripe-debit")
    date = counter.store.find_voucher(sale.stan).local_datetime.strftime("%m%d")
    engine = counter.engine()
    first = await engine.refund(cny("60.00"), sale.rrn, date, SUPERVISOR)
    assert first.approved, first.message
    too_much = await engine.refund(cny("50.00"), sale.rrn, date, SUPERVISOR)
    assert too_much.status == "declined" and too_much.response_code == "64"
    rest = await engine.refund(cny("40.00"), sale.rrn, date, SUPERVISOR)
    assert rest.approved, rest.message
    assert issuer_balance("magstripe-debit") == before + 10000


async def test_refund_of_an_unknown_reference_is_declined_25(new_counter: Callable[..., Any]) -> None:
    """A reference number the host never issued: 25."""
    counter = new_counter()
    engine = counter.engine("magstripe-debit")
    outcome = await engine.refund(cny("1.00"), "632999999999", "0101", SUPERVISOR)
    assert outcome.response_code == "25", outcome.message


async def test_preauth_then_completion_charges_the_final_amount(
    dialect_counter: Callable[[], Any], issuer_balance: Callable[[str], int], demo_settings: Any
) -> None:
    """Pre-auth holds 300.00; completion for 280.00 charges 280.00 and releases the hold."""
    counter = dialect_counter()
    before = issuer_balance("magstripe-debit")
    preauth = await counter.engine("magstripe-debit", pins=("654321",)).preauth(cny("300.00"))
    assert preauth.approved, preauth.message
    assert issuer_balance("magstripe-debit") == before - 30000
    date = counter.store.find_voucher(preauth.stan).local_datetime.strftime("%m%d")
    over = await counter.engine().completion(cny("400.00"), preauth.auth_code, date)
    assert over.response_code == "64"
    done = await counter.engine().completion(cny("280.00"), preauth.auth_code, date)
    assert done.approved, done.message
    assert issuer_balance("magstripe-debit") == before - 28000
    [row] = _rows(
        demo_settings,
        select(issuer_accounts.c.holds)
        .select_from(issuer_cards.join(issuer_accounts))
        .where(issuer_cards.c.name == "magstripe-debit"),
    )
    assert row["holds"] >= 0
    void = await counter.engine().completion_void(done.stan, SUPERVISOR)
    assert void.approved, void.message
    assert issuer_balance("magstripe-debit") == before - 30000  # the hold is back
    cancel = await counter.engine().preauth_void(cny("300.00"), preauth.auth_code, date, SUPERVISOR)
    assert cancel.approved, cancel.message
    assert issuer_balance("magstripe-debit") == before


async def test_balance_inquiry_shows_the_balance(
    dialect_counter: Callable[[], Any], issuer_balance: Callable[[str], int]
) -> None:
    """Balance inquiry with PIN returns the issuer's available balance."""
    counter = dialect_counter()
    outcome = await counter.engine("magstripe-debit", pins=("654321",)).balance()
    assert outcome.approved, outcome.message
    assert outcome.extra["balance"] == Amount.of(issuer_balance("magstripe-debit"), "CNY").plain()


async def test_reversed_void_brings_the_sale_back(
    new_counter: Callable[..., Any], issuer_balance: Callable[[str], int], drop_responses: Any
) -> None:
    """A void whose answer is lost is reversed: the sale stands again and the money stays debited."""
    counter = new_counter()
    before = issuer_balance("magstripe-debit")
    sale = await _sale(counter, "21.00")
    lost = await counter.engine(link=drop_responses(counter.link)).void(sale.stan, SUPERVISOR)
    assert lost.reversal_pending
    assert issuer_balance("magstripe-debit") == before  # the host applied the void
    nxt = await _sale(counter, "1.00")
    assert issuer_balance("magstripe-debit") == before - 2100 - 100  # void reversed, new sale
    assert nxt.approved


async def test_settlement_balanced_closes_the_batch(
    dialect_counter: Callable[[], Any], demo_settings: Any
) -> None:
    """Sales, a void and a refund; settlement balances, the batch closes and the next one opens."""
    counter = dialect_counter()
    a = await _sale(counter, "10.00")
    b = await _sale(counter, "20.00")
    await counter.engine().void(b.stan, SUPERVISOR)
    date = counter.store.find_voucher(a.stan).local_datetime.strftime("%m%d")
    await counter.engine().refund(cny("3.00"), a.rrn, date, SUPERVISOR)
    outcome = await counter.engine().settle()
    assert outcome.approved, outcome.message
    assert outcome.extra["balanced"] is True
    t = outcome.extra["terminal_totals"]
    assert t["debit_amount"] == "30.00" and t["debit_count"] == 2
    assert t["credit_amount"] == "23.00" and t["credit_count"] == 2
    assert outcome.extra["host_totals"] == t
    [batch] = _rows(
        demo_settings, select(host_batches).where(host_batches.c.terminal_id == counter.terminal_id)
    )
    assert batch["status"] == "closed" and batch["reconciliation"] == "balanced"
    assert counter.store.batch_no() == outcome.batch + 1
    after = await _sale(counter, "2.00")  # signs on again and sells in the new batch
    assert after.batch == outcome.batch + 1


async def test_settlement_not_balanced_uploads_the_details(
    new_counter: Callable[..., Any], demo_settings: Any
) -> None:
    """A sale the terminal lost track of: not balanced, details uploaded, the host finds the break."""
    counter = new_counter()
    await _sale(counter, "10.00")
    gone = await _sale(counter, "15.00")
    record = counter.store.find_voucher(gone.stan)
    counter.store.update_record(record.id, amount=1400)  # a corrupted record on the terminal
    outcome = await counter.engine().settle()
    assert outcome.approved, outcome.message
    assert outcome.extra["balanced"] is False and outcome.extra["uploaded"] == 2
    [batch] = _rows(
        demo_settings, select(host_batches).where(host_batches.c.terminal_id == counter.terminal_id)
    )
    assert batch["status"] == "closed" and batch["reconciliation"] == "unbalanced"
    items = _rows(
        demo_settings, select(batch_upload_items).where(batch_upload_items.c.host_batch_id == batch["id"])
    )
    assert sorted(i["result"] for i in items) == ["amount_mismatch", "matched"]


async def test_operator_sign_in_and_out(new_counter: Callable[..., Any]) -> None:
    """Signed out, the terminal refuses to sell; the right password signs in; three wrong ones lock."""
    counter = new_counter()
    engine = counter.engine("magstripe-debit", pins=("654321",))
    assert (await engine.sign_out()).approved
    refused = await engine.sale(cny("1.00"))
    assert refused.status == "failed" and "sign in" in refused.message
    assert (await engine.sign_in("02", "0000")).approved
    assert counter.store.profile().operator == "02"
    for _ in range(3):
        bad = await engine.sign_in("01", "9999")
    assert "locked" in bad.message
    ok = await counter.engine("magstripe-debit", pins=("654321",)).sale(cny("1.00"))
    assert ok.approved and "OP: 02" in counter.printer.printed[-2][1]


async def test_reprint_is_marked_and_query_finds_the_voucher(new_counter: Callable[..., Any]) -> None:
    """Reprint of the last receipt and by voucher carries the REPRINT mark; query returns the record."""
    counter = new_counter()
    sale = await _sale(counter, "6.00")
    engine = counter.engine()
    assert (await engine.reprint()).approved
    assert "REPRINT" in counter.printer.printed[-1][1]
    assert (await engine.reprint(sale.stan)).approved
    assert engine.query(sale.stan).rrn == sale.rrn
    assert (await engine.reprint(424242)).status == "failed"
    assert engine.totals()["transactions"] == 1


def _signature_png() -> bytes:
    import io

    from PIL import Image, ImageDraw

    image = Image.new("L", (300, 120), 255)
    draw = ImageDraw.Draw(image)
    draw.line([(20, 80), (60, 30), (100, 90), (150, 25), (200, 85), (260, 40)], fill=0, width=5)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


async def test_unsigned_transaction_is_signed_later_and_uploaded(
    dialect_counter: Callable[[], Any], demo_settings: Any
) -> None:
    """No PIN: the sale needs a signature; it is listed unsigned, signed later (补签), uploaded in 0820."""
    from poskit.store.schema_terminal_day import signatures
    from poskit.terminal.signature import decode_t85

    counter = dialect_counter()
    sale = await counter.engine("daily-limit").sale(cny("18.00"))  # service code 101: signature, no PIN
    assert sale.approved, sale.message
    assert "CARDHOLDER SIGNATURE" in counter.printer.printed[0][1]
    engine = counter.engine()
    assert [r.stan for r in engine.unsigned()] == [sale.stan]
    signed = await engine.sign(sale.stan, _signature_png())
    assert signed.approved and signed.extra["uploaded"] is True, signed.message
    assert engine.unsigned() == []
    assert len(signed.extra["feature_code"]) == 16
    [row] = _rows(demo_settings, select(signatures).where(signatures.c.rrn == sale.rrn))
    width, height, _bitmap = decode_t85(bytes(row["image"]))
    assert width > 50 and height > 20 and row["transaction_id"] is not None
    again = await engine.sign(sale.stan, _signature_png())
    assert again.status == "failed" and "already signed" in again.message
    reprint = await engine.reprint(sale.stan)
    assert reprint.approved and "E-SIGNATURE" in counter.printer.printed[-1][1]


async def test_bad_signature_image_is_refused(new_counter: Callable[..., Any]) -> None:
    """A file that is not a PNG of a signature gets a clear error, nothing stored."""
    counter = new_counter()
    sale = await counter.engine("daily-limit").sale(cny("3.00"))
    outcome = await counter.engine().sign(sale.stan, b"not a png")
    assert outcome.status == "failed" and "cannot be used" in outcome.message
    assert [r.stan for r in counter.engine().unsigned()] == [sale.stan]


async def test_late_original_after_its_reversal_is_refused(
    new_counter: Callable[..., Any], issuer_balance: Callable[[str], int]
) -> None:
    """The reversal overtakes its sale (recorded as an orphan); the late sale is then refused, no debit."""
    from datetime import datetime

    from poskit.cards.book import card_by_name
    from poskit.cards.magstripe import track2_for
    from poskit.iso8583.dialects import get_dialect
    from poskit.iso8583.model import CardData, EntryMode, Original, Request, TxnType

    counter = new_counter()
    assert (await counter.engine().sign_on()).approved
    card = card_by_name("magstripe-debit")
    dialect = get_dialect("cups")
    stan, batch = counter.store.next_stan(), counter.store.batch_no()
    amount = cny("12.00")

    async def send(request: Request) -> Any:
        raw = dialect.seal(dialect.encode_request(request), mac=counter.element.generate_mac)
        payload = await counter.link.exchange(dialect.frame(raw), timeout=10)
        envelope = dialect.unframe(payload)
        return dialect.decode_response(dialect.decode(envelope.message), envelope=envelope)

    reversal = Request(
        TxnType.REVERSAL,
        counter.terminal_id,
        "898310058120001",
        stan,
        batch,
        amount=amount,
        card=CardData(entry_mode=EntryMode.SWIPE, pan=card.pan),
        reversal_reason="98",
        original=Original(batch=batch, stan=stan, txn_type=TxnType.SALE),
        local_datetime=datetime.now().replace(microsecond=0),
    )
    assert (await send(reversal)).response_code == "00"
    before = issuer_balance("magstripe-debit")
    sale = Request(
        TxnType.SALE,
        counter.terminal_id,
        "898310058120001",
        stan,
        batch,
        amount=amount,
        card=CardData(
            entry_mode=EntryMode.SWIPE,
            track2=track2_for(card).to_field35(),
            pin_block=counter.element.encrypt_pin(card.pin, card.pan),
            pin_max_length=6,
        ),
        operator="01",
        local_datetime=datetime.now().replace(microsecond=0),
    )
    late = await send(sale)
    assert late.response_code == "12"
    assert issuer_balance("magstripe-debit") == before
