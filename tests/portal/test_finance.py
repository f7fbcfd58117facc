"""Money pages: settlements, payouts, statements (PDF and CSV downloads) and fees."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from poskit.store.schema_ledger import payouts

Portal = World = Any  # fixture types live in conftest.py


def _period() -> str:
    return datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")


def _cafe_payout(world: World) -> dict[str, Any]:
    with world.engine.connect() as conn:
        return dict(
            conn.execute(select(payouts).where(payouts.c.merchant_id == world.cafe_id)).mappings().first()
        )


def test_settlement_days_and_their_items(portal: Callable[..., Portal], world: World) -> None:
    """The settled day lists each sale once with gross, fee and net, linked to its transaction and payout."""
    client = portal("cafe")
    page = client.get("/settlements").text
    day = re.search(r'href="/settlements/(\d{4}-\d{2}-\d{2})"', page).group(1)  # type: ignore[union-attr]
    detail = client.get(f"/settlements/{day}").text
    assert f'href="/transactions/{world.txns["cafe_pin"]}"' in detail
    assert "CN¥123.45" in detail and "CN¥0.62" in detail and "/payouts/" in detail
    assert client.get("/settlements/not-a-date").status_code == 404


def test_payouts_list_detail_and_csv(portal: Callable[..., Portal], world: World) -> None:
    """The T+1 payout shows where the money went; its page lists what it settles; the CSV has it."""
    client = portal("cafe")
    payout = _cafe_payout(world)
    assert f'href="/payouts/{payout["id"]}"' in client.get("/payouts").text
    detail = client.get(f"/payouts/{payout['id']}").text
    assert payout["account_no"] in detail and f'href="/transactions/{world.txns["cafe_pin"]}"' in detail
    response = client.get("/payouts/export.csv")
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text.lstrip("\ufeff"))))
    assert [r["payout_id"] for r in rows] == [str(payout["id"])]


def test_statement_downloads_as_pdf_and_csv(portal: Callable[..., Portal], world: World) -> None:
    """This month's statement: a real PDF (with an embedded CJK font) and a CSV naming the merchant."""
    client = portal("cafe")
    period = _period()
    assert f"/statements/{period}.pdf" in client.get("/statements").text
    pdf = client.get(f"/statements/{period}.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF") and b"FontFile2" in pdf.content  # TrueType font embedded
    assert "attachment" in pdf.headers["content-disposition"]
    text = client.get(f"/statements/{period}.csv").text
    assert "898310058120001" in text and "0.50% of 123.45 = 0.62" in text
    page = client.get(f"/statements/{period}").text
    assert "Closing balance owed" in page and "0.50% of 123.45 = 0.62" in page
    assert client.get("/statements/2026-13.csv").status_code == 404


def test_acquirer_picks_the_merchant_for_statements_and_fees(
    portal: Callable[..., Portal], world: World
) -> None:
    """Staff see any of their merchants' statements and contracts once they choose one."""
    client = portal("reviewer")
    assert "Choose a merchant" in client.get("/fees").text
    fees = client.get(f"/fees?merchant={world.noodle_id}").text
    assert "0.50%" in fees and "Version history" in fees
    csv_text = client.get(f"/statements/{_period()}.csv?merchant={world.noodle_id}").text
    assert "898310058140002" in csv_text


def test_fees_show_the_contract_history_and_the_audit(portal: Callable[..., Portal]) -> None:
    """The contract in force, every version with notice and binding dates, and the audit's verdict."""
    page = portal("cafe").get("/fees").text
    assert "Contract in force" in page and "capped at CN¥20.00" in page
    assert "v1" in page and "Notified" in page and "Binding from" in page
    assert "lines checked" in page
