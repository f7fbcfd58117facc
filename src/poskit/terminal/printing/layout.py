"""One receipt layout for every printer: the 签购单 as a list of blocks.

The PDF and ESC/POS renderers draw the same blocks, so a merchant sees the same slip
whatever prints it. The content follows JR/T 0001-2001 §8 (merchant identification,
transaction elements, remarks and signature) with Chinese and English labels, and
ends with a QR code linking to the e-receipt in the portal.
"""

from __future__ import annotations

import dataclasses
import unicodedata
from typing import Literal

from poskit.terminal.receipt import (
    CARDHOLDER_SIGNS_MERCHANT_COPY,
    COPIES,
    ENTRY_SUFFIX,
    TXN_NAMES,
    Receipt,
    amount_label,
    slip_label,
)

__all__ = [
    "PAPERS",
    "Align",
    "Block",
    "PairLine",
    "Paper",
    "QrCode",
    "Rule",
    "SignatureImage",
    "Space",
    "TextLine",
    "UnknownPaperError",
    "char_width",
    "display_width",
    "paper",
    "receipt_blocks",
    "report_blocks",
    "wrap_columns",
]

Align = Literal["left", "center", "right"]

ACKNOWLEDGEMENT = (
    "本人确认以上交易，同意将其记入本卡账户",
    "I ACKNOWLEDGE SATISFACTORY RECEIPT OF RELATIVE GOODS/SERVICES",
)


class UnknownPaperError(ValueError):
    """A paper width the renderers do not know."""

    def __init__(self, name: str) -> None:
        super().__init__(f"unknown paper {name!r}: use one of {', '.join(PAPERS)}")
        self.name = name


@dataclasses.dataclass(frozen=True, slots=True)
class Paper:
    """A thermal roll: physical width, printable width, font-A columns and print-head dots."""

    name: str
    width_mm: float
    printable_mm: float
    columns: int
    dots: int


PAPERS = {
    "58mm": Paper("58mm", 58.0, 48.0, 32, 384),
    "80mm": Paper("80mm", 80.0, 72.0, 48, 576),
}


def paper(name: str | Paper) -> Paper:
    """The paper called ``58mm`` / ``80mm`` (``58`` and ``80`` work too)."""
    if isinstance(name, Paper):
        return name
    key = name if name.endswith("mm") else f"{name}mm"
    try:
        return PAPERS[key]
    except KeyError:
        raise UnknownPaperError(name) from None


@dataclasses.dataclass(frozen=True, slots=True)
class TextLine:
    text: str
    align: Align = "left"
    bold: bool = False
    double: bool = False  # double width and height (title, amount)
    mono: bool = False  # keep the column grid of a thermal printer (reports aligned with spaces)


@dataclasses.dataclass(frozen=True, slots=True)
class PairLine:
    """A label on the left and its value on the right; wraps to two lines when too long."""

    left: str
    right: str
    bold: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class Rule:
    char: str = "-"


@dataclasses.dataclass(frozen=True, slots=True)
class Space:
    lines: int = 1


@dataclasses.dataclass(frozen=True, slots=True)
class QrCode:
    data: str
    caption: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class SignatureImage:
    png: bytes = dataclasses.field(repr=False)


Block = TextLine | PairLine | Rule | Space | QrCode | SignatureImage


def char_width(ch: str) -> int:
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in "WF" else 1


def display_width(text: str) -> int:
    """Columns on a thermal printer or terminal: CJK characters take two."""
    return sum(char_width(ch) for ch in text)


def wrap_columns(text: str, columns: int) -> list[str]:
    """Wrap ``text`` to ``columns`` display columns, breaking at a space where one is near."""
    if columns < 2:
        raise ValueError(f"cannot wrap to {columns} columns")
    lines: list[str] = []
    rest = text
    while display_width(rest) > columns:
        used, cut = 0, 0
        for i, ch in enumerate(rest):
            w = char_width(ch)
            if used + w > columns:
                break
            used += w
            cut = i + 1
        space = rest.rfind(" ", 0, cut + 1)
        # break at a space unless that leaves the line mostly empty (long tokens such as URLs)
        if space > 0 and display_width(rest[:space]) >= columns // 2:
            lines.append(rest[:space].rstrip())
            rest = rest[space + 1 :]
        else:
            lines.append(rest[:cut])
            rest = rest[cut:]
    lines.append(rest)
    return lines


def _remarks(receipt: Receipt) -> list[TextLine]:
    out: list[TextLine] = []
    if receipt.reprint:
        out.append(TextLine("重打印凭证 REPRINT / DUPLICATED", bold=True))
    out += [TextLine(r) for r in receipt.remarks]
    if receipt.original_voucher is not None:
        out.append(TextLine(f"原凭证号 ORIG VOUCHER: {receipt.original_voucher:06d}"))
    if receipt.original_rrn:
        out.append(TextLine(f"原参考号 ORIG REF: {receipt.original_rrn}"))
    if receipt.original_date:
        out.append(TextLine(f"原交易日期 ORIG DATE: {receipt.original_date}"))
    return out or [TextLine("-")]


def _signature(receipt: Receipt, copy: str) -> list[Block]:
    if not receipt.signature_required:
        waiver = receipt.signature_waiver or "no signature required"
        return [TextLine("免签名 NO SIGNATURE REQUIRED"), TextLine(f"({waiver})")]
    png = receipt.signature_png()
    blocks: list[Block] = [TextLine("持卡人签名 CARDHOLDER SIGNATURE:")]
    if png is not None:
        blocks.append(SignatureImage(png))
        if receipt.feature_code:
            blocks.append(PairLine("特征码 FEATURE CODE", receipt.feature_code))
    elif copy == "cardholder":
        blocks.append(TextLine(f"({CARDHOLDER_SIGNS_MERCHANT_COPY})"))
    else:
        blocks += [Space(2), Rule("_")]
    blocks += [TextLine(line) for line in ACKNOWLEDGEMENT]
    return blocks


def receipt_blocks(receipt: Receipt, *, copy: str = "merchant") -> list[Block]:
    """The slip for one copy (merchant / cardholder / bank) as printer-neutral blocks, in the slip's
    language: on an English slip every label loses its Chinese (the data stays as printed)."""
    blocks = _bilingual_blocks(receipt, copy=copy)
    if receipt.language != "en":
        return blocks
    # the merchant once, in English, when it has an English name
    other_name = (
        receipt.merchant_name if receipt.merchant_name_en not in ("", receipt.merchant_name) else None
    )
    data = {receipt.merchant_name, receipt.merchant_name_en}
    out: list[Block] = []
    for block in blocks:
        if isinstance(block, TextLine) and other_name is not None and block.text == other_name:
            continue
        if isinstance(block, PairLine):
            block = dataclasses.replace(block, left=slip_label(receipt, block.left))
        elif isinstance(block, TextLine) and block.text not in data:
            block = dataclasses.replace(block, text=slip_label(receipt, block.text))
            if not block.text:
                continue  # a Chinese-only line (the acknowledgement's first line)
        elif isinstance(block, QrCode):
            block = dataclasses.replace(block, caption=slip_label(receipt, block.caption))
        out.append(block)
    return out


def _bilingual_blocks(receipt: Receipt, *, copy: str) -> list[Block]:
    copy_zh, copy_en = COPIES.get(copy, COPIES["merchant"])
    txn_zh, txn_en = TXN_NAMES.get(receipt.txn_type, (receipt.txn_type, receipt.txn_type))
    blocks: list[Block] = [
        TextLine("POS签购单", align="center", bold=True, double=True),
        TextLine(f"{copy_zh} {copy_en}", align="center"),
    ]
    if receipt.reprint:
        blocks.append(TextLine("重打印 REPRINT", align="center", bold=True))
    blocks += [
        Rule(),
        TextLine("商户名称 MERCHANT NAME:"),
        TextLine(receipt.merchant_name, bold=True),
    ]
    if receipt.merchant_name_en and receipt.merchant_name_en != receipt.merchant_name:
        blocks.append(TextLine(receipt.merchant_name_en, bold=True))
    blocks += [
        PairLine("商户编号 MERCHANT NO.", receipt.merchant_no),
        PairLine("终端编号 TERMINAL NO.", receipt.terminal_id),
        PairLine("操作员号 OPERATOR NO.", receipt.operator or "-"),
        Rule(),
        PairLine("收单行 ACQUIRER", receipt.acquirer or "-"),
        PairLine("发卡行 ISSUER", receipt.issuer or "-"),
        TextLine("卡号 CARD NO.:"),
        TextLine(f"{receipt.card_masked} /{ENTRY_SUFFIX.get(receipt.entry_mode, '?')}", bold=True),
    ]
    if receipt.card_organisation:
        blocks.append(PairLine("卡组织 CARD ORG.", receipt.card_organisation))
    blocks += [
        TextLine("交易类型 TRANS TYPE:"),
        TextLine(f"{txn_zh} {txn_en}", bold=True),
        PairLine("批次号 BATCH NO.", f"{receipt.batch_no:06d}"),
        PairLine("凭证号 VOUCHER NO.", f"{receipt.voucher_no:06d}"),
        PairLine("授权码 AUTH NO.", receipt.auth_code or "-"),
        PairLine("参考号 REFER NO.", receipt.rrn or "-"),
        PairLine("日期/时间 DATE/TIME", receipt.date_time),
        Rule(),
        TextLine(f"{amount_label(receipt)}:"),
        TextLine(f"{receipt.currency} {receipt.amount}", align="right", bold=True, double=True),
        Rule(),
    ]
    if receipt.aid:
        blocks += [
            PairLine("AID", receipt.aid),
            PairLine("APP LABEL", receipt.app_label or "-"),
            PairLine("TC/ARQC", receipt.cryptogram or "-"),
            PairLine("TVR", receipt.tvr or "-"),
            PairLine("TSI", receipt.tsi or "-"),
            Rule(),
        ]
    blocks.append(TextLine("备注 REFERENCE:"))
    blocks += _remarks(receipt)
    blocks.append(Rule())
    if receipt.txn_type != "BALANCE":  # a balance slip has nothing to sign
        blocks += _signature(receipt, copy)
    if receipt.support_phone:
        blocks.append(PairLine("客服电话 SUPPORT", receipt.support_phone))
    if receipt.e_receipt_url:
        blocks += [
            Space(),
            QrCode(receipt.e_receipt_url, caption="扫码查看电子签购单"),
            TextLine("SCAN FOR THE E-RECEIPT", align="center"),
        ]
    blocks += [TextLine(f"{copy_zh} {copy_en}", align="center"), Space(2)]
    return blocks


def report_blocks(title: str, lines: list[str]) -> list[Block]:
    """A report (e.g. the settlement report) whose lines are already laid out in columns."""
    blocks: list[Block] = [TextLine(title, align="center", bold=True), Rule()]
    blocks += [TextLine(line, mono=True) for line in lines]
    blocks += [Rule(), Space(2)]
    return blocks
