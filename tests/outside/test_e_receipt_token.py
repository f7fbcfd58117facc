"""The e-receipt token of protocol.md §3.7, read by a third-party terminal from field 62."""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from typing import Any

import pytest
from starlette.exceptions import StarletteDeprecationWarning
from tests.outside.cards import book_card
from tests.outside.client import OutsideTerminal

from poskit.portal.app import create_app
from poskit.store.db import make_engine

with warnings.catch_warnings():
    # starlette's test client warns that its httpx transport is deprecated (httpx2 is not installed here).
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

DIALECTS = [("cups", "cups-ecb"), ("ascii87", "x919")]


@pytest.mark.parametrize(("dialect", "mac"), DIALECTS)
async def test_an_approved_sale_carries_a_token_that_opens_its_receipt(
    outside_terminal: Callable[..., OutsideTerminal], demo_settings: Any, dialect: str, mac: str
) -> None:
    """Field 62 of the 0210 is 22 URL-safe characters; <portal>/r/<token> opens the receipt with no
    login; the true repeat gets a new token for the same receipt; a decline carries none."""
    card = book_card("magstripe-debit")
    async with outside_terminal(dialect=dialect, mac=mac) as t:
        assert (await t.sign_on())["39"] == "00"
        sale = t.sale_request(card["pan"], card["track2"], card["pin"], 4321)
        first = await t.exchange(sale)
        repeat = await t.exchange(sale)
        wrong_pin = await t.exchange(t.sale_request(card["pan"], card["track2"], "000000", 100))
    assert first["39"] == "00" and repeat["39"] == "00" and wrong_pin["39"] != "00"
    tokens = [bytes.fromhex(answer["62"]).decode("ascii") for answer in (first, repeat)]
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{22}", token) for token in tokens) and tokens[0] != tokens[1]
    assert "62" not in wrong_pin
    engine = make_engine(demo_settings.resolved_database_url)
    try:
        client = TestClient(
            create_app(engine, session_secret="outside-" + "x" * 40), base_url="https://testserver"
        )
        pages = [client.get(f"/r/{token}") for token in tokens]
    finally:
        engine.dispose()
    assert all(p.status_code == 200 and "43.21" in p.text and first["37"] in p.text for p in pages)
