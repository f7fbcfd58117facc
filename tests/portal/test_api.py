"""The JSON API: bearer-token auth, the same data and rules as the pages, OpenAPI at /docs."""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from PIL import Image, ImageDraw

World = Any  # fixture types live in conftest.py


def _png() -> str:
    image = Image.new("RGB", (240, 100), "white")
    ImageDraw.Draw(image).line([(5, 80), (100, 10), (230, 70)], fill="black", width=4)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def test_no_token_no_data(app: Any) -> None:
    """Without a valid bearer token every API call is 401 with a Bearer challenge; cookies do not count."""
    client = TestClient(app, base_url="https://testserver")
    for headers in (
        {},
        {"Authorization": "Bearer pk_not-a-real-token"},
        {"Authorization": "Basic Y2FmZTpwdw=="},
    ):
        response = client.get("/api/v1/transactions", headers=headers)
        assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"


def test_me_reports_role_and_permissions(api: Callable[[str], Any]) -> None:
    """/me names the token's user, role, merchant and permissions."""
    me = api("cafe-staff").get("/api/v1/me").json()
    assert me["username"] == "cafe-staff" and me["role"] == "merchant_staff"
    assert me["merchant_no"] == "898310058120001" and "sign" in me["permissions"]
    assert "view_finance" not in me["permissions"]


def test_transactions_filters_and_detail(api: Callable[[str], Any], world: World) -> None:
    """The list filters like the page; the detail has fee lines with formulas and related transactions."""
    client = api("cafe")
    pin = world.txn("cafe_pin")
    page = client.get("/api/v1/transactions", params={"rrn": pin["rrn"]}).json()
    assert page["total"] == 1 and page["items"][0]["fee"] == 62 and page["items"][0]["net"] == 12283
    assert all(
        t["status"] == "declined" for t in client.get("/api/v1/transactions?result=declined").json()["items"]
    )
    assert client.get("/api/v1/transactions?last4=12").status_code == 422
    assert client.get("/api/v1/transactions?date_from=2026-02-01&date_to=2026-01-01").status_code == 400
    detail = client.get(f"/api/v1/transactions/{world.txns['cafe_voided']}").json()
    assert detail["fee_lines"][0]["formula"] == "0.50% of 20.00 = 0.10"
    assert [r["id"] for r in detail["related"]] == [world.txns["cafe_void"]]
    assert (
        detail["pan_masked"] == "621700******5670" and "pan_token" not in detail and "pan_hash" not in detail
    )
    receipt = client.get(f"/api/v1/transactions/{pin['id']}/receipt").json()
    assert "CNY 123.45" in receipt["text"]


def test_dashboard_terminals_and_money(api: Callable[[str], Any], world: World) -> None:
    """Dashboard figures, terminal health, settlements, payouts and fees come back as JSON."""
    client = api("cafe")
    board = client.get("/api/v1/dashboard").json()
    assert board["month"]["volume"] >= 12345 and 0 < board["month"]["approval_rate"] <= 1
    terminals = {t["terminal_id"]: t for t in client.get("/api/v1/terminals").json()}
    assert terminals["PT000001"]["state"] == "online" and terminals["10000001"]["state"] == "never_seen"
    assert client.get("/api/v1/settlements").json()[0]["items"] >= 4
    payout = client.get("/api/v1/payouts").json()[0]
    assert client.get(f"/api/v1/payouts/{payout['id']}").json()["items"]
    fees = client.get(f"/api/v1/merchants/{world.cafe_id}/fees").json()
    assert fees["in_force"]["version"] >= 1 and fees["versions"]
    period = datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")
    statement = client.get(f"/api/v1/merchants/{world.cafe_id}/statements/{period}").json()
    assert statement["merchant_no"] == "898310058120001" and statement["lines"]
    assert api("cafe-staff").get(f"/api/v1/merchants/{world.cafe_id}/fees").status_code == 403


def test_write_calls_follow_the_page_rules(api: Callable[[str], Any], world: World) -> None:
    """Sign, dispute, ticket and change request through the API; roles and states are enforced."""
    owner = api("cafe")
    signed = owner.post(f"/api/v1/transactions/{world.txns['cafe_nopin']}/signature", json={"image": _png()})
    assert signed.status_code == 201 and len(signed.json()["feature_code"]) == 16
    again = owner.post(f"/api/v1/transactions/{world.txns['cafe_nopin']}/signature", json={"image": _png()})
    assert again.status_code == 409
    bad = owner.post(
        f"/api/v1/transactions/{world.txns['cafe_pin']}/signature",
        json={"image": "data:image/png;base64,AA=="},
    )
    assert bad.status_code == 400
    dispute = owner.post(
        f"/api/v1/transactions/{world.txns['cafe_pin']}/disputes", json={"reason": "never received"}
    )
    assert dispute.status_code == 201 and dispute.json()["kind"] == "transaction"
    assert owner.get(f"/api/v1/disputes/{dispute.json()['id']}").json()["timeline"][0]["action"] == "opened"
    staff = api("cafe-staff")
    assert (
        staff.post(
            f"/api/v1/transactions/{world.txns['cafe_pin']}/disputes", json={"reason": "x"}
        ).status_code
        == 403
    )
    ticket = staff.post("/api/v1/tickets", json={"subject": "API", "category": "account", "body": "hello"})
    assert ticket.status_code == 201 and ticket.json()["messages"][0]["body"] == "hello"
    reply = api("reviewer").post(f"/api/v1/tickets/{ticket.json()['id']}/messages", json={"body": "hi"})
    assert reply.status_code == 201 and reply.json()["status"] == "answered"
    when = (datetime.now(ZoneInfo("Asia/Shanghai")) + timedelta(days=10)).date().isoformat()
    change = owner.post(
        f"/api/v1/merchants/{world.cafe_id}/change-requests",
        json={"field": "name_en", "new_value": "Happy Bean Coffee", "effective_from": when},
    )
    assert change.status_code == 201 and change.json()["status"] == "pending"
    wrong = owner.post(
        f"/api/v1/merchants/{world.cafe_id}/change-requests",
        json={"field": "mcc", "new_value": "coffee", "effective_from": when},
    )
    assert wrong.status_code == 400


def test_a_backdated_change_is_refused_by_the_api_as_by_the_cli(
    api: Callable[[str], Any], world: World
) -> None:
    """The API runs the shared validation: an effective date before the acquirer's today is a 400
    with the same reason the CLI prints; acquirer staff are refused it too."""
    yesterday = (datetime.now(ZoneInfo("Asia/Shanghai")) - timedelta(days=1)).date().isoformat()
    for user in ("cafe", "reviewer"):
        response = api(user).post(
            f"/api/v1/merchants/{world.cafe_id}/change-requests",
            json={"field": "city", "new_value": "Hangzhou", "effective_from": yesterday},
        )
        assert (
            response.status_code == 400 and response.json()["detail"] == "the effective date is in the past"
        )


def test_flags_are_for_acquirer_staff(api: Callable[[str], Any]) -> None:
    """Merchants get 403 on the compliance flags; acquirer staff get the list."""
    assert api("cafe").get("/api/v1/flags").status_code == 403
    assert isinstance(api("reviewer").get("/api/v1/flags?status=cleared").json(), list)


def test_openapi_is_published_with_bearer_auth(app: Any) -> None:
    """/openapi.json describes only /api/v1 with the bearer scheme; /docs serves it offline."""
    client = TestClient(app, base_url="https://testserver")
    spec = client.get("/openapi.json").json()
    assert all(path.startswith("/api/v1/") for path in spec["paths"])
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert "/api/v1/transactions/{txn_id}" in spec["paths"]
    docs = client.get("/docs")
    assert docs.status_code == 200 and "swagger-ui" in docs.text
