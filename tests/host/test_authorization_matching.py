"""The host's matching rules: when a repeat is its original, and when a reversal describes its sale."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, insert
from sqlalchemy.engine import Connection

from poskit.host.authorization import (
    CardInfo,
    ReversalInput,
    TxnInput,
    repeat_differences,
    reversal_mismatch,
    reversal_repeat_differences,
)
from poskit.host.registry import TerminalRecord
from poskit.store.db import inserted_id
from poskit.store.schema import transactions

NOW = datetime(2026, 12, 8, 9, 30, tzinfo=UTC)
TERMINAL = TerminalRecord(
    id=1,
    terminal_id="UNIT0001",
    merchant_id=1,
    merchant_no="898310058120001",
    merchant_name="cafe",
    merchant_name_en="cafe",
    mcc="5812",
    merchant_status="active",
    currency="156",
    acquirer_code="00010000",
    acquirer_country="156",
    timezone="Asia/Shanghai",
    dialect="cups",
    mac_algorithm="cups-ecb",
    key_scheme="004",
    tmk=None,
    pik=None,
    mak=None,
    tdk=None,
    pending_pik=None,
    pending_mak=None,
    pending_tdk=None,
    pending_batch_no=None,
    batch_no=1,
    status="active",
    sign_on_required=False,
    signed_on_at=None,
)
CARD = CardInfo(
    pan_hash="hash-of-card-a",
    pan_token="token",
    pan_masked="621700******5670",
    expiry="2912",
    service_code="120",
    scheme="unionpay",
    funding="debit",
    origin="domestic",
    card_organisation="CUP",
    entry_mode="chip",
    pin_entered=True,
)
SALE = TxnInput(
    terminal=TERMINAL,
    mti="0200",
    txn_type="sale",
    stan=42,
    batch=1,
    local_datetime=None,
    amount=777,
    currency="156",
    card=CARD,
    pin_check="ok",
    pin_required=True,
    received_at=NOW,
    issuer_day="2026-12-08",
    business_date=NOW,
    settlement_date="1208",
    julian="6342",
    auth_code="123456",
    emv={"9F26": "1122334455667788", "9F36": "0007"},
)
#: The stored original, as the transactions row holds it.
ORIGINAL: dict[str, Any] = {
    "txn_type": "sale",
    "amount": 777,
    "currency": "156",
    "pan_hash": "hash-of-card-a",
    "response": {"response_code": "00", "emv": {"9F26": "1122334455667788", "9F36": "0007"}},
}
REVERSAL = ReversalInput(
    terminal=TERMINAL,
    stan=42,
    batch=1,
    original_mti="0200",
    original_type="sale",
    reason="98",
    amount=777,
    currency="156",
    local_datetime=None,
    received_at=NOW,
    issuer_day="2026-12-08",
    pan_masked="621700******5670",
    repeat=False,
    pan_hash="hash-of-card-a",
)


def test_a_true_repeat_has_no_differences() -> None:
    """The same type, amount, currency, card and cryptogram: the repeat is its original."""
    assert repeat_differences(SALE, ORIGINAL) == []


def test_a_magstripe_repeat_without_chip_data_matches() -> None:
    """No field 55 in the original nor in the repeat: nothing to compare, still the original."""
    swipe = dataclasses.replace(SALE, emv=None)
    assert repeat_differences(swipe, {**ORIGINAL, "response": {"response_code": "00"}}) == []


@pytest.mark.parametrize(
    ("change", "difference"),
    [
        ({"txn_type": "balance"}, "processing code"),
        ({"amount": 7770}, "amount"),
        ({"currency": "840"}, "currency"),
        ({"card": dataclasses.replace(CARD, pan_hash="hash-of-card-b")}, "card"),
        ({"emv": {"9F26": "8877665544332211", "9F36": "0007"}}, "cryptogram"),
        ({"emv": None}, "cryptogram"),
    ],
)
def test_each_changed_field_is_named(change: dict[str, Any], difference: str) -> None:
    """One field changed under the same key: exactly that field is reported."""
    assert repeat_differences(dataclasses.replace(SALE, **change), ORIGINAL) == [difference]


def test_several_changes_are_all_named_in_order() -> None:
    """Another amount and card at once: both are reported, in the documented order."""
    repeat = dataclasses.replace(SALE, amount=1, card=dataclasses.replace(CARD, pan_hash="other"))
    assert repeat_differences(repeat, ORIGINAL) == ["amount", "card"]


def test_a_reversal_describing_its_sale_matches() -> None:
    """Same card and full amount: the reversal may undo the sale."""
    assert reversal_mismatch(ORIGINAL, REVERSAL) is None


def test_a_reversal_without_pan_or_amount_matches_by_key_alone() -> None:
    """A reversal that sends no field 2 and no field 4 is judged by its key only."""
    bare = dataclasses.replace(REVERSAL, pan_hash=None, amount=0, amount_sent=False)
    assert reversal_mismatch(ORIGINAL, bare) is None


def test_a_reversal_with_another_amount_is_64() -> None:
    """A partial (or larger) amount is refused 64: neither dialect defines a partial reversal."""
    for amount in (100, 7770):
        refusal = reversal_mismatch(ORIGINAL, dataclasses.replace(REVERSAL, amount=amount))
        assert refusal is not None and refusal[0] == "64"


def test_a_reversal_with_another_card_is_25_before_the_amount() -> None:
    """Another card is 25, even when the amount differs too (the card is checked first)."""
    other = dataclasses.replace(REVERSAL, pan_hash="hash-of-card-b")
    assert reversal_mismatch(ORIGINAL, other) == ("25", "no original with this card; nothing reversed")
    both = dataclasses.replace(other, amount=1)
    refusal = reversal_mismatch(ORIGINAL, both)
    assert refusal is not None and refusal[0] == "25"


def test_an_original_without_a_card_hash_is_judged_by_amount() -> None:
    """An original stored without a card (none was read) cannot mismatch on the card."""
    assert reversal_mismatch({**ORIGINAL, "pan_hash": None}, REVERSAL) is None


@pytest.fixture
def stored_sale(sqlite_engine: Engine) -> Iterator[tuple[Connection, dict[str, Any]]]:
    """The reversed sale (batch 1 trace 42) in a migrated database, and the reversal stored for it."""
    with sqlite_engine.connect() as conn:
        sale_id = inserted_id(
            conn.execute(
                insert(transactions).values(
                    terminal_id=TERMINAL.terminal_id,
                    mti="0200",
                    txn_type="sale",
                    stan=42,
                    batch_no=1,
                    received_at=NOW,
                    amount=777,
                    currency="156",
                    pan_hash="hash-of-card-a",
                    response_code="00",
                    status="reversed",
                    response={},
                )
            )
        )
        reversal = {"original_id": sale_id, "amount": 777, "response": {"response_code": "00"}}
        yield conn, reversal


def test_a_repeated_reversal_naming_the_same_sale_matches(
    stored_sale: tuple[Connection, dict[str, Any]],
) -> None:
    """Same original, card and amount as the stored reversal: it is a true repeat."""
    conn, reversal = stored_sale
    assert reversal_repeat_differences(conn, reversal, REVERSAL) == []


@pytest.mark.parametrize(
    ("change", "difference"),
    [
        ({"original_stan": 41}, "original"),
        ({"original_batch": 2}, "original"),
        ({"original_type": "preauth", "original_mti": "0100"}, "original"),
        ({"pan_hash": "hash-of-card-b"}, "card"),
        ({"amount": 77}, "amount"),
    ],
)
def test_a_repeated_reversal_with_other_content_names_it(
    stored_sale: tuple[Connection, dict[str, Any]], change: dict[str, Any], difference: str
) -> None:
    """Another original (ascii87 field 90), card or amount under the stored reversal's key is named."""
    conn, reversal = stored_sale
    assert reversal_repeat_differences(conn, reversal, dataclasses.replace(REVERSAL, **change)) == [
        difference
    ]


def test_a_repeated_orphan_reversal_is_judged_by_what_it_named(
    stored_sale: tuple[Connection, dict[str, Any]],
) -> None:
    """An orphan reversal kept the original it named: the same one matches, another one or
    another amount does not."""
    conn, _ = stored_sale
    orphan = {
        "original_id": None,
        "amount": 777,
        "response": {"orphan_of": {"batch": 1, "stan": 42, "mti": "0200", "type": "sale"}},
    }
    assert reversal_repeat_differences(conn, orphan, REVERSAL) == []
    other = dataclasses.replace(REVERSAL, original_stan=43, amount=1)
    assert reversal_repeat_differences(conn, orphan, other) == ["original", "amount"]
