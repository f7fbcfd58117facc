"""Pydantic models of the portal's JSON API (``/api/v1``): the published OpenAPI contract.

Amounts are integers in minor units with an ISO 4217 ``currency``; times are UTC
ISO 8601; card numbers appear only masked (first 6, last 4).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

__all__ = [
    "ChangeIn",
    "ChangeOut",
    "DashboardOut",
    "DisputeEventOut",
    "DisputeIn",
    "DisputeOut",
    "EmvOut",
    "ErrorOut",
    "FeeLineOut",
    "FeeRuleOut",
    "FeesOut",
    "FiguresOut",
    "FindingOut",
    "FlagOut",
    "MerchantOut",
    "MessageIn",
    "OperatorOut",
    "PayoutDetailOut",
    "PayoutOut",
    "ReceiptOut",
    "RelatedOut",
    "ScheduleOut",
    "SettlementDayOut",
    "SettlementItemOut",
    "SignatureIn",
    "SignatureOut",
    "SignedOut",
    "StatementLineOut",
    "StatementOut",
    "TerminalOut",
    "TicketIn",
    "TicketMessageOut",
    "TicketOut",
    "TxnDetailOut",
    "TxnOut",
    "TxnPageOut",
    "UserOut",
]


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("NUL characters are not allowed")
    return value


#: Input text: no NUL characters (no database stores them).
Text = Annotated[str, AfterValidator(_no_nul)]


class _Out(BaseModel):
    model_config = ConfigDict(extra="ignore", from_attributes=True)


class ErrorOut(_Out):
    detail: Any = Field(description="what went wrong")


class UserOut(_Out):
    username: str
    role: str
    merchant_id: int | None
    merchant_no: str | None
    merchant_name: str | None
    locale: str
    timezone: str
    permissions: list[str]


class MerchantOut(_Out):
    id: int
    merchant_no: str
    name: str
    name_en: str
    mcc: str
    address: str
    city: str
    settlement_account: str
    settlement_bank: str
    currency: str
    status: str


class TxnOut(_Out):
    id: int
    received_at: datetime
    merchant_id: int | None
    merchant_no: str | None
    terminal_id: str
    txn_type: str
    status: str
    response_code: str
    amount: int
    fee: int
    net: int
    currency: str
    pan_masked: str | None
    card_scheme: str | None
    funding: str | None
    origin: str | None
    entry_mode: str | None
    pin_entered: bool
    rrn: str | None
    auth_code: str | None
    batch_no: int
    stan: int = Field(description="voucher (trace) number")
    settlement_date: str | None
    original_id: int | None
    needs_signature: bool
    signed: bool


class TxnPageOut(_Out):
    total: int
    page: int
    page_size: int
    items: list[TxnOut]


class FeeLineOut(_Out):
    id: int
    rule: str
    schedule_version: int
    base: int
    amount: int
    currency: str
    formula: str
    created_at: datetime


class RelatedOut(_Out):
    id: int
    relation: str
    txn_type: str
    status: str
    amount: int
    currency: str
    received_at: datetime
    rrn: str | None


class SignatureOut(_Out):
    image_format: str
    feature_code: str | None
    source: str
    uploaded_at: datetime


class EmvOut(_Out):
    tag: str
    name: str
    value: str


class TxnDetailOut(TxnOut):
    fee_lines: list[FeeLineOut]
    related: list[RelatedOut]
    signature: SignatureOut | None
    emv: list[EmvOut]


class ReceiptOut(_Out):
    transaction_id: int
    text: str


class SignatureIn(BaseModel):
    image: Text = Field(
        max_length=800_000, description="a data:image/png;base64,... URL (a canvas' toDataURL)"
    )


class SignedOut(_Out):
    transaction_id: int
    feature_code: str


class FiguresOut(_Out):
    currency: str
    volume: int
    count: int
    refunds: int
    fees: int
    net: int
    approved: int
    declined: int
    approval_rate: float | None


class TerminalAlertOut(_Out):
    code: str = Field(
        description="battery_low | paper_out | paper_low | software_outdated | authentication | silent"
    )
    severity: str = Field(description="warning | critical")
    message_en: str
    message_zh: str
    advice_en: str
    advice_zh: str


class TerminalOut(_Out):
    terminal_id: str
    merchant_id: int
    merchant_no: str
    location: str
    status: str
    state: str = Field(description="online | offline | never_seen | suspended")
    battery_percent: int | None
    network: str | None
    last_seen_at: datetime | None
    software_version: str
    model: str
    serial_number: str
    signed_on_at: datetime | None
    power_source: str | None = Field(description="mains | battery; battery_percent is null on mains")
    charging: bool | None
    paper: str | None = Field(description="ok | low | out; null when the printer never reported it")
    parameter_version: str | None
    uptime_seconds: int | None
    storage_free_mb: int | None
    authentication_failures: bool = Field(description="an open authentication_failures flag")
    low_battery: bool
    alerts: list[TerminalAlertOut]


class DashboardOut(_Out):
    business_date: date
    today: FiguresOut
    month: FiguresOut
    terminals: list[TerminalOut]


class OperatorOut(_Out):
    id: int
    merchant_id: int
    code: str
    name: str
    role: str
    status: str


class SettlementDayOut(_Out):
    business_date: str
    currency: str
    items: int
    gross: int
    fees: int
    net: int


class SettlementItemOut(_Out):
    id: int
    business_date: str
    transaction_id: int | None
    rrn: str | None
    kind: str
    mode: str
    gross: int
    fee: int
    net: int
    currency: str
    payout_id: int | None = Field(description="the D0 payout that paid it (T+1 items: see paid_by)")
    paid_by: int | None = Field(None, description="the payout that paid it, when paid")


class PayoutOut(_Out):
    id: int
    merchant_id: int
    kind: str
    business_date: str
    value_at: datetime
    amount: int
    fee: int
    currency: str
    account_no: str
    bank: str
    account_name: str
    status: str


class PayoutDetailOut(PayoutOut):
    items: list[SettlementItemOut]


class FeeRuleOut(_Out):
    rule: str
    kind: str
    currency: str
    rate: str | None
    fixed: int | None
    cap: int | None
    period: str | None


class ScheduleOut(_Out):
    id: int
    version: int
    description: str
    notified_at: datetime | None
    effective_from: datetime
    effective_to: datetime | None
    binding_from: datetime | None = Field(description="when it lawfully binds (notice period honoured)")
    rules: list[FeeRuleOut]


class FindingOut(_Out):
    key: str
    kind: str
    fee_line_id: int
    transaction_id: int | None
    rrn: str | None
    rule: str
    currency: str
    charged: int
    contract: int
    overcharge: int
    refunded: int
    owed: int
    charged_at: datetime
    message: str
    dispute_id: int | None


class FeesOut(_Out):
    merchant_id: int
    in_force: ScheduleOut | None
    versions: list[ScheduleOut]
    lines_checked: int
    findings: list[FindingOut]


class StatementLineOut(_Out):
    posted_at: datetime
    business_date: str
    category: str
    reference: str
    description: str
    gross: int
    fee: int
    net: int


class StatementOut(_Out):
    merchant_no: str
    period: str
    start: date
    end: date
    currency: str
    opening: int
    closing: int
    totals: dict[str, int]
    lines: list[StatementLineOut]
    fee_lines: list[dict[str, Any]]


class DisputeEventOut(_Out):
    at: datetime
    actor: str
    action: str
    note: str


class DisputeOut(_Out):
    id: int
    merchant_id: int
    merchant_no: str
    kind: str
    status: str
    source: str
    transaction_id: int | None
    rrn: str | None
    fee_line_id: int | None
    reason: str
    reason_code: str
    amount: int
    currency: str
    resolved_amount: int | None
    opened_by: str
    opened_at: datetime
    due_at: datetime | None
    resolved_at: datetime | None
    timeline: list[DisputeEventOut]


class DisputeIn(BaseModel):
    reason: Text = Field(min_length=1, max_length=200, pattern=r"\S")
    amount: int | None = Field(
        None, ge=1, le=999_999_999_999, description="claimed, minor units (default: all)"
    )


class ChangeOut(_Out):
    id: int
    merchant_id: int
    field: str
    old_value: str
    new_value: str
    effective_from: datetime
    status: str
    reason: str
    requested_by: str
    requested_at: datetime
    reviewed_by: str | None
    reviewed_at: datetime | None
    review_note: str
    applied_at: datetime | None


ChangeField = Literal["name", "name_en", "mcc", "address", "city", "settlement_account", "settlement_bank"]


class ChangeIn(BaseModel):
    field: ChangeField
    new_value: Text = Field(
        min_length=1, max_length=200, description="mcc: 4 digits; settlement_account: 8 to 34 digits"
    )
    effective_from: date = Field(description="a business day in the acquirer's time zone, today or later")
    reason: Text = Field("", max_length=200)


class TicketMessageOut(_Out):
    author: str
    from_acquirer: bool
    body: str
    created_at: datetime


class TicketOut(_Out):
    id: int
    merchant_id: int
    merchant_no: str
    subject: str
    category: str
    status: str
    transaction_id: int | None
    created_at: datetime
    updated_at: datetime
    messages: list[TicketMessageOut] = []


TicketCategory = Literal["general", "fees", "settlement", "terminal", "signature", "account"]


class TicketIn(BaseModel):
    subject: Text = Field(min_length=1, max_length=120, pattern=r"\S")
    category: TicketCategory = "general"
    body: Text = Field(min_length=1, max_length=4000, pattern=r"\S")
    transaction_id: int | None = Field(None, ge=1)


class MessageIn(BaseModel):
    body: Text = Field(min_length=1, max_length=4000, pattern=r"\S")


class FlagOut(_Out):
    id: int
    kind: str
    severity: str
    status: str
    merchant_id: int | None
    terminal_id: str | None
    transaction_id: int | None
    summary: str
    created_at: datetime
    cleared_at: datetime | None
    cleared_by: str | None
    note: str
