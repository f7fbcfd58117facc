"""Odd input on the pages is a 4xx with a readable page, never a server error."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

Portal = Any  # fixture types live in conftest.py


@pytest.mark.parametrize(
    "url",
    [
        "/transactions?page=999999999999",
        "/transactions/99999999999999999999",
        "/transactions/-1",
        "/statements/0000-01",
        "/statements/2026-13.pdf",
        "/settlements/9999-99-99",
        "/fees?merchant=99999999999999999999",
        "/payouts/0",
        "/disputes/new?transaction=abc",
        "/support/tickets/1e9",
        "/terminals/%00",
    ],
)
def test_odd_urls_are_client_errors(portal: Callable[..., Portal], url: str) -> None:
    """Out-of-range ids, impossible dates and junk are answered with 4xx."""
    response = portal("cafe").get(url)
    assert 400 <= response.status_code < 500, (url, response.status_code)


@pytest.mark.parametrize(
    "query", ["date_from=0001-01-01&date_to=9999-12-31", "merchant=99999999999999999999", "amount_min=1.234"]
)
def test_unusable_filters_are_explained_on_the_page(portal: Callable[..., Portal], query: str) -> None:
    """A filter value that cannot be used is named on the page, which still renders."""
    response = portal("cafe").get(f"/transactions?{query}")
    assert response.status_code == 200 and "Filter not applied" in response.text


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    params=st.dictionaries(
        st.sampled_from(
            [
                "date_from",
                "date_to",
                "terminal",
                "result",
                "last4",
                "amount_min",
                "amount_max",
                "rrn",
                "merchant",
                "type",
                "page",
            ]
        ),
        st.text(max_size=25),
        max_size=6,
    )
)
def test_any_transaction_filter_renders(portal: Callable[..., Portal], params: dict[str, str]) -> None:
    """Whatever the filter values, the transactions page and its CSV answer without a server error."""
    client = _client(portal)
    for url in ("/transactions", "/transactions/export.csv"):
        response = client.get(url, params=params)
        assert response.status_code < 500, (url, params)


_CLIENTS: dict[str, Any] = {}


def _client(portal: Callable[..., Portal]) -> Portal:
    if "cafe" not in _CLIENTS:
        _CLIENTS["cafe"] = portal("cafe")
    return _CLIENTS["cafe"]


def test_nul_characters_are_refused_before_the_database(portal: Callable[..., Portal], api: Any) -> None:
    """A NUL byte in a form or API field is a 4xx (PostgreSQL could not store it), never a 500."""
    response = portal("cafe").post("/support/tickets", {"subject": "a\x00b", "body": "x"})
    assert response.status_code == 400
    reply = api("cafe").post("/api/v1/tickets", json={"subject": "a\x00b", "body": "x"})
    assert reply.status_code == 422
