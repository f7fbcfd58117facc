"""Strict tenant isolation: another merchant's records are 404 by every URL and every API call."""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from PIL import Image, ImageDraw
from sqlalchemy import insert, select

from poskit.portal.accounts import create_user
from poskit.store.db import WRITE, inserted_id
from poskit.store.schema import acquirers, merchants
from poskit.store.schema_ledger import payouts
from poskit.store.schema_portal import support_tickets

Portal = World = Any  # fixture types live in conftest.py

_PARAM = re.compile(r"{([a-z_]+)}")


def signature_data_url() -> str:
    image = Image.new("RGB", (300, 120), "white")
    ImageDraw.Draw(image).line([(10, 100), (80, 20), (150, 90), (290, 30)], fill="black", width=4)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def foreign_ids(world: World) -> dict[str, str]:
    """Path parameter -> a record of the noodle house (the other merchant)."""
    with world.engine.connect() as conn:
        payout_id = conn.execute(
            select(payouts.c.id).where(payouts.c.merchant_id == world.noodle_id)
        ).scalar()
    assert payout_id is not None, "the noodle house needs a payout for this test"
    return {
        "txn_id": str(world.noodle["txn"]),
        "terminal_id": "PT000002",
        "ticket_id": str(world.noodle["ticket"]),
        "dispute_id": str(world.noodle["dispute"]),
        "operator_id": str(world.noodle["operator"]),
        "token_id": str(world.noodle["token"]),
        "change_id": str(world.noodle["change"]),
        "flag_id": str(world.noodle["flag"]),
        "user_id": str(world.noodle["user"]),
        "payout_id": str(payout_id),
        "merchant_id": str(world.noodle_id),
        "fee_line_id": str(world.noodle["fee_line"]),
        "business_date": "2026-01-01",
        "period": "2026-11",
        "rrn": _rrn(world, world.noodle["txn"]),
    }


#: Parameters that name no record by themselves; the foreign merchant is passed as ?merchant=.
_NEEDS_MERCHANT_QUERY = {"business_date", "period"}

FORM = {
    "note": "isolation test",
    "password": "24681357",
    "status": "disabled",
    "decision": "reject",
    "body": "hello",
    "reason": "isolation test",
    "amount": "",
    "key": "k1",
    "name": "n",
    "code": "07",
    "field": "address",
    "new_value": "somewhere",
    "effective_from": "2099-01-01",
    "locale": "en",
    "subject": "s",
    "category": "general",
    "phone": "1",
}


def _form_for(url: str, form: dict[str, Any]) -> dict[str, Any]:
    """A form that passes validation for the route, so the answer is about the record."""
    if url.startswith("/support/tickets/"):
        return {**form, "status": "closed"}
    return form


def _urls(path: str, ids: dict[str, str], noodle_id: int, *, api: bool = False) -> str:
    names = _PARAM.findall(path)
    url = path
    for name in names:
        assert name in ids, (
            f"no foreign record for path parameter {name!r} of {path}: add one to foreign_ids()"
        )
        url = url.replace("{" + name + "}", ids[name])
    if set(names) & _NEEDS_MERCHANT_QUERY and "merchant_id" not in names:
        url += f"?merchant_id={noodle_id}" if api else f"?merchant={noodle_id}"
    return url


def test_every_page_route_hides_another_merchants_records(
    portal: Callable[..., Portal], world: World, portal_routes: Any
) -> None:
    """The cafe's owner gets 404 from every page route that names one of the noodle house's records."""
    ids = foreign_ids(world)
    client = portal("cafe")
    checked = 0
    form = {**FORM, "signature": signature_data_url()}
    for route in portal_routes:
        if route.api or not _PARAM.search(route.path):
            continue
        url = _urls(route.path, ids, world.noodle_id)
        for method in sorted(route.methods - {"HEAD"}):
            response = client.get(url) if method == "GET" else client.post(url, _form_for(url, form))
            assert response.status_code == 404, f"{method} {url}: {response.status_code}"
            assert "noodle" not in response.text.lower() and "幸运面馆" not in response.text
            checked += 1
    assert checked >= 25


def test_staff_get_404_too_not_403(portal: Callable[..., Portal], world: World, portal_routes: Any) -> None:
    """Even where the role lacks the permission, another merchant's record is 'not found'."""
    ids = foreign_ids(world)
    client = portal("cafe-staff")
    form = {**FORM, "signature": signature_data_url()}
    for route in portal_routes:
        if route.api or not _PARAM.search(route.path):
            continue
        url = _urls(route.path, ids, world.noodle_id)
        for method in sorted(route.methods - {"HEAD"}):
            response = client.get(url) if method == "GET" else client.post(url, _form_for(url, form))
            assert response.status_code == 404, f"{method} {url}: {response.status_code}"


def test_query_and_form_references_to_another_merchant_are_404(
    portal: Callable[..., Portal], world: World
) -> None:
    """?merchant=, ?transaction=, ?fee_line= and form fields naming the noodle house's records are 404."""
    client = portal("cafe")
    noodle = world.noodle_id
    for url in (
        f"/?merchant={noodle}",
        f"/transactions?merchant={noodle}",
        f"/transactions/export.csv?merchant={noodle}",
        f"/settlements?merchant={noodle}",
        f"/payouts?merchant={noodle}",
        f"/payouts/export.csv?merchant={noodle}",
        f"/fees?merchant={noodle}",
        f"/statements?merchant={noodle}",
        f"/statements/2026-11.pdf?merchant={noodle}",
        f"/statements/2026-11.csv?merchant={noodle}",
        f"/disputes/new?transaction={world.noodle['txn']}",
        f"/disputes/new?fee_line={world.noodle['fee_line']}",
    ):
        assert client.get(url).status_code == 404, url
    assert client.post("/disputes", {"transaction": world.noodle["txn"], "reason": "x"}).status_code == 404
    assert client.post("/disputes", {"fee_line": world.noodle["fee_line"], "reason": "x"}).status_code == 404
    response = client.post(
        "/support/tickets", {"subject": "s", "body": "b", "transaction": world.noodle["txn"]}
    )
    assert response.status_code == 404


def test_lists_and_exports_show_only_the_merchants_own_data(
    portal: Callable[..., Portal], world: World
) -> None:
    """Transactions, CSV, terminals, disputes, tickets and the dashboard never mention the other merchant."""
    client = portal("cafe")
    noodle_rrn = next(r for r in [_rrn(world, world.noodle["txn"])] if r)
    for url in (
        "/",
        "/transactions",
        "/transactions/export.csv",
        "/unsigned",
        "/terminals",
        "/disputes",
        "/support",
        "/payouts",
        "/settlements",
        "/merchant",
    ):
        text = client.get(url).text
        assert noodle_rrn not in text and "PT000002" not in text and "20000001" not in text, url
        assert "898310058140002" not in text, url


def _rrn(world: World, txn_id: int) -> str:
    with world.engine.connect() as conn:
        from poskit.store.schema import transactions

        return str(conn.execute(select(transactions.c.rrn).where(transactions.c.id == txn_id)).scalar_one())


def test_every_api_route_hides_another_merchants_records(
    api: Callable[[str], Any], world: World, portal_routes: Any
) -> None:
    """With the cafe's token, every /api/v1 route naming a noodle-house record is 404."""
    ids = foreign_ids(world)
    client = api("cafe")
    bodies = {
        "signature": {"image": signature_data_url()},
        "messages": {"body": "hello"},
        "disputes": {"reason": "isolation test"},
        "change-requests": {"field": "city", "new_value": "Hangzhou", "effective_from": "2099-01-01"},
    }
    checked = 0
    for route in portal_routes:
        if not route.api or not _PARAM.search(route.path):
            continue
        url = _urls(route.path, ids, world.noodle_id, api=True)
        for method in sorted(route.methods - {"HEAD"}):
            if method == "GET":
                response = client.get(url)
            else:
                response = client.post(url, json=bodies[url.split("?")[0].rsplit("/", 1)[-1]])
            assert response.status_code == 404, f"{method} {url}: {response.status_code} {response.text}"
            checked += 1
    assert checked >= 8
    for url in (
        f"/api/v1/transactions?merchant_id={world.noodle_id}",
        f"/api/v1/settlements?merchant_id={world.noodle_id}",
        f"/api/v1/payouts?merchant_id={world.noodle_id}",
        f"/api/v1/dashboard?merchant_id={world.noodle_id}",
    ):
        assert client.get(url).status_code == 404, url
    assert (
        client.post(
            "/api/v1/tickets", json={"subject": "s", "body": "b", "transaction_id": world.noodle["txn"]}
        ).status_code
        == 404
    )


def test_api_lists_are_scoped(api: Callable[[str], Any], world: World) -> None:
    """The cafe's API lists contain only the cafe's records."""
    client = api("cafe")
    items = client.get("/api/v1/transactions?page_size=500").json()["items"]
    assert items and {t["merchant_id"] for t in items} == {world.cafe_id}
    assert {t["merchant_id"] for t in client.get("/api/v1/terminals").json()} == {world.cafe_id}
    assert {o["merchant_id"] for o in client.get("/api/v1/operators").json()} == {world.cafe_id}
    assert all(d["merchant_id"] == world.cafe_id for d in client.get("/api/v1/disputes").json())
    assert all(t["merchant_id"] == world.cafe_id for t in client.get("/api/v1/tickets").json())
    assert all(c["merchant_id"] == world.cafe_id for c in client.get("/api/v1/change-requests").json())
    assert all(p["merchant_id"] == world.cafe_id for p in client.get("/api/v1/payouts").json())
    assert [m["id"] for m in client.get("/api/v1/merchants").json()] == [world.cafe_id]


def test_acquirer_staff_see_only_their_own_acquirers_merchants(
    portal: Callable[..., Portal], world: World
) -> None:
    """Staff of a second acquirer get 404 for the demo acquirer's transactions, merchants and tickets."""
    now = datetime.now(UTC)
    with world.engine.connect().execution_options(**WRITE) as conn, conn.begin():
        other = inserted_id(
            conn.execute(
                insert(acquirers).values(
                    code="99990000",
                    name="Other Acquirer",
                    country="156",
                    currency="CNY",
                    timezone="Asia/Shanghai",
                    created_at=now,
                )
            )
        )
        conn.execute(
            insert(merchants).values(
                acquirer_id=other,
                merchant_no="999999999990001",
                name="Other shop",
                mcc="5411",
                address="x",
                settlement_account="1234567890",
                currency="CNY",
                created_at=now,
            )
        )
        create_user(
            conn,
            username="other-admin",
            password="other-admin-1",
            role="acquirer_admin",
            acquirer_id=other,
            now=now,
        )
        ticket = conn.execute(
            select(support_tickets.c.id).where(support_tickets.c.merchant_id == world.noodle_id)
        ).scalar()
    client = portal()
    assert client.login("other-admin", "other-admin-1").status_code == 303
    for url in (
        f"/transactions/{world.txns['cafe_pin']}",
        f"/merchants/{world.cafe_id}",
        f"/support/tickets/{ticket}",
        f"/disputes/{world.noodle['dispute']}",
        "/terminals/PT000001",
        f"/fees?merchant={world.cafe_id}",
    ):
        assert client.get(url).status_code == 404, url
    assert "898310058120001" not in client.get("/merchants").text
    assert (
        client.post(f"/review/changes/{world.noodle['change']}", {"decision": "approve"}).status_code == 404
    )
    assert client.post(f"/review/flags/{world.noodle['flag']}/clear", {"note": "fine"}).status_code == 404
