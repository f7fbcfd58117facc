"""A Lagos merchant's slips, portal pages and statements use Lagos time and the Nigerian support
line — not Asia/Shanghai and not the Chinese 400 number — and a Shanghai merchant's keep theirs."""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_datetime
from sqlalchemy import Engine, select, update
from starlette.exceptions import StarletteDeprecationWarning
from typer.testing import CliRunner

from poskit.cli import commands  # noqa: F401  (registers the sub-commands)
from poskit.cli.app import app
from poskit.config import Settings
from poskit.demo.world import DEMO_USERS, provision_demo
from poskit.ledger.merchant_changes import request_change
from poskit.ledger.statements import (
    CjkFontMissingError,
    build_statement,
    find_cjk_font,
    statement_footer,
    statement_pdf,
)
from poskit.portal.app import create_app
from poskit.store.db import WRITE, make_engine
from poskit.store.schema import merchants, transactions

with warnings.catch_warnings():
    # starlette's test client warns that its httpx transport is deprecated (httpx2 is not installed here).
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

runner = CliRunner()
LAGOS = {"merchant_no": "898234058120003", "terminal": "30000001", "zone": "Africa/Lagos", "phone": "+234"}
CAFE = {"merchant_no": "898310058120001", "terminal": "10000001", "zone": "Asia/Shanghai", "phone": "400-"}
NOODLE = {"merchant_no": "898310058140002", "zone": "Asia/Urumqi"}
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def _login(engine: Engine, username: str) -> TestClient:
    client = TestClient(
        create_app(engine, session_secret="zone-tests-" + "x" * 40), base_url="https://testserver"
    )
    token = _CSRF.search(client.get("/login").text)
    assert token is not None
    form = {"username": username, "password": DEMO_USERS[username][0], "next": "/", "csrf": token.group(1)}
    assert client.post("/login", data=form, follow_redirects=False).status_code == 303
    return client


def _pay(settings: Any, address: str, *args: str) -> dict[str, Any]:
    common = ["--data-dir", str(settings.data_dir), "--host", address, "--json"]
    result = runner.invoke(app, ["pay", *args, *common])
    outcome: dict[str, Any] = json.loads([x for x in result.stdout.splitlines() if x.startswith("{")][-1])
    assert outcome["approved"], outcome
    return outcome


@pytest.fixture
def engine(demo_settings: Any) -> Iterator[Engine]:
    eng = make_engine(demo_settings.resolved_database_url)
    yield eng
    eng.dispose()


@pytest.mark.usefixtures("live_host")
def test_slips_and_the_portal_copy_use_the_merchant_zone_and_support_line(
    demo_settings: Any, live_host: Any, engine: Engine
) -> None:
    """The Lagos slip prints +234 and Lagos time; so does its copy in the portal, for the merchant
    and for the Nigerian acquirer's staff; the cafe's carry 400-858-3000 and Shanghai time."""
    lagos = _pay(demo_settings, live_host.address, "250.00", "--card", "verve-ngn", "--pin", "1111",
                 "--terminal", LAGOS["terminal"], "--entry", "chip")  # fmt: skip
    cafe = _pay(demo_settings, live_host.address, "9.00", "--card", "magstripe-debit", "--pin", "654321")
    assert "SUPPORT: +234" in lagos["receipt"] and "400-" not in lagos["receipt"]
    assert "SUPPORT: 400-858-3000" in cafe["receipt"] and "+234" not in cafe["receipt"]
    with engine.connect() as conn:
        rows = {
            r.rrn: r
            for r in conn.execute(
                select(transactions).where(transactions.c.rrn.in_([lagos["rrn"], cafe["rrn"]]))
            )
        }
    for user, outcome, where in (
        ("lagos", lagos, LAGOS),
        ("acquirer-ng", lagos, LAGOS),
        ("cafe", cafe, CAFE),
    ):
        row = rows[outcome["rrn"]]
        local = row.received_at.astimezone(ZoneInfo(where["zone"]))
        page = _login(engine, user).get(f"/transactions/{row.id}")
        assert page.status_code == 200, (user, page.status_code)
        copy = page.text.split('<pre class="receipt">', 1)[1].split("</pre>", 1)[0]
        assert f"DATE/TIME: {local:%Y-%m-%d %H:%M:%S}" in copy, (user, copy)
        assert f"SUPPORT: {where['phone']}" in copy, (user, copy)
        assert ("400-" in copy) == (where is CAFE) and ("+234" in copy) == (where is LAGOS)
        assert f"Times are shown in {where['zone']}" in page.text, user


def test_merchant_change_dates_are_shown_in_the_merchant_zone(tmp_path: Path) -> None:
    """A change requested at 23:30 UTC is listed at 00:30 the next day in Lagos (WAT, UTC+1) and at
    07:30 in Shanghai (UTC+8) — on the merchant's page and on the acquirer's review page; a merchant
    with its own zone (UTC+6) sees its own, its acquirer's staff the acquirer's."""
    settings = Settings(data_dir=tmp_path / "data", host_port=0, portal_port=0)
    provision_demo(settings)
    eng = make_engine(settings.resolved_database_url)
    at = datetime(2026, 12, 7, 23, 30, tzinfo=UTC)
    try:
        with eng.connect().execution_options(**WRITE) as conn, conn.begin():
            ids = {
                r.merchant_no: int(r.id)
                for r in conn.execute(select(merchants.c.id, merchants.c.merchant_no))
            }
            # the noodle shop keeps its own zone (Xinjiang time, UTC+6), not its acquirer's
            conn.execute(
                update(merchants)
                .where(merchants.c.id == ids[NOODLE["merchant_no"]])
                .values(timezone=NOODLE["zone"])
            )
            for where in (LAGOS, CAFE, NOODLE):
                request_change(
                    conn, merchant_id=ids[where["merchant_no"]], field="address",
                    new_value=f"1 Zone Road {where['zone']}", effective_from=at + timedelta(days=2),
                    requested_by="tester", now=at,
                )  # fmt: skip
        cases = [
            ("lagos", LAGOS),
            ("acquirer-ng", LAGOS),
            ("cafe", CAFE),
            ("acquirer", CAFE),
            ("noodle", NOODLE),
        ]
        for user, where in cases:
            path = "/merchant" if not user.startswith("acquirer") else "/review/changes"
            page = _login(eng, user).get(path)
            assert page.status_code == 200, (user, path)
            shown = format_datetime(at, "short", tzinfo=ZoneInfo(where["zone"]), locale="en")
            in_utc = format_datetime(at, "short", tzinfo=ZoneInfo("UTC"), locale="en")
            assert shown in page.text and in_utc not in page.text, (user, shown)
            if where is NOODLE:
                in_shanghai = format_datetime(at, "short", tzinfo=ZoneInfo("Asia/Shanghai"), locale="en")
                assert in_shanghai not in page.text
            assert f"Times are shown in {where['zone']}" in page.text
    finally:
        eng.dispose()


def test_statements_use_the_merchant_zone_and_support_line(engine: Engine) -> None:
    """The Lagos statement is made in Lagos time (WAT) and names the +234 line; the cafe's is in
    Shanghai time (CST) with 400-858-3000; both PDFs render (where a CJK font is installed)."""
    now = datetime(2026, 12, 7, 23, 30, tzinfo=UTC)
    with engine.connect() as conn:
        lagos = build_statement(conn, LAGOS["merchant_no"], now.date(), now.date(), now=now)
        cafe = build_statement(conn, CAFE["merchant_no"], now.date(), now.date(), now=now)
    assert lagos.merchant.local_zone == "Africa/Lagos" and cafe.merchant.local_zone == "Asia/Shanghai"
    lagos_footer, cafe_footer = statement_footer(lagos), statement_footer(cafe)
    assert "2026-12-08 00:30 WAT" in lagos_footer and "+234" in lagos_footer and "400-" not in lagos_footer
    assert "2026-12-08 07:30 CST" in cafe_footer and "400-858-3000" in cafe_footer
    try:
        find_cjk_font()
    except CjkFontMissingError:
        return  # the PDF needs a CJK font; the footer above is what it prints
    assert statement_pdf(lagos).startswith(b"%PDF") and statement_pdf(cafe).startswith(b"%PDF")
