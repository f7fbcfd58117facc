"""Transactions: filters, htmx partial, detail (receipt, fee formula, links), CSV export, 补签."""

from __future__ import annotations

import base64
import csv
import io
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from PIL import Image, ImageDraw
from sqlalchemy import select

from poskit.store.schema import audit_log
from poskit.store.schema_terminal_day import signatures

Portal = World = Any  # fixture types live in conftest.py


def _rrn(world: World, name: str) -> str:
    return str(world.txn(name)["rrn"])


def _png_url(width: int = 320, height: int = 120) -> str:
    image = Image.new("RGBA", (width, height), (255, 255, 255, 0))
    ImageDraw.Draw(image).line([(10, 90), (60, 20), (120, 100), (300, 40)], fill=(0, 0, 0, 255), width=5)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def test_list_shows_the_merchants_payments_newest_first(portal: Callable[..., Portal], world: World) -> None:
    """Every listed kind of transaction appears with its masked card; no clear PAN anywhere."""
    page = portal("cafe").get("/transactions").text
    for name in ("cafe_pin", "cafe_nopin", "cafe_tap", "cafe_voided"):
        assert _rrn(world, name) in page
    assert "621700******5670" in page and "6217000012345670" not in page
    assert page.index(_rrn(world, "cafe_voided")) < page.index(_rrn(world, "cafe_pin"))


def test_filters_narrow_the_list(portal: Callable[..., Portal], world: World) -> None:
    """Result, card last 4, amount range, reference number, terminal and dates each filter the list."""
    client = portal("cafe")
    pin, nopin = _rrn(world, "cafe_pin"), _rrn(world, "cafe_nopin")
    declined = client.get("/transactions?result=declined").text
    assert pin not in declined and "10.00" in declined
    by_card = client.get("/transactions?last4=0010").text
    assert nopin in by_card and pin not in by_card
    by_amount = client.get("/transactions?amount_min=100&amount_max=200").text
    assert pin in by_amount and nopin not in by_amount
    by_rrn = client.get(f"/transactions?rrn={pin}").text
    assert "1 transactions" in by_rrn
    assert pin not in client.get("/transactions?terminal=10000001").text
    assert pin not in client.get("/transactions?date_from=2020-01-01&date_to=2020-01-31").text
    assert (
        pin in client.get(f"/transactions?type=sale&date_from={datetime.now(UTC).date().replace(day=1)}").text
    )


def test_a_bad_filter_is_explained_not_fatal(portal: Callable[..., Portal]) -> None:
    """An unusable filter value shows which field and why, and the page still renders."""
    response = portal("cafe").get("/transactions?last4=12&amount_min=abc")
    assert response.status_code == 200 and "Filter not applied" in response.text


def test_htmx_filter_returns_only_the_results_block(portal: Callable[..., Portal], world: World) -> None:
    """With HX-Request the server renders just #results, for htmx to swap in."""
    response = portal("cafe").get(
        "/transactions?result=approved", headers={"HX-Request": "true", "HX-Target": "results"}
    )
    assert response.text.lstrip().startswith('<div id="results"') and "<html" not in response.text
    assert _rrn(world, "cafe_pin") in response.text


def test_detail_shows_receipt_fee_formula_and_related_links(
    portal: Callable[..., Portal], world: World
) -> None:
    """The sale's page has its receipt, '0.50% of 20.00 = 0.10' and a link to the void that cancelled it."""
    client = portal("cafe")
    voided, void = world.txns["cafe_voided"], world.txns["cafe_void"]
    page = client.get(f"/transactions/{voided}").text
    assert "0.50% of 20.00 = 0.10" in page
    assert f'href="/transactions/{void}"' in page
    assert "POS签购单" in page and "621700******5670" in page
    back = client.get(f"/transactions/{void}").text
    assert f'href="/transactions/{voided}"' in back and "original" in back
    receipt = client.get(f"/transactions/{voided}/receipt.txt")
    assert receipt.headers["content-type"].startswith("text/plain")
    assert (
        "REPRINT" in receipt.text and "CNY 20.00" in receipt.text and "6217000012345670" not in receipt.text
    )
    # the same issuer and operator the terminal printed (BIN's bank; field 63's cashier), not a guess
    assert "发卡行 ISSUER: China Construction Bank" in receipt.text, receipt.text
    assert "操作员 OP: 01" in receipt.text, receipt.text


def test_csv_export_has_every_row_with_fees_and_no_clear_card_numbers(
    portal: Callable[..., Portal], world: World
) -> None:
    """The CSV export matches the filter, carries fee and net, and is UTF-8 with a BOM for spreadsheets."""
    response = portal("cafe").get("/transactions/export.csv?result=approved")
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    assert response.text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(response.text.lstrip("\ufeff"))))
    by_rrn = {r["rrn"]: r for r in rows}
    pin = by_rrn[_rrn(world, "cafe_pin")]
    assert pin["amount"] == "123.45" and pin["fee"] == "0.62" and pin["net"] == "122.83"
    assert pin["card"] == "621700******5670" and pin["signature"] == "not_required"
    assert by_rrn[_rrn(world, "cafe_nopin")]["signature"] in ("missing", "signed")
    assert all(r["status"] == "approved" for r in rows)


def test_unsigned_lists_only_payments_that_need_a_signature(
    portal: Callable[..., Portal], world: World
) -> None:
    """A no-PIN swipe is listed for 补签; a PIN sale and a small tap are not."""
    page = portal("cafe-staff").get("/unsigned").text
    assert _rrn(world, "cafe_nopin2") in page
    assert _rrn(world, "cafe_pin") not in page and _rrn(world, "cafe_tap") not in page


def test_signing_later_stores_the_signature_and_clears_the_list(
    portal: Callable[..., Portal], world: World
) -> None:
    """Staff sign a no-PIN sale from the browser: stored as a bilevel PNG with its feature code, audited."""
    client = portal("cafe-staff")
    txn = world.txn("cafe_nopin2")
    assert "Sign now" in client.get(f"/transactions/{txn['id']}").text
    page = client.get(f"/transactions/{txn['id']}/sign")
    assert 'id="signpad"' in page.text
    response = client.post(f"/transactions/{txn['id']}/signature", {"signature": _png_url()})
    assert response.status_code == 303 and response.headers["location"] == f"/transactions/{txn['id']}"
    with world.engine.connect() as conn:
        [row] = (
            conn.execute(select(signatures).where(signatures.c.transaction_id == txn["id"])).mappings().all()
        )
        actions = [
            r.action
            for r in conn.execute(
                select(audit_log.c.action).where(audit_log.c.subject == f"transaction:{txn['id']}")
            )
        ]
    assert row["image_format"] == "png" and row["complete"] and row["source"] == "portal"
    assert row["rrn"] == txn["rrn"] and len(row["feature_code"]) == 16
    assert Image.open(io.BytesIO(row["image"])).mode == "1"  # bilevel, like the terminal's
    assert "transaction.signed" in actions
    assert txn["rrn"] not in client.get("/unsigned").text
    image = client.get(f"/transactions/{txn['id']}/signature.png")
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    assert row["feature_code"] in client.get(f"/transactions/{txn['id']}").text
    again = client.post(
        f"/transactions/{txn['id']}/signature",
        {"signature": _png_url()},
        headers={"Accept": "application/json"},
    )
    assert again.status_code == 409


def test_bad_signatures_are_rejected_with_a_reason(portal: Callable[..., Portal], world: World) -> None:
    """Not a PNG data URL, damaged base64, an empty pad: 400 with the reason; nothing stored."""
    client = portal("cafe")
    txn_id = world.txns["cafe_nopin"]
    headers = {"HX-Request": "true"}
    blank = Image.new("RGB", (200, 80), "white")
    buffer = io.BytesIO()
    blank.save(buffer, format="PNG")
    empty_url = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
    for value, reason in (
        ("data:image/jpeg;base64,AAAA", "data:image/png;base64"),
        ("data:image/png;base64,@@@", "damaged"),
        ("data:image/png;base64," + base64.b64encode(b"GIF89a....").decode(), "not a PNG"),
        (empty_url, "empty"),
    ):
        response = client.post(f"/transactions/{txn_id}/signature", {"signature": value}, headers=headers)
        assert response.status_code == 400 and reason in response.text, value[:30]
    pin_sale = world.txns["cafe_pin"]
    response = client.post(f"/transactions/{pin_sale}/signature", {"signature": _png_url()}, headers=headers)
    assert response.status_code == 409  # PIN verified: no signature needed


def test_detail_shows_settlement_and_payout(portal: Callable[..., Portal], world: World) -> None:
    """After the cut-off the sale's page says on which day it settled and which payout paid it."""
    page = portal("cafe").get(f"/transactions/{world.txns['cafe_pin']}").text
    assert "Settled on business day" in page and 'href="/payouts/' in page


def test_an_rrn_is_not_an_e_receipt_key_even_for_its_merchant(
    portal: Callable[..., Portal], world: World
) -> None:
    """<portal>/r/<RRN> (the old, guessable QR link) is a 404 for anyone, its own merchant included."""
    rrn = _rrn(world, "cafe_pin")
    for client in (portal("cafe"), portal()):
        response = client.get(f"/r/{rrn}", follow_redirects=False)
        assert response.status_code == 404 and "123.45" not in response.text
