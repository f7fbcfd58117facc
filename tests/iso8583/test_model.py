"""The neutral model: reprs that hide card data and keys, currency defaults."""

from __future__ import annotations

import pytest

from poskit.iso8583.model import (
    BatchItem,
    CardData,
    EntryMode,
    Request,
    Response,
    SignatureUpload,
    TxnType,
    WorkingKeys,
)
from poskit.money import Amount, currency

PAN = "6222021001123456789"


def test_card_repr_hides_everything_sensitive() -> None:
    """CardData shows the masked PAN and hides track, expiry and PIN block."""
    card = CardData(
        entry_mode=EntryMode.CHIP,
        pan=PAN,
        track2=PAN + "D2912201000001",
        expiry="2912",
        pin_block=bytes.fromhex("0123456789ABCDEF"),
        icc_data=b"\x5a\x08" + bytes.fromhex("6222021001123456"),
    )
    text = repr(card)
    assert "622202*********6789" in text
    for secret in (PAN, "2912", "0123456789", "6222021001123456"):
        assert secret not in text
    request = Request(
        TxnType.SALE, "TERM0001", "123456789012345", 1, 1, amount=Amount.of(100, "CNY"), card=card
    )
    assert PAN not in repr(request) and "2912201" not in repr(request)


def test_key_and_item_reprs_hide_secrets() -> None:
    """WorkingKeys show KCVs only; batch items mask the PAN; signatures show sizes."""
    keys = WorkingKeys(bytes(range(16)), b"\xaa" * 4, bytes(range(8)), b"\xbb" * 4)
    assert "000102" not in repr(keys) and "AAAAAAAA" in repr(keys)
    assert PAN not in repr(BatchItem(1, PAN, 100))
    assert "<3 bytes>" in repr(SignatureUpload(b"abc"))
    response = Response(
        TxnType.SIGN_ON, "00", "TERM0001", working_keys=keys, icc_data=b"\x91\x0a" + bytes(10)
    )
    assert "000102" not in repr(response) and "icc_data" not in repr(response)


def test_currency_defaults_to_the_amount_currency() -> None:
    """Request.currency follows the amount; a different one is refused."""
    request = Request(TxnType.SALE, "TERM0001", "123456789012345", 1, 1, amount=Amount.of(100, "NGN"))
    assert request.currency == currency("NGN")
    with pytest.raises(ValueError, match="currency"):
        Request(
            TxnType.SALE,
            "TERM0001",
            "123456789012345",
            1,
            1,
            amount=Amount.of(100, "NGN"),
            currency=currency("CNY"),
        )


def test_response_approved_follows_the_code_table() -> None:
    """Response.approved is true for 00 and false for 51."""
    assert Response(TxnType.SALE, "00", "TERM0001").approved
    assert not Response(TxnType.SALE, "51", "TERM0001").approved
