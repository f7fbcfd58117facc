"""The portal's terminal pages show the heartbeat alerts with what to do, in the reader's language."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select, update
from tests.portal.conftest import CAFE_TERMINAL, SESSION_SECRET, Portal

from poskit.ledger.monitoring import clear_flag, raise_flag
from poskit.portal.app import create_app
from poskit.store.db import WRITE
from poskit.store.schema import terminals
from poskit.tms.alerts import FleetPolicy

World = Any  # fixture types live in conftest.py
_HEARTBEAT = (
    terminals.c.paper,
    terminals.c.parameter_version,
    terminals.c.uptime_seconds,
    terminals.c.storage_free_mb,
)


@pytest.fixture
def alarmed(world: World) -> Iterator[None]:
    """CAFE_TERMINAL out of paper, with heartbeat values and an open authentication_failures flag;
    all undone afterwards."""
    with world.engine.connect().execution_options(**WRITE) as conn, conn.begin():
        before = (
            conn.execute(select(*_HEARTBEAT).where(terminals.c.terminal_id == CAFE_TERMINAL)).one()._asdict()
        )
        flag = raise_flag(
            conn,
            key=f"authentication_failures:portal-alert-test:{CAFE_TERMINAL}:{uuid.uuid4()}",
            kind="authentication_failures",
            severity="high",
            summary="5 requests failed authentication within the hour",
            details={},
            now=datetime.now(UTC),
            terminal_id=CAFE_TERMINAL,
        )
        conn.execute(
            update(terminals)
            .where(terminals.c.terminal_id == CAFE_TERMINAL)
            .values(paper="out", parameter_version="2026120801", uptime_seconds=3720, storage_free_mb=512)
        )
    yield
    with world.engine.connect().execution_options(**WRITE) as conn, conn.begin():
        clear_flag(conn, flag.id, actor="tests", note="test over")
        conn.execute(update(terminals).where(terminals.c.terminal_id == CAFE_TERMINAL).values(**before))


def test_merchant_sees_paper_and_authentication_alerts_on_its_terminal_pages(
    portal: Callable[..., Portal], alarmed: None
) -> None:
    """The merchant's terminal page and terminal list carry the paper-out and authentication alerts
    with what to do, and the page the heartbeat's paper, parameter version, uptime and free storage,
    in English and (for a Chinese reader) in Chinese."""
    client = portal("cafe")
    page = client.get(f"/terminals/{CAFE_TERMINAL}")
    assert page.status_code == 200
    assert 'data-alert="paper_out"' in page.text and "load a new paper roll" in page.text
    assert 'data-alert="authentication"' in page.text and "sign the terminal on again" in page.text
    assert 'data-alert="paper_out"' in client.get("/terminals").text
    assert "out of paper" in page.text and "2026120801" in page.text
    assert "1 h 2 min" in page.text and "512 MB" in page.text
    client.post("/locale", {"locale": "zh_CN", "next": "/terminals"})
    try:
        zh = client.get(f"/terminals/{CAFE_TERMINAL}").text
    finally:
        client.post("/locale", {"locale": "en", "next": "/"})  # the user's choice outlives this test
    assert "打印机缺纸：请装入新的打印纸卷" in zh and "请重新签到" in zh
    assert "缺纸" in zh and "1 小时 2 分钟" in zh and "剩余存储空间" in zh


def test_api_reports_heartbeat_fields_and_alerts(api: Callable[[str], Any], alarmed: None) -> None:
    """The terminal API gives the paper level and the alert codes."""
    body = api("cafe").get(f"/api/v1/terminals/{CAFE_TERMINAL}").json()
    assert body["paper"] == "out" and body["authentication_failures"] is True
    assert {"paper_out", "authentication"} <= {a["code"] for a in body["alerts"]}


def test_software_out_of_policy_shows_where_the_portal_has_a_minimum(world: World) -> None:
    """A portal configured with a minimum software version above the terminal's flags it."""
    app = create_app(
        world.engine,
        session_secret=SESSION_SECRET,
        fleet_policy=FleetPolicy(minimum_software_version="999.0"),
    )
    client = Portal(app)
    assert client.login("acquirer").status_code == 303
    page = client.get(f"/terminals/{CAFE_TERMINAL}")
    assert page.status_code == 200
    assert 'data-alert="software_outdated"' in page.text and "older than the required 999.0" in page.text
