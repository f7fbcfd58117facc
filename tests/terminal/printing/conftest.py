"""A fixed receipt for the renderers' golden and content tests."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from PIL import Image, ImageDraw

from poskit.terminal.receipt import Receipt

# the test-card book's magstripe debit card (public test data); only its masked form is on a slip
FULL_PAN = "6217000012345670"


def fixed_receipt(**changes: object) -> Receipt:
    values: dict[str, object] = {
        "merchant_name": "快乐豆咖啡",
        "merchant_name_en": "Happy Bean Cafe",
        "merchant_no": "898310058120001",
        "terminal_id": "10000001",
        "operator": "01",
        "acquirer": "poskit 演示收单 Demo Acquirer",
        "issuer": "China Construction Bank",
        "card_masked": "621700******5670",
        "entry_mode": "swipe",
        "txn_type": "SALE",
        "batch_no": 1,
        "voucher_no": 42,
        "rrn": "632900000001",
        "auth_code": "442372",
        "date_time": "2024-05-01 12:34:56",
        "amount": "1,234.50",
        "currency": "CNY",
        "card_organisation": "CUP",
        "signature_required": True,
        "support_phone": "95516",
        "e_receipt_url": "http://127.0.0.1:8000/r/632900000001",
    }
    values.update(changes)
    return Receipt(**values)  # type: ignore[arg-type]


def signature_png() -> bytes:
    """A small bilevel zig-zag standing in for a cardholder's signature."""
    image = Image.new("1", (96, 32), 1)
    ImageDraw.Draw(image).line([(4, 26), (30, 4), (56, 28), (92, 6)], fill=0, width=3)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def receipt() -> Receipt:
    return fixed_receipt()


@pytest.fixture(scope="session")
def make_receipt() -> Callable[..., Receipt]:
    """``make_receipt(**changes)``: the fixed receipt with some fields changed."""
    return fixed_receipt


@pytest.fixture(scope="session")
def signature() -> bytes:
    return signature_png()


@pytest.fixture(scope="session")
def full_pan() -> str:
    return FULL_PAN
