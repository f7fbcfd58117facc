"""Merchant statements: the lines add up, each fee line shows its formula, the PDF embeds a CJK font."""

from __future__ import annotations

import dataclasses
import re
import zlib
from datetime import date, timedelta
from pathlib import Path

import pytest
from ledger_world import CAFE, NOODLE, NOW, World
from sqlalchemy import select

import poskit.ledger.statements as statements
from poskit.ledger.balances import merchant_available
from poskit.ledger.check import check_ledger
from poskit.ledger.demo import seed_demo_ledger
from poskit.ledger.disputes import open_dispute, receive_chargeback, resolve
from poskit.ledger.payouts import request_d0_payout
from poskit.ledger.settlement import settle_day
from poskit.ledger.statements import (
    CjkFontMissingError,
    build_statement,
    find_cjk_font,
    statement_csv,
    statement_pdf,
    summary_gaps,
    summary_rows,
)
from poskit.store.schema import fee_lines

HAVE_CJK_FONT = any(Path(p).is_file() for p in statements.CJK_FONT_CANDIDATES)


def _busy_day(world: World) -> None:
    world.sale(123450)  # 7.41
    world.sale(500000, funding="debit")  # capped 20.00
    world.reverse(world.sale(3000))
    world.sale(10000, txn_type="refund")
    chargeback = world.sale(20000)
    with world.begin() as conn:
        receive_chargeback(
            conn, transaction_id=chargeback.id, reason_code="4837", now=NOW + timedelta(hours=1)
        )
        request_d0_payout(conn, world.cafe, now=NOW + timedelta(hours=2))
    world.sale(40000, at=NOW + timedelta(hours=3))
    with world.begin() as conn:
        settle_day(conn, business_date=date(2026, 11, 24), now=NOW + timedelta(days=1))


def test_statement_totals_add_up(world: World) -> None:
    """Opening + every movement = closing; gross, fees, refunds, holds and payouts are each shown."""
    _busy_day(world)
    with world.engine.connect() as conn:
        st = build_statement(conn, CAFE, date(2026, 11, 24), date(2026, 11, 25))
        assert st.closing == merchant_available(conn, CAFE, "CNY")
    assert st.opening == 0
    assert st.opening + sum(line.net for line in st.lines) == st.closing == 0
    t = st.totals
    assert t["sale_gross"] == 123450 + 500000 + 3000 + 20000 + 40000
    assert t["reversal_gross"] == -3000 and t["refund_gross"] == -10000
    assert t["hold_net"] == -20000
    assert t["fee_domestic_credit"] == 741 + 120 + 240 and t["fee_domestic_debit"] == 2000
    assert t["fee_d0_settlement"] == 3 * 200
    categories = {line.category for line in st.lines}
    assert categories == {"sale", "reversal", "refund", "hold", "d0_fee", "payout"}
    assert [f.status for f in st.fee_lines].count("returned") == 1


def test_statement_csv_lists_every_fee_formula(sqlite_world: World) -> None:
    """The CSV carries the summary, each movement and each fee line with its formula."""
    _busy_day(sqlite_world)
    with sqlite_world.engine.connect() as conn:
        text = statement_csv(build_statement(conn, CAFE, date(2026, 11, 24), date(2026, 11, 24)))
    assert text.startswith(f"statement,{CAFE},快乐豆咖啡")
    assert "0.60% of 1,234.50 = 7.41" in text
    assert "0.50% of 5,000.00 = 25.00, capped at 20.00" in text
    assert "fixed 2.00 per transaction" in text
    assert re.search(r"^summary,消费总额 Gross sales,6864\.50$", text, re.M)


@pytest.mark.skipif(
    not HAVE_CJK_FONT, reason="no CJK TrueType font installed (apt-get install fonts-wqy-zenhei)"
)
def test_statement_pdf_embeds_the_cjk_font(sqlite_world: World) -> None:
    """The PDF embeds a TrueType subset (FontFile2) of the CJK font, so Chinese names print everywhere."""
    _busy_day(sqlite_world)
    with sqlite_world.engine.connect() as conn:
        pdf = statement_pdf(build_statement(conn, CAFE, date(2026, 11, 24), date(2026, 11, 24)))
    assert pdf.startswith(b"%PDF-")
    assert b"/FontFile2" in pdf
    base_fonts = re.findall(rb"/BaseFont /([A-Z]{6}\+[^\s/]+)", pdf)
    assert base_fonts, "a subset font is named AAAAAA+Name"
    # the font program itself is in the file (compressed), not just referenced
    streams = [
        zlib.decompress(m) for m in re.findall(rb"stream\r?\n(.*?)endstream", pdf, re.S) if _zlib_ok(m)
    ]
    assert any(s[:4] in (b"\x00\x01\x00\x00", b"true") for s in streams)


def _zlib_ok(data: bytes) -> bool:
    try:
        zlib.decompress(data)
    except zlib.error:
        return False
    return True


def test_missing_cjk_font_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Without any CJK font the PDF is refused with the install hint, never rendered with missing glyphs."""
    monkeypatch.setattr(statements, "CJK_FONT_CANDIDATES", (str(tmp_path / "none.ttc"),))
    monkeypatch.setenv("POSKIT_CJK_FONT", str(tmp_path / "also-missing.ttf"))
    with pytest.raises(CjkFontMissingError, match="fonts-wqy-zenhei"):
        find_cjk_font()


def test_statement_period_must_be_ordered(sqlite_world: World) -> None:
    """A period ending before it starts is refused."""
    with sqlite_world.engine.connect() as conn, pytest.raises(ValueError, match="before it starts"):
        build_statement(conn, CAFE, date(2026, 11, 25), date(2026, 11, 24))


def test_upheld_fee_dispute_refund_is_counted_once(sqlite_world: World) -> None:
    """After a 6.00 fee is disputed and 2.00 upheld, the summary rows add up to the net."""
    sqlite_world.sale(100000)
    with sqlite_world.begin() as conn:
        line = conn.execute(select(fee_lines.c.id)).scalar_one()
        dispute = open_dispute(
            conn, merchant_id=sqlite_world.cafe, fee_line_id=line, reason="rate", opened_by="cafe", now=NOW
        )
        resolve(conn, dispute.id, reviewer="reviewer", upheld=True, amount=200, now=NOW)
    with sqlite_world.engine.connect() as conn:
        st = build_statement(conn, CAFE, NOW.date(), NOW.date())
        rows = dict(summary_rows(st))
        assert rows["Fees (net of fees returned)"] == -600
        assert rows["Dispute refunds"] == 200
        assert rows["Net for the period"] == 100000 - 600 + 200
        assert summary_gaps(st) == []
        assert check_ledger(conn).ok


def test_every_demo_statement_adds_up(sqlite_world: World) -> None:
    """The demo's history (sales, fees, a dispute) gives statements whose lines add up; check counts them."""
    sqlite_world.sale(5000, merchant=NOODLE)
    _busy_day(sqlite_world)
    with sqlite_world.begin() as conn:
        seed_demo_ledger(conn, merchant_ids=sqlite_world.merchants, at=NOW)
    with sqlite_world.engine.connect() as conn:
        report = check_ledger(conn)
    assert report.ok, report.breaks
    assert report.stats["statements"] >= 2


def test_summary_gaps_name_a_statement_that_does_not_add_up(sqlite_world: World) -> None:
    """A summary whose movements miss the net is named, with both sums (what ledger check reports)."""
    sqlite_world.sale(100000)
    with sqlite_world.engine.connect() as conn:
        st = build_statement(conn, CAFE, NOW.date(), NOW.date())
    broken = dataclasses.replace(st, totals={**st.totals, "fees": st.totals["fees"] + 200})
    assert summary_gaps(broken) == [
        f"summary rows add up to {100000 - 800}, net for the period is {100000 - 600}"
    ]
