"""The receipt (签购单): one model, rendered as text here and as PDF / ESC/POS elsewhere.

Content follows JR/T 0001-2001 §8 and common UnionPay terminal layouts: merchant
identification, transaction elements, and the signature section, with a merchant
copy and a cardholder copy. Only the masked card number (first 6 / last 4) ever
appears on a receipt.
"""

from __future__ import annotations

import base64
import dataclasses
import re
import unicodedata
from typing import Any

__all__ = [
    "BILINGUAL_MARKETS",
    "CARDHOLDER_SIGNS_MERCHANT_COPY",
    "COPIES",
    "ENTRY_SUFFIX",
    "TXN_NAMES",
    "Receipt",
    "amount_label",
    "e_receipt_url",
    "render_text",
    "slip_label",
    "slip_language",
]

#: an e-receipt link ends in the host's 22-character token (docs/protocol.md §3.7)
_TOKEN_LINK = re.compile(r"/r/[A-Za-z0-9_-]{22}$")

COPIES = {
    "merchant": ("商户存根", "MERCHANT COPY"),
    "cardholder": ("持卡人存根", "CARDHOLDER COPY"),
    "bank": ("银行存根", "BANK COPY"),
}

TXN_NAMES = {
    "SALE": ("消费", "SALE"),
    "VOID": ("消费撤销", "VOID"),
    "REFUND": ("退货", "REFUND"),
    "PREAUTH": ("预授权", "AUTH"),
    "PREAUTH_VOID": ("预授权撤销", "AUTH VOID"),
    "COMPLETION": ("预授权完成", "AUTH COMPLETE"),
    "COMPLETION_VOID": ("预授权完成撤销", "AUTH COMPLETE VOID"),
    "COMPLETION_ADVICE": ("预授权完成通知", "AUTH COMPLETE ADVICE"),
    "BALANCE": ("余额查询", "BALANCE"),
}

#: The cardholder copy of a slip signed on paper: the signature is on the merchant copy, and
#: may still be missing (补签), so this copy never claims it was signed.
CARDHOLDER_SIGNS_MERCHANT_COPY = "持卡人签名见商户存根 SIGNATURE ON THE MERCHANT COPY"

ENTRY_SUFFIX = {"swipe": "S", "chip": "I", "tap": "C", "manual": "M", "fallback": "S"}


@dataclasses.dataclass(frozen=True)
class Receipt:
    """Everything printed on one transaction slip (no sensitive card data)."""

    merchant_name: str
    merchant_name_en: str
    merchant_no: str
    terminal_id: str
    operator: str
    acquirer: str
    issuer: str
    card_masked: str
    entry_mode: str  # swipe | chip | tap | manual | fallback
    txn_type: str
    batch_no: int
    voucher_no: int
    rrn: str
    auth_code: str
    date_time: str  # YYYY-MM-DD HH:MM:SS local time of the terminal
    amount: str  # e.g. "1,234.50"
    currency: str  # e.g. CNY
    card_organisation: str = ""
    signature_required: bool = False
    signature_waiver: str = ""  # e.g. "PIN VERIFIED" or "small amount, no signature"
    reprint: bool = False
    original_voucher: int | None = None
    original_rrn: str | None = None
    original_date: str | None = None
    aid: str = ""
    app_label: str = ""
    cryptogram: str = ""  # TC/ARQC, for chip receipts
    tvr: str = ""
    tsi: str = ""
    support_phone: str = ""
    e_receipt_url: str = ""
    remarks: tuple[str, ...] = ()
    # the captured e-signature as a base64 PNG (bilevel), so the model stays JSON; "" when none
    signature_image: str = dataclasses.field(default="", repr=False)
    feature_code: str = ""  # 特征码 from settlement date + RRN (reference §1.12)
    # "zh": the UnionPay slip's Chinese and English labels; "en": English only (e.g. a Lagos merchant)
    language: str = "zh"

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Receipt:
        fields = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in fields}
        if "remarks" in values:
            values["remarks"] = tuple(values["remarks"])
        return cls(**values)

    def as_reprint(self) -> Receipt:
        """The slip marked REPRINT. A link of the old ``/r/<RRN>`` form (slips printed before
        e-receipt tokens) opens nothing any more, so it is left off rather than reprinted."""
        link = self.e_receipt_url if _TOKEN_LINK.search(self.e_receipt_url) else ""
        return dataclasses.replace(self, reprint=True, e_receipt_url=link)

    def signature_png(self) -> bytes | None:
        """The e-signature image (PNG bytes), or None when the slip has none."""
        return base64.b64decode(self.signature_image) if self.signature_image else None

    def with_signature(self, png: bytes, *, feature_code: str | None = None) -> Receipt:
        """This receipt carrying the cardholder's e-signature image."""
        return dataclasses.replace(
            self,
            signature_image=base64.b64encode(png).decode("ascii"),
            feature_code=self.feature_code if feature_code is None else feature_code,
        )


def e_receipt_url(portal_url: str, token: str | None) -> str:
    """The cardholder's link to the receipt: the portal's ``/r/`` page and the host's token ("" if none)."""
    if not token or not portal_url:
        return ""
    return f"{portal_url.rstrip('/')}/r/{token}"


def amount_label(receipt: Receipt) -> str:
    """The amount line's label: a balance slip shows the available balance there."""
    return "可用余额 AVAILABLE BALANCE" if receipt.txn_type == "BALANCE" else "金额 AMOUNT"


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pair(left: str, right: str, width: int) -> str:
    gap = width - _width(left) - _width(right)
    if gap < 1:
        return f"{left}\n{' ' * max(0, width - _width(right))}{right}"
    return left + " " * gap + right


#: A Chinese label word in front of its English one ("商户名称 MERCHANT NAME"): dropped on English slips.
_CHINESE_LABEL = re.compile(r"[\u4e00-\u9fff][\u3000-\u303f\u4e00-\u9fff\uff00-\uffef/]* +(?=[A-Za-z(\[])")
#: Labels with no English words in them, and their English.
_CHINESE_ONLY = {
    "POS签购单": "POS SALES SLIP",
    "本人确认以上交易，同意将其记入本卡账户": "",
    "扫码查看电子签购单": "",
}


#: Markets whose slips are printed in Chinese and English whatever the terminal's screen language
#: (the UnionPay POS slip, 签购单): China.
BILINGUAL_MARKETS = frozenset({"156"})


def slip_language(language: str | None, country: str | None = None) -> str:
    """The slip's language: Chinese and English in China (the 签购单 convention) and for Chinese
    merchants elsewhere; English only for an English-speaking merchant outside China (e.g. Lagos)."""
    if country in BILINGUAL_MARKETS:
        return "zh"
    return "en" if (language or "").lower().startswith("en") else "zh"


def slip_label(receipt: Receipt, label: str) -> str:
    """A printed label in the slip's language: both languages, or only the English of it."""
    if receipt.language != "en":
        return label
    if label in _CHINESE_ONLY:
        return _CHINESE_ONLY[label]
    return _CHINESE_LABEL.sub("", label)


def render_text(receipt: Receipt, *, copy: str = "merchant", width: int = 42) -> str:
    """A thermal-printer style text rendering (CJK counted as two columns)."""
    english = receipt.language == "en"

    def label(text: str) -> str:
        return slip_label(receipt, text)

    zh, en = COPIES.get(copy, COPIES["merchant"])
    txn_zh, txn_en = TXN_NAMES.get(receipt.txn_type, (receipt.txn_type, receipt.txn_type))
    rule = "-" * width
    lines = [
        label("POS签购单").center(width - 2),
        label(f"{zh} {en}"),
        rule,
        label("商户名称 MERCHANT NAME:"),
    ]
    if english and receipt.merchant_name_en:
        lines.append(f"  {receipt.merchant_name_en}")  # an English slip names the merchant once, in English
    else:
        lines.append(f"  {receipt.merchant_name}")
        if receipt.merchant_name_en and receipt.merchant_name_en != receipt.merchant_name:
            lines.append(f"  {receipt.merchant_name_en}")
    lines += [
        label(f"商户编号 MERCHANT NO.: {receipt.merchant_no}"),
        _pair(
            label(f"终端编号 TERMINAL: {receipt.terminal_id}"), label(f"操作员 OP: {receipt.operator}"), width
        ),
        rule,
        label("收单行 ACQUIRER:") + f" {receipt.acquirer}",
        label("发卡行 ISSUER:") + f" {receipt.issuer}",
        label("卡号 CARD NO.:"),
        f"  {receipt.card_masked} /{ENTRY_SUFFIX.get(receipt.entry_mode, '?')}"
        + (f"  {receipt.card_organisation}" if receipt.card_organisation else ""),
        label(f"交易类型 TRANS TYPE: {txn_zh} {txn_en}"),
        _pair(
            label(f"批次号 BATCH: {receipt.batch_no:06d}"),
            label(f"凭证号 VOUCHER: {receipt.voucher_no:06d}"),
            width,
        ),
        _pair(label(f"授权码 AUTH: {receipt.auth_code or '-'}"), "", width).rstrip(),
        label(f"参考号 REF NO.: {receipt.rrn or '-'}"),
        label(f"日期时间 DATE/TIME: {receipt.date_time}"),
        rule,
        label(f"{amount_label(receipt)}:") + f" {receipt.currency} {receipt.amount}",
        rule,
    ]
    if receipt.aid:
        lines += [
            f"AID: {receipt.aid}  {receipt.app_label}".rstrip(),
            f"TC/ARQC: {receipt.cryptogram}",
            f"TVR: {receipt.tvr}  TSI: {receipt.tsi}",
        ]
    remarks = [label(r) for r in receipt.remarks]
    if receipt.reprint:
        remarks.insert(0, label("重打印凭证 REPRINT / DUPLICATED"))
    if receipt.original_voucher is not None:
        remarks.append(label(f"原凭证号 ORIG VOUCHER: {receipt.original_voucher:06d}"))
    if receipt.original_rrn:
        remarks.append(label(f"原参考号 ORIG REF: {receipt.original_rrn}"))
    if receipt.original_date:
        remarks.append(label(f"原交易日期 ORIG DATE: {receipt.original_date}"))
    lines.append(label("备注 REFERENCE:"))
    lines += [f"  {r}" for r in remarks] or ["  -"]
    lines.append(rule)
    if receipt.txn_type == "BALANCE":
        pass  # a balance slip has nothing to sign
    elif receipt.signature_required and receipt.signature_image:
        lines.append(label("持卡人签名 CARDHOLDER SIGNATURE: [电子签名 E-SIGNATURE]"))
        if receipt.feature_code:
            lines.append(label(f"特征码 FEATURE CODE: {receipt.feature_code}"))
    elif copy != "cardholder" and receipt.signature_required:
        lines += [label("持卡人签名 CARDHOLDER SIGNATURE:"), "", "", "_" * width]
        if not english:
            lines.append("本人确认以上交易，同意将其记入本卡账户")
        lines += ["I ACKNOWLEDGE SATISFACTORY RECEIPT", "OF RELATIVE GOODS/SERVICES"]
    elif receipt.signature_required:
        lines.append(label(CARDHOLDER_SIGNS_MERCHANT_COPY))
    else:
        waiver = receipt.signature_waiver or "no signature required"
        lines.append(label(f"免签名 NO SIGNATURE REQUIRED ({waiver})"))
    if receipt.support_phone:
        lines.append(label("客服电话 SUPPORT:") + f" {receipt.support_phone}")
    if receipt.e_receipt_url:
        lines.append(label("电子签购单 E-RECEIPT:") + f" {receipt.e_receipt_url}")
    return "\n".join(lines) + "\n"
