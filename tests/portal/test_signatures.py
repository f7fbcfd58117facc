"""Signatures (补签): the feature code, which transactions need one, and image checks."""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image, ImageDraw

from poskit.portal.data.signatures import (
    SignatureImageError,
    feature_code,
    needs_signature,
    normalise_signature_png,
    parse_png_data_url,
)


def test_feature_code_follows_the_reference_algorithm() -> None:
    """特征码 = hex(ASCII(F15 ‖ F37)[i] XOR [i+8]), i = 0..7 (china-pos-domain.md §1.12, worked by hand)."""
    # "1124332812345678": '1'^'1'=00 '1'^'2'=03 '2'^'3'=01 '4'^'4'=00
    #                     '3'^'5'=06 '3'^'6'=05 '2'^'7'=05 '8'^'8'=00
    assert feature_code("1124", "332812345678") == "0003010006050500"
    assert feature_code(None, None) == ""  # no settlement date or RRN yet: no feature code


@pytest.mark.parametrize(
    ("txn", "needed"),
    [
        ({"status": "approved", "txn_type": "sale", "signature_required": True}, True),
        ({"status": "approved", "txn_type": "refund", "signature_required": True}, True),
        ({"status": "authorized", "txn_type": "preauth", "signature_required": True}, True),
        ({"status": "completed", "txn_type": "preauth", "signature_required": True}, True),
        # PIN, the card's PIN, the phone, a small tap: the host stored "no signature"
        (
            {"status": "approved", "txn_type": "sale", "signature_required": False, "pin_entered": False},
            False,
        ),
        ({"status": "voided", "txn_type": "sale", "signature_required": True}, False),
        ({"status": "reversed", "txn_type": "sale", "signature_required": True}, False),
        ({"status": "declined", "txn_type": "sale", "signature_required": False}, False),
    ],
)
def test_which_transactions_need_a_signature(txn: dict[str, object], needed: bool) -> None:
    """The portal reads the host's stored answer of the rule, for transactions still in force."""
    assert needs_signature(txn) is needed


def _png(draw: bool = True, size: tuple[int, int] = (200, 80), mode: str = "RGBA") -> bytes:
    image = Image.new(mode, size, (255, 255, 255, 0) if mode == "RGBA" else "white")
    if draw:
        ImageDraw.Draw(image).line([(5, 70), (100, 5), (195, 60)], fill="black", width=4)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def test_signature_is_reencoded_as_a_bilevel_png() -> None:
    """A transparent canvas PNG becomes a 1-bit PNG on white, same size, without extra chunks."""
    original = _png() + b"trailing junk"
    clean = normalise_signature_png(
        parse_png_data_url("data:image/png;base64," + base64.b64encode(original).decode())
    )
    with Image.open(io.BytesIO(clean)) as image:
        assert image.mode == "1" and image.size == (200, 80)
    assert not clean.endswith(b"trailing junk")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"not an image", "not a PNG"),
        (_png(draw=False), "empty"),
        (_png(size=(8, 8)), "16..2000"),
    ],
)
def test_unusable_signatures_are_refused(data: bytes, reason: str) -> None:
    """Not a PNG, nothing drawn, or an absurd size: refused with the reason."""
    with pytest.raises(SignatureImageError, match=reason):
        normalise_signature_png(data)


def test_data_url_must_be_png_base64() -> None:
    """Only data:image/png;base64 URLs with valid base64 are accepted."""
    with pytest.raises(SignatureImageError, match="data:image/png"):
        parse_png_data_url("https://example.com/sig.png")
    with pytest.raises(SignatureImageError, match="damaged"):
        parse_png_data_url("data:image/png;base64,###")
