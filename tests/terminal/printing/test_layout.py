"""The printer-neutral receipt layout, column wrapping and the e-receipt QR code."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import segno
from hypothesis import given, settings
from hypothesis import strategies as st

from poskit.terminal.printing.layout import (
    PairLine,
    QrCode,
    SignatureImage,
    TextLine,
    UnknownPaperError,
    display_width,
    paper,
    receipt_blocks,
    report_blocks,
    wrap_columns,
)
from poskit.terminal.printing.qr import qr_matrix, qr_text
from poskit.terminal.receipt import Receipt, render_text


def _texts(receipt: Receipt, copy: str = "merchant") -> list[str]:
    out: list[str] = []
    for block in receipt_blocks(receipt, copy=copy):
        if isinstance(block, TextLine):
            out.append(block.text)
        elif isinstance(block, PairLine):
            out.append(f"{block.left}|{block.right}")
    return out


def test_display_width_counts_hanzi_as_two_columns() -> None:
    """CJK ideographs and full-width punctuation take two columns, ASCII one."""
    assert display_width("消费 SALE") == 9
    assert display_width("，") == 2
    assert display_width("") == 0


def test_wrap_breaks_at_spaces_and_keeps_long_tokens() -> None:
    """Words wrap at spaces; a URL longer than the line is cut, not lost."""
    assert wrap_columns("I ACKNOWLEDGE SATISFACTORY RECEIPT", 20) == ["I ACKNOWLEDGE", "SATISFACTORY RECEIPT"]
    url = "http://127.0.0.1:8000/r/632900000001"
    assert "".join(wrap_columns(url, 16)) == url
    with pytest.raises(ValueError, match="columns"):
        wrap_columns("x", 1)


@settings(max_examples=150, deadline=None)
@given(text=st.text(st.sampled_from("ab 中文，1-"), max_size=80), columns=st.integers(4, 48))
def test_wrapped_lines_fit_and_keep_every_visible_character(text: str, columns: int) -> None:
    """No wrapped line is wider than the roll and no non-space character is dropped."""
    lines = wrap_columns(text, columns)
    assert all(display_width(line) <= columns for line in lines)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")


def test_paper_lookup() -> None:
    """58/80 mm rolls have 32/48 columns and 384/576 dots; anything else is refused."""
    assert (paper("58").columns, paper("58mm").dots) == (32, 384)
    assert (paper("80mm").columns, paper("80").dots) == (48, 576)
    with pytest.raises(UnknownPaperError, match="57mm"):
        paper("57mm")


def test_receipt_has_the_jr_t_0001_elements(receipt: Receipt) -> None:
    """Merchant, terminal, operator, masked card with entry suffix, type, batch, voucher, ref, amount."""
    texts = _texts(receipt)
    assert "POS签购单" in texts and "商户存根 MERCHANT COPY" in texts
    assert "商户编号 MERCHANT NO.|898310058120001" in texts
    assert "终端编号 TERMINAL NO.|10000001" in texts and "操作员号 OPERATOR NO.|01" in texts
    assert "621700******5670 /S" in texts and "消费 SALE" in texts
    assert "批次号 BATCH NO.|000001" in texts and "凭证号 VOUCHER NO.|000042" in texts
    assert "参考号 REFER NO.|632900000001" in texts and "授权码 AUTH NO.|442372" in texts
    assert "CNY 1,234.50" in texts
    qr = [b for b in receipt_blocks(receipt) if isinstance(b, QrCode)]
    assert [q.data for q in qr] == [receipt.e_receipt_url]


def test_copies_reprint_and_waiver(make_receipt: Callable[..., Receipt]) -> None:
    """Cardholder copy label, REPRINT marker, and the no-signature waiver when a PIN was verified."""
    texts = _texts(
        make_receipt(reprint=True, signature_required=False, signature_waiver="PIN verified"),
        copy="cardholder",
    )
    assert "持卡人存根 CARDHOLDER COPY" in texts
    assert "重打印凭证 REPRINT / DUPLICATED" in texts
    assert "免签名 NO SIGNATURE REQUIRED" in texts and "(PIN verified)" in texts
    assert "持卡人签名 CARDHOLDER SIGNATURE:" not in texts


def test_void_shows_the_original_references(make_receipt: Callable[..., Receipt]) -> None:
    """A void names the original voucher, reference number and date."""
    texts = _texts(
        make_receipt(txn_type="VOID", original_voucher=41, original_rrn="632900000000", original_date="0501")
    )
    assert "消费撤销 VOID" in texts
    assert "原凭证号 ORIG VOUCHER: 000041" in texts and "原参考号 ORIG REF: 632900000000" in texts


def test_signature_image_replaces_the_signing_line(
    make_receipt: Callable[..., Receipt], signature: bytes
) -> None:
    """A signed receipt carries the image (kept as base64 PNG in the model) and the feature code."""
    signed = make_receipt().with_signature(signature, feature_code="0A1B2C3D4E5F6071")
    assert signed.signature_png() == signature
    assert Receipt.from_json(signed.to_json()).signature_png() == signature
    blocks = receipt_blocks(signed)
    assert [b.png for b in blocks if isinstance(b, SignatureImage)] == [signature]
    assert "特征码 FEATURE CODE|0A1B2C3D4E5F6071" in _texts(signed)
    assert "0A1B2C3D4E5F6071" in render_text(signed)
    assert "signature_image" not in repr(signed)


def test_report_blocks_are_monospaced() -> None:
    """Report lines keep the printer's column grid."""
    blocks = report_blocks("结算单", ["a   b"])
    assert [b for b in blocks if isinstance(b, TextLine) and b.mono] == [TextLine("a   b", mono=True)]


def test_qr_matrix_is_segnos_symbol_and_text_has_two_rows_per_line() -> None:
    """The module matrix is segno's; the half-block text draws two module rows per line."""
    url = "http://127.0.0.1:8000/r/632900000001"
    matrix = qr_matrix(url)
    expected = [[bool(m) for m in row] for row in segno.make(url, error="m").matrix_iter(scale=1, border=0)]
    assert matrix == expected
    lines = qr_text(url, border=2)
    size = len(expected) + 4
    assert len(lines) == (size + 1) // 2 and all(len(line) == size for line in lines)
    assert lines[0] == "█" * size  # the quiet zone is light


@pytest.mark.parametrize("renderer", ["blocks", "text"])
def test_an_unsigned_cardholder_copy_never_claims_a_signature(
    make_receipt: Callable[..., Receipt], renderer: str
) -> None:
    """A slip due a paper signature and not signed yet: the cardholder copy points to the
    merchant copy, it never prints 持卡人已签名 SIGNED BY CARDHOLDER; the merchant copy has the line."""
    from poskit.terminal.receipt import CARDHOLDER_SIGNS_MERCHANT_COPY, render_text

    unsigned = make_receipt(signature_required=True, signature_waiver="")
    if renderer == "blocks":
        cardholder, merchant = "\n".join(_texts(unsigned, copy="cardholder")), "\n".join(_texts(unsigned))
    else:
        cardholder, merchant = render_text(unsigned, copy="cardholder"), render_text(unsigned)
    assert "SIGNED BY CARDHOLDER" not in cardholder and "已签名" not in cardholder
    assert CARDHOLDER_SIGNS_MERCHANT_COPY in cardholder
    assert "持卡人签名 CARDHOLDER SIGNATURE:" in merchant


@pytest.mark.parametrize("renderer", ["blocks", "text"])
def test_a_balance_slip_shows_the_balance_not_an_amount(
    make_receipt: Callable[..., Receipt], renderer: str
) -> None:
    """A balance inquiry slip: AVAILABLE BALANCE with the balance, no AMOUNT line, nothing to sign."""
    from poskit.terminal.receipt import render_text

    slip = make_receipt(txn_type="BALANCE", amount="8,000.00", signature_required=False)
    text = (
        "\n".join(_texts(slip, copy="cardholder"))
        if renderer == "blocks"
        else render_text(slip, copy="cardholder")
    )
    assert "可用余额 AVAILABLE BALANCE" in text and "8,000.00" in text
    assert "金额 AMOUNT" not in text and "SIGNATURE" not in text


def test_an_english_slip_has_no_chinese_labels_but_keeps_its_data() -> None:
    """language "en": every label loses its Chinese, the QR caption and the Chinese half of the
    acknowledgement go, the merchant is named once in English; a "zh" slip keeps both languages."""
    import dataclasses as _dc

    from poskit.terminal.printing.layout import PairLine, QrCode, TextLine, receipt_blocks
    from poskit.terminal.receipt import Receipt

    bilingual = Receipt(
        "快乐豆咖啡", "Happy Bean Cafe", "898310058120001", "10000001", "01", "演示收单 Demo Acquirer",
        "ICBC", "622202*********6789", "chip", "SALE", 1, 3, "634200000001", "123456",
        "2026-12-08 09:00:00", "66.00", "CNY", signature_required=True, e_receipt_url="http://x/r/t",
    )  # fmt: skip
    english = _dc.replace(bilingual, language="en")

    def texts(receipt: Receipt) -> list[str]:
        out: list[str] = []
        for block in receipt_blocks(receipt, copy="merchant"):
            if isinstance(block, TextLine):
                out.append(block.text)
            elif isinstance(block, PairLine):
                out += [block.left, block.right]
            elif isinstance(block, QrCode):
                out.append(block.caption)
        return out

    en = texts(english)
    assert "POS SALES SLIP" in en and "MERCHANT NO." in en and "Happy Bean Cafe" in en
    assert "快乐豆咖啡" not in en  # named once, in English
    assert "演示收单 Demo Acquirer" in en  # data is printed as it is
    assert not any("\u4e00" <= ch <= "\u9fff" for t in en if t != "演示收单 Demo Acquirer" for ch in t), en
    zh = texts(bilingual)
    assert "POS签购单" in zh and "商户编号 MERCHANT NO." in zh and "快乐豆咖啡" in zh


def test_slip_language_is_bilingual_in_china_and_english_for_english_merchants_elsewhere() -> None:
    """A Chinese terminal prints the 签购单 in both languages even with an English screen; a Lagos
    (566) merchant in English gets English only; a Chinese-speaking merchant abroad keeps both."""
    from poskit.terminal.receipt import slip_language

    assert slip_language("en", "156") == "zh" and slip_language("zh_CN", "156") == "zh"
    assert slip_language("en", "566") == "en"
    assert slip_language("zh_CN", "566") == "zh"
