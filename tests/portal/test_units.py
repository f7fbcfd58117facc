"""Small pieces: the transaction filter, safe redirects, tokens and sessions, EMV masking, receipts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select

from poskit.portal.accounts import create_user
from poskit.portal.data.emv import emv_rows
from poskit.portal.data.transactions import FilterError, TxnFilter
from poskit.portal.sessions import IDLE_TIMEOUT, create_session, resolve_session, revoke_user_sessions
from poskit.portal.tokens import create_token, list_tokens, resolve_token, revoke_token
from poskit.portal.web import safe_next
from poskit.store.db import WRITE
from poskit.store.schema import acquirers
from poskit.store.schema_portal import api_tokens, portal_sessions

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def test_filter_parses_text_into_typed_values() -> None:
    """Dates, money in major units and the other fields are parsed and can be turned back into a query."""
    flt = TxnFilter.parse(
        {"date_from": "2026-11-01", "amount_min": "12.5", "last4": "0010", "terminal": "PT000001"}
    )
    assert flt.date_from == date(2026, 11, 1) and flt.amount_min == 1250 and flt.last4 == "0010"
    assert TxnFilter.parse(flt.query_params()) == flt


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"date_from": "25/11/2026"}, "date_from"),
        ({"last4": "12a4"}, "last4"),
        ({"amount_max": "1.234"}, "amount_max"),
        ({"terminal": "X;DROP"}, "terminal"),
        ({"date_from": "2026-11-02", "date_to": "2026-11-01"}, "date_to"),
        ({"merchant": "1" * 12}, "merchant"),
    ],
)
def test_filter_errors_name_the_field(params: dict[str, str], field: str) -> None:
    """A bad value raises FilterError naming the field and why."""
    with pytest.raises(FilterError) as caught:
        TxnFilter.parse(params)
    assert caught.value.field == field and caught.value.reason


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/transactions?x=1", "/transactions?x=1"),
        ("//evil.example", "/"),
        ("https://evil.example/", "/"),
        ("javascript:alert(1)", "/"),
        ("/\\evil", "/"),
        ("", "/"),
        (None, "/"),
    ],
)
def test_safe_next_keeps_redirects_on_site(target: str | None, expected: str) -> None:
    """Only same-site paths survive as login redirect targets."""
    assert safe_next(target) == expected


def _user(engine: Engine) -> int:
    with engine.connect().execution_options(**WRITE) as conn, conn.begin():
        conn.execute(
            acquirers.insert().values(
                code="1", name="a", country="156", currency="CNY", timezone="Asia/Shanghai", created_at=NOW
            )
        )
        return create_user(conn, username="u", password="password-1", role="acquirer_staff", now=NOW)


def test_tokens_are_hashed_expire_and_revoke(sqlite_engine: Engine) -> None:
    """A token resolves to its user until it expires or is revoked; only its hash is stored."""
    user_id = _user(sqlite_engine)
    with sqlite_engine.connect().execution_options(**WRITE) as conn, conn.begin():
        new = create_token(conn, user_id, "script", now=NOW, expires_at=NOW + timedelta(days=1))
        assert "hidden" in repr(new) and new.secret not in repr(new)
        stored = conn.execute(select(api_tokens.c.token_hash)).scalar_one()
        assert new.secret not in stored and len(stored) == 64
        assert resolve_token(conn, new.secret, now=NOW) == (new.id, user_id, True)
        assert resolve_token(conn, new.secret, now=NOW + timedelta(days=2)) is None
        assert resolve_token(conn, new.secret[:-1] + "x", now=NOW) is None
        assert resolve_token(conn, "not-even-prefixed", now=NOW) is None
        assert revoke_token(conn, user_id, new.id, now=NOW)
        assert not revoke_token(conn, user_id + 1, new.id, now=NOW)
        assert resolve_token(conn, new.secret, now=NOW) is None
        assert list_tokens(conn, user_id)[0].revoked_at is not None
        with pytest.raises(ValueError, match="name"):
            create_token(conn, user_id, "  ", now=NOW)


def test_sessions_expire_idle_and_revoke(sqlite_engine: Engine) -> None:
    """A session lives until idle too long, past its lifetime, or revoked; the cookie value is not stored."""
    user_id = _user(sqlite_engine)
    with sqlite_engine.connect().execution_options(**WRITE) as conn, conn.begin():
        token = create_session(conn, user_id, now=NOW)
        assert token not in str(conn.execute(select(portal_sessions)).all())
        live = resolve_session(conn, token, now=NOW + timedelta(minutes=30))
        assert live is not None and live.user_id == user_id and live.needs_touch
        assert resolve_session(conn, token, now=NOW + IDLE_TIMEOUT + timedelta(seconds=1)) is None
        assert revoke_user_sessions(conn, user_id, now=NOW) == 1
        assert resolve_session(conn, token, now=NOW) is None


def test_emv_data_is_shown_with_cardholder_data_masked() -> None:
    """PAN and track 2 equivalent are masked; cryptogram and TVR are shown; junk is skipped."""
    txn: dict[str, Any] = {
        "response": {
            "emv": {
                "5A": "6222021001123456789F",
                "57": "6222021001123456789D2812",
                "9F26": "1122334455667788",
                "95": "0000008000",
                "ZZ": "GG",
            }
        }
    }
    rows = {r["tag"]: r for r in emv_rows(txn)}
    assert rows["9F26"]["value"] == "1122334455667788" and rows["95"]["name"]
    assert "1001123456" not in rows["5A"]["value"] and rows["5A"]["value"].startswith("6222")
    assert "1001123456" not in rows["57"]["value"] and "ZZ" not in rows
    assert emv_rows({"response": {}}) == []
