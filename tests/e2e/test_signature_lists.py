"""补签 in one truth: after a mixed day the terminal's and the portal's unsigned lists agree.

Every payment goes through the real host over TCP; the host stores the signature
rule's answer (``transactions.signature_required``), the terminal computes it from
the request it sent, and the portal's API lists what the host stored.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from PIL import Image, ImageDraw
from sqlalchemy import select
from starlette.exceptions import StarletteDeprecationWarning

from poskit.money import Amount
from poskit.portal.accounts import get_user
from poskit.portal.app import create_app
from poskit.portal.tokens import create_token
from poskit.store.db import WRITE, make_engine
from poskit.store.schema import transactions

with warnings.catch_warnings():
    # starlette's test client warns that its httpx transport is deprecated (httpx2 is not installed here).
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

pytestmark = pytest.mark.usefixtures("live_host")

SUPERVISOR = "123456"


def cny(text: str) -> Amount:
    return Amount.parse(text, "CNY")


@pytest.fixture
def cafe_api(demo_settings: Any) -> Iterator[TestClient]:
    """The portal's JSON API over the live host's database, as the cafe's owner (API token)."""
    engine = make_engine(demo_settings.resolved_database_url)
    now = datetime.now(UTC)
    with engine.connect().execution_options(**WRITE) as conn, conn.begin():
        user = get_user(conn, "cafe")
        assert user is not None
        token = create_token(conn, user.id, "signature-lists test", now=now)
    app = create_app(engine, session_secret="s" * 32, secure_cookies=False)
    client = TestClient(app, headers={"Authorization": f"Bearer {token.secret}"})
    yield client
    client.close()
    engine.dispose()


def _portal_unsigned(api: TestClient, terminal_id: str) -> set[str]:
    """RRNs of one terminal on the portal's unsigned list (every page)."""
    found: set[str] = set()
    page = 1
    while True:
        body = api.get("/api/v1/unsigned", params={"page": page, "page_size": 500}).json()
        found |= {i["rrn"] for i in body["items"] if i["terminal_id"] == terminal_id}
        if page * body["page_size"] >= body["total"]:
            return found
        page += 1


def _stored_flags(settings: Any, terminal_id: str) -> dict[str, bool]:
    engine = make_engine(settings.resolved_database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(transactions.c.rrn, transactions.c.signature_required).where(
                    transactions.c.terminal_id == terminal_id, transactions.c.rrn.is_not(None)
                )
            )
            return {r.rrn: bool(r.signature_required) for r in rows}
    finally:
        engine.dispose()


async def test_terminal_and_portal_list_the_same_unsigned_slips(
    new_counter: Callable[..., Any], cafe_api: TestClient, demo_settings: Any
) -> None:
    """PIN, offline PIN, phone-verified and small taps are not listed; no-PIN swipes, signature-CVM
    chips and refunds are, on the terminal and in the portal alike; a voided sale drops off both."""
    counter = new_counter()
    day: dict[str, Any] = {}

    async def pay(
        name: str, card: str, amount: str, *, entry: str = "swipe", pins: tuple[str, ...] = ()
    ) -> None:
        outcome = await counter.engine(card, entry=entry, pins=pins).sale(cny(amount))
        assert outcome.approved, f"{name}: {outcome.message}"
        day[name] = outcome

    await pay("swipe_pin", "magstripe-debit", "12.00", pins=("654321",))
    await pay("swipe_no_pin", "daily-limit", "18.00")  # service code 101: no PIN, signature
    await pay("chip_offline_pin", "visa-credit", "25.00", entry="chip", pins=("1234",))
    await pay("chip_signature", "visa-credit", "26.00", entry="chip")  # PIN bypassed: signature CVM
    await pay("chip_online_pin", "unionpay-debit", "27.00", entry="chip", pins=("123456",))
    await pay("tap_small", "unionpay-debit", "35.00", entry="tap")
    await pay("tap_phone_large", "quickpass-phone", "1500.00", entry="tap")  # CDCVM above the QPS limit
    await pay("to_void", "daily-limit", "19.00")
    void = await counter.engine().void(day["to_void"].stan, SUPERVISOR)
    assert void.approved, void.message
    date = counter.store.find_voucher(day["swipe_pin"].stan).local_datetime.strftime("%m%d")
    refund = await counter.engine("magstripe-debit").refund(
        cny("5.00"), day["swipe_pin"].rrn, date, SUPERVISOR
    )
    assert refund.approved, refund.message
    day["refund"] = refund

    expected = {day[n].rrn for n in ("swipe_no_pin", "chip_signature", "refund")}
    terminal_list = {r.rrn for r in counter.engine().unsigned()}
    assert terminal_list == expected
    assert _portal_unsigned(cafe_api, counter.terminal_id) == expected

    # the host's stored flag is the terminal's, slip by slip (the voided sale keeps its "needed")
    terminal_flags = {r.rrn: r.signature_required for r in counter.store.records() if r.rrn}
    stored = _stored_flags(demo_settings, counter.terminal_id)
    assert {rrn: stored[rrn] for rrn in terminal_flags} == terminal_flags
    assert stored[day["to_void"].rrn] is True and stored[void.rrn] is False


async def test_a_refund_is_signed_later_and_leaves_both_lists(
    new_counter: Callable[..., Any], cafe_api: TestClient
) -> None:
    """A refund slip needs the cardholder's signature; signed on the terminal (补签), it leaves both lists."""
    counter = new_counter()
    sale = await counter.engine("magstripe-debit", pins=("654321",)).sale(cny("40.00"))
    assert sale.approved, sale.message
    refused = await counter.engine().sign(sale.stan, _signature_png())
    assert refused.status == "failed" and "needs no signature (PIN verified)" in refused.message
    date = counter.store.find_voucher(sale.stan).local_datetime.strftime("%m%d")
    refund = await counter.engine("magstripe-debit").refund(cny("40.00"), sale.rrn, date, SUPERVISOR)
    assert refund.approved, refund.message
    assert "CARDHOLDER SIGNATURE" in counter.printer.printed[-2][1]  # the refund's merchant copy
    assert _portal_unsigned(cafe_api, counter.terminal_id) == {refund.rrn}
    signed = await counter.engine().sign(refund.stan, _signature_png())
    assert signed.approved and signed.extra["uploaded"] is True, signed.message
    assert counter.engine().unsigned() == []
    assert _portal_unsigned(cafe_api, counter.terminal_id) == set()


def _signature_png() -> bytes:
    image = Image.new("L", (200, 80), 255)
    ImageDraw.Draw(image).line([(10, 60), (60, 10), (120, 70), (190, 20)], fill=0, width=4)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()
