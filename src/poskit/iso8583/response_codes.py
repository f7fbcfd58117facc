"""Response codes (field 39): the one table of texts and terminal actions.

Texts follow the UnionPay POS terminal table (china-pos-domain.md §1.8) and common
ISO 8583 usage. ``action`` is what the terminal does with the answer. Codes 06, 98
and A0 double as reversal reasons in a 0400/0420 (06 response unusable, 98 no
response, A0 response MAC wrong).
"""

from __future__ import annotations

import dataclasses
import enum

__all__ = [
    "APPROVED",
    "FORMAT_ERROR",
    "FUNCTION_NOT_SUPPORTED",
    "INVALID_TRANSACTION",
    "MAC_ERROR",
    "RESPONSE_CODES",
    "REVERSAL_MAC_ERROR",
    "REVERSAL_REASONS",
    "REVERSAL_TIMEOUT",
    "REVERSAL_UNUSABLE_RESPONSE",
    "ResponseCode",
    "TerminalAction",
    "is_approved",
    "response_info",
    "response_text",
    "terminal_action",
]


class TerminalAction(enum.StrEnum):
    """What the terminal does when it receives the code."""

    APPROVED = "approved"
    DECLINED = "declined"
    CALL_ISSUER = "call_issuer"
    PICK_UP = "pick_up"
    REENTER_PIN = "reenter_pin"
    USE_CHIP = "use_chip"
    RETRY = "retry"
    SIGN_ON = "sign_on"
    CONTACT_ACQUIRER = "contact_acquirer"


@dataclasses.dataclass(frozen=True, slots=True)
class ResponseCode:
    """One response code: texts in English and Chinese, and the terminal action."""

    code: str
    en: str
    zh: str
    action: TerminalAction

    @property
    def approved(self) -> bool:
        return self.action is TerminalAction.APPROVED

    def text(self, lang: str = "en") -> str:
        return self.zh if lang.lower().startswith("zh") else self.en


_A = TerminalAction
_TABLE: tuple[tuple[str, str, str, TerminalAction], ...] = (
    ("00", "Approved", "承兑或交易成功", _A.APPROVED),
    ("01", "Refer to card issuer", "请持卡人与发卡银行联系", _A.CALL_ISSUER),
    ("03", "Invalid merchant", "无效商户", _A.CONTACT_ACQUIRER),
    ("04", "Pick up card", "此卡被没收", _A.PICK_UP),
    ("05", "Do not honour: cardholder verification failed", "持卡人认证失败", _A.DECLINED),
    ("06", "Error", "出错", _A.DECLINED),
    ("10", "Partial approval: show the approved amount", "显示部分批准金额，提示操作员", _A.APPROVED),
    ("11", "Approved (VIP)", "成功，VIP客户", _A.APPROVED),
    ("12", "Invalid transaction", "无效交易", _A.DECLINED),
    ("13", "Invalid amount", "无效金额", _A.DECLINED),
    ("14", "Invalid card number", "无效卡号", _A.DECLINED),
    ("15", "No such issuer", "此卡无对应发卡方", _A.DECLINED),
    ("21", "Card not initialised", "该卡未初始化或睡眠卡", _A.DECLINED),
    ("22", "Wrong operation or beyond the allowed days", "操作有误，或超出交易允许天数", _A.DECLINED),
    ("25", "Original transaction not found", "没有原始交易，请联系发卡方", _A.DECLINED),
    ("30", "Format error, please retry", "报文格式错误，请重试", _A.RETRY),
    ("34", "Suspected fraud, pick up card", "作弊卡，吞卡", _A.PICK_UP),
    ("38", "PIN tries exceeded, contact the issuer", "密码错误次数超限，请与发卡方联系", _A.CALL_ISSUER),
    ("40", "Function not supported", "发卡方不支持的交易类型", _A.DECLINED),
    ("41", "Lost card, pick up", "挂失卡，请没收", _A.PICK_UP),
    ("43", "Stolen card, pick up", "被窃卡，请没收", _A.PICK_UP),
    ("45", "Please insert the chip card", "请使用芯片", _A.USE_CHIP),
    ("51", "Insufficient funds", "可用余额不足", _A.DECLINED),
    ("54", "Expired card", "该卡已过期", _A.DECLINED),
    ("55", "Incorrect PIN", "密码错", _A.REENTER_PIN),
    ("57", "Transaction not permitted to the cardholder", "不允许持卡人进行的交易", _A.DECLINED),
    ("58", "Transaction not permitted on this terminal", "发卡方不允许该卡在本终端进行此交易", _A.DECLINED),
    ("59", "Card verification error", "卡片校验错", _A.DECLINED),
    ("61", "Amount limit exceeded", "交易金额超限", _A.DECLINED),
    ("62", "Restricted card", "受限制的卡", _A.DECLINED),
    ("64", "Amount does not match the original transaction", "交易金额与原交易不匹配", _A.DECLINED),
    ("65", "Transaction count limit exceeded", "超出消费次数限制", _A.DECLINED),
    ("68", "Response timed out, please retry", "交易超时，请重试", _A.RETRY),
    ("75", "PIN tries exceeded", "允许的输入PIN次数超限", _A.DECLINED),
    ("77", "Batch mismatch, sign on again", "批次号不一致，请重新签到", _A.SIGN_ON),
    ("90", "Day-end cut-off in progress, retry later", "正在日终处理，请稍后重试", _A.RETRY),
    ("91", "Issuer or switch inoperative", "发卡方或交换中心不能操作", _A.RETRY),
    ("92", "Issuer cannot be reached", "金融机构或中间网络设施找不到或无法达到", _A.RETRY),
    ("94", "Duplicate transmission", "重复交易", _A.DECLINED),
    ("96", "System malfunction, retry later", "交换中心异常，请稍后重试", _A.RETRY),
    ("97", "Terminal not registered", "终端未登记", _A.CONTACT_ACQUIRER),
    ("98", "Issuer response timed out", "发卡方超时", _A.RETRY),
    ("99", "PIN format error, sign on again", "PIN格式错，请重新签到", _A.SIGN_ON),
    ("A0", "MAC error, sign on again", "MAC校验错，请重新签到", _A.SIGN_ON),
    ("A2", "Approved (with defect: check the transaction)", "有缺陷的成功", _A.APPROVED),
    ("A4", "Approved (with defect: check the transaction)", "有缺陷的成功", _A.APPROVED),
    ("A5", "Approved (with defect: check the transaction)", "有缺陷的成功", _A.APPROVED),
    ("A6", "Approved (with defect: check the transaction)", "有缺陷的成功", _A.APPROVED),
    ("A7", "Security processing failed, sign on again", "安全处理失败，请重新签到", _A.SIGN_ON),
)

#: Every known code, keyed by its two characters.
RESPONSE_CODES: dict[str, ResponseCode] = {c: ResponseCode(c, en, zh, a) for c, en, zh, a in _TABLE}

APPROVED = "00"
FORMAT_ERROR = "30"
INVALID_TRANSACTION = "12"
FUNCTION_NOT_SUPPORTED = "40"
MAC_ERROR = "A0"
REVERSAL_TIMEOUT = "98"
REVERSAL_UNUSABLE_RESPONSE = "06"
REVERSAL_MAC_ERROR = "A0"
#: Field 39 values a terminal puts in a reversal (冲正原因).
REVERSAL_REASONS = (REVERSAL_TIMEOUT, REVERSAL_UNUSABLE_RESPONSE, REVERSAL_MAC_ERROR)


def response_info(code: str) -> ResponseCode:
    """The table entry for ``code``; unknown codes read as a plain decline."""
    entry = RESPONSE_CODES.get(code.upper())
    if entry is not None:
        return entry
    return ResponseCode(code, f"Declined (code {code})", f"交易失败（应答码{code}）", TerminalAction.DECLINED)


def response_text(code: str, lang: str = "en") -> str:
    """Text for ``code`` in ``lang`` (``"en"`` or ``"zh"``/``"zh_CN"``)."""
    return response_info(code).text(lang)


def is_approved(code: str) -> bool:
    return response_info(code).approved


def terminal_action(code: str) -> TerminalAction:
    return response_info(code).action
