"""The e-receipt a cardholder opens: the slip's link and QR code, no account, masked, expiring."""

from __future__ import annotations

import hashlib
import json
import re
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from starlette.exceptions import StarletteDeprecationWarning
from typer.testing import CliRunner

from poskit.cards.book import card_by_name
from poskit.cli import commands  # noqa: F401  (registers the sub-commands)
from poskit.cli.app import app
from poskit.money import Amount
from poskit.portal.app import create_app
from poskit.store.db import make_engine
from poskit.store.schema_receipts import receipt_links
from poskit.terminal.printing.layout import QrCode, receipt_blocks

with warnings.catch_warnings():
    # starlette's test client warns that its httpx transport is deprecated (httpx2 is not installed here).
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

pytestmark = pytest.mark.usefixtures("live_host")

runner = CliRunner()
LINK = re.compile(r"E-RECEIPT: (https?://\S+/r/([A-Za-z0-9_-]+))")
LAGOS_TERMINAL = "30000001"


class _Clock:
    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


@pytest.fixture
def portal(demo_settings: Any) -> Iterator[tuple[TestClient, _Clock]]:
    """The portal over the demo database, anonymous (no login), with a clock the test moves."""
    engine = make_engine(demo_settings.resolved_database_url)
    clock = _Clock()
    web = create_app(engine, session_secret="e-receipt-tests-" + "x" * 40, now=clock)
    yield TestClient(web, base_url="https://testserver"), clock
    engine.dispose()


def _cli(settings: Any, address: str, *args: str) -> str:
    common = ["--data-dir", str(settings.data_dir), "--host", address]
    result = runner.invoke(app, [*args, *common], terminal_width=200)
    assert result.exit_code == 0, result.stdout
    return str(result.stdout)


def test_pay_and_reprint_print_a_link_and_qr_that_open_the_receipt_without_login(
    demo_settings: Any, live_host: Any, new_counter: Any, portal: tuple[TestClient, _Clock]
) -> None:
    """`poskit pay` prints the link on both copies and its QR code; `poskit reprint` prints the same
    link; an anonymous browser opens it and sees the masked cardholder copy, nothing cached."""
    client, _clock = portal
    tid = new_counter().terminal_id
    paid = _cli(
        demo_settings, live_host.address, "pay", "12.50", "--card", "magstripe-debit", "--pin", "654321",
        "--terminal", tid,
    )  # fmt: skip
    links = LINK.findall(paid)
    assert len(links) == 2 and links[0] == links[1], paid
    url, token = links[0]
    rrn = re.search(r"REF NO\.: (\d{12})", paid)
    assert rrn is not None and token != rrn.group(1) and len(token) == 22
    assert "▀" in paid and "SCAN FOR THE E-RECEIPT" in paid  # the QR code under the cardholder copy
    reprinted = _cli(demo_settings, live_host.address, "reprint", "--terminal", tid)
    assert LINK.findall(reprinted)[0] == (url, token)

    page = client.get(f"/r/{token}")
    assert page.status_code == 200, page.text
    assert "持卡人存根 CARDHOLDER COPY" in page.text and "12.50" in page.text
    pan = card_by_name("magstripe-debit").pan
    assert f"{pan[:6]}******{pan[-4:]}" in page.text and pan not in page.text
    assert "Log in" not in page.text and "login" not in str(page.url)
    assert page.headers["cache-control"] == "no-store" and page.headers["referrer-policy"] == "no-referrer"


def test_the_host_keeps_only_the_digest_and_an_rrn_opens_nothing(
    demo_settings: Any, live_host: Any, new_counter: Any, portal: tuple[TestClient, _Clock]
) -> None:
    """receipt_links holds the token's SHA-256, not the token; /r/<RRN> is a 404, also when the
    merchant is logged in elsewhere — the RRN is never the key."""
    client, _clock = portal
    tid = new_counter().terminal_id
    out = json.loads(
        _cli(
            demo_settings, live_host.address, "pay", "8.00", "--card", "magstripe-debit", "--pin", "654321",
            "--terminal", tid, "--json",
        ).splitlines()[-1]
    )  # fmt: skip
    token = out["e_receipt_url"].rsplit("/", 1)[1]
    engine = make_engine(demo_settings.resolved_database_url)
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(select(receipt_links))]
    engine.dispose()
    assert any(r[1] == hashlib.sha256(token.encode()).hexdigest() for r in rows)
    assert not any(token in str(r) for r in rows)
    for guess in (out["rrn"], out["stan"], token[:-1], token + "A"):
        missing = client.get(f"/r/{guess}")
        assert missing.status_code == 404 and "12.50" not in missing.text and out["rrn"] not in missing.text


def test_an_expired_link_is_a_plain_404_in_the_receipt_language(
    demo_settings: Any, live_host: Any, portal: tuple[TestClient, _Clock]
) -> None:
    """After the link's 180 days the page is a 404 in the merchant's language: Chinese for the
    Shanghai cafe, English for the Lagos merchant."""
    client, clock = portal
    cafe = json.loads(
        _cli(
            demo_settings, live_host.address, "pay", "3.00", "--card", "magstripe-debit", "--pin", "654321",
            "--json",
        ).splitlines()[-1]
    )  # fmt: skip
    lagos = json.loads(
        _cli(
            demo_settings, live_host.address, "pay", "1500.00", "--card", "verve-ngn", "--pin", "1111",
            "--terminal", LAGOS_TERMINAL, "--entry", "chip", "--json",
        ).splitlines()[-1]
    )  # fmt: skip
    cafe_url, lagos_url = cafe["e_receipt_url"], lagos["e_receipt_url"]
    assert "/r/" in cafe_url and "/r/" in lagos_url
    cafe_path, lagos_path = "/r/" + cafe_url.rsplit("/", 1)[1], "/r/" + lagos_url.rsplit("/", 1)[1]
    opened = client.get(lagos_path)
    assert opened.status_code == 200 and "NGN" in opened.text and "1,500.00" in opened.text
    assert "SUPPORT: +234" in opened.text and "400-" not in opened.text and "Africa/Lagos" in opened.text
    clock.offset = timedelta(days=181)
    try:
        expired_cafe, expired_lagos = client.get(cafe_path), client.get(lagos_path)
    finally:
        clock.offset = timedelta(0)
    assert expired_cafe.status_code == 404 and "该签购单链接不存在或已过期" in expired_cafe.text
    assert expired_lagos.status_code == 404 and "unknown or has expired" in expired_lagos.text
    assert "3.00" not in expired_cafe.text and "1,500.00" not in expired_lagos.text


async def test_the_printed_slip_carries_the_link_and_its_qr_code(new_counter: Any) -> None:
    """The terminal's own print (engine -> printer) has the link on the slip and the same link in
    the QR block of the paper layout; an ascii87 terminal gets one too."""
    for dialect in ("cups", "ascii87"):
        counter = new_counter(dialect=dialect)
        outcome = await counter.engine("magstripe-debit", pins=("654321",)).sale(Amount.parse("5.00", "CNY"))
        assert outcome.approved, outcome.message
        url = outcome.receipt.e_receipt_url
        assert re.fullmatch(r"https?://\S+/r/[A-Za-z0-9_-]{22}", url), url
        assert all(url in text for _copy, text in counter.printer.printed[-2:])
        qr = [b for b in receipt_blocks(outcome.receipt, copy="cardholder") if isinstance(b, QrCode)]
        assert [b.data for b in qr] == [url]


async def test_a_voided_sale_s_e_receipt_says_it_was_voided(
    new_counter: Any, portal: tuple[TestClient, _Clock]
) -> None:
    """The sale's link still opens its slip after a void, with a note that it was voided; the
    void's own slip carries a link of its own."""
    client, _clock = portal
    counter = new_counter()
    sale = await counter.engine("magstripe-debit", pins=("654321",)).sale(Amount.parse("7.00", "CNY"))
    void = await counter.engine("magstripe-debit").void(sale.stan, "123456")
    assert sale.approved and void.approved, (sale.message, void.message)
    sale_page = client.get("/r/" + sale.receipt.e_receipt_url.rsplit("/", 1)[1])
    void_page = client.get("/r/" + void.receipt.e_receipt_url.rsplit("/", 1)[1])
    assert sale_page.status_code == 200 and "本签购单打印后，该交易已" in sale_page.text
    assert "已撤销" in sale_page.text
    assert void_page.status_code == 200 and "本签购单打印后" not in void_page.text
    assert sale.receipt.e_receipt_url != void.receipt.e_receipt_url
