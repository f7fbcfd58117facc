"""What went wrong, said in the reader's language: form validation, refusals, event details.

FastAPI's validation errors (pydantic's English, ``amount: String should have at most 20
characters``), the ledger's refusals (``claimed 750 is more than the fee line's 125``) and
the raw JSON details of timeline events (``amount: 750``) never reach a page as they are:
field names become the form's labels, reasons become catalog messages, and minor units
become money in the page's currency.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from poskit.money import Amount
from poskit.portal.i18n import PortalLocale

__all__ = [
    "DETAIL_LABELS",
    "FIELD_LABELS",
    "MONEY_KEYS",
    "PROBLEMS",
    "event_details",
    "refusal_text",
    "validation_problems",
]

#: Form and query fields -> the label the page shows for them (message ids of the portal catalog).
FIELD_LABELS: dict[str, str] = {
    "amount": "Amount",
    "amount_min": "Amount from",
    "amount_max": "Amount to",
    "reason": "Reason",
    "note": "Note",
    "body": "Message",
    "subject": "Subject",
    "field": "What to change",
    "new_value": "New value",
    "effective_from": "Effective from",
    "merchant": "Merchant",
    "transaction": "Transaction",
    "fee_line": "Fee line",
    "finding": "Finding",
    "decision": "Decision",
    "username": "Username",
    "password": "Password",
    "locale": "Language",
    "status": "Status",
    "page": "Page",
    "terminal": "Terminal",
    "date_from": "Date from",
    "date_to": "Date to",
    "rrn": "Reference no.",
    "last4": "Card last 4",
    "upheld": "Decision",
    "refund": "Refund",
}

#: pydantic error types -> what the field must be (message ids; ``{limit}`` where the type has one).
PROBLEMS: dict[str, str] = {
    "missing": "is required",
    "string_too_long": "is longer than {limit} characters",
    "string_too_short": "is shorter than {limit} characters",
    "too_long": "is longer than {limit} characters",
    "greater_than_equal": "must be at least {limit}",
    "greater_than": "must be more than {limit}",
    "less_than_equal": "must be at most {limit}",
    "less_than": "must be less than {limit}",
    "int_parsing": "must be a whole number",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_parsing": "must be a number",
    "decimal_parsing": "must be a number",
    "date_parsing": "must be a date (YYYY-MM-DD)",
    "date_from_datetime_parsing": "must be a date (YYYY-MM-DD)",
    "date_type": "must be a date (YYYY-MM-DD)",
    "bool_parsing": "must be yes or no",
    "string_pattern_mismatch": "has characters that are not allowed here",
    "literal_error": "is not one of the choices",
    "enum": "is not one of the choices",
    "string_type": "must be text",
}
_LIMIT_KEYS = ("max_length", "min_length", "ge", "gt", "le", "lt")

#: Keys of event details that hold money in minor units of the record's currency.
MONEY_KEYS = frozenset({"amount", "refund", "held", "claimed", "fee", "owed", "resolved_amount"})
#: Keys of event details -> their label (message ids).
DETAIL_LABELS: dict[str, str] = {
    "amount": "Amount",
    "refund": "Refund",
    "held": "Held",
    "claimed": "Claimed",
    "fee": "Fee",
    "owed": "Owed",
    "resolved_amount": "Outcome",
    "id": "No.",
    "rrn": "Reference no.",
    "formula": "Formula",
    "fee_line": "Fee line",
    "transaction": "Transaction",
    "finding": "Finding",
    "kind": "Kind",
    "key": "Key",
    "journal_id": "Journal entry",
    "carried_by": "Carried by",
    "signed_receipt": "Signed receipt",
    "pin_verified": "PIN verified",
    "entry_mode": "Entry",
    "currency": "Currency",
    "status": "Status",
}
#: Parameters of a refusal whose values are themselves words to translate.
_WORD_PARAMS = frozenset({"field", "status", "kind"})


def validation_problems(loc: PortalLocale, errors: Iterable[Mapping[str, Any]]) -> list[str]:
    """Each invalid field as ``label: what it must be`` in the page's language."""
    problems: list[str] = []
    for error in errors:
        location = [str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path")]
        name = location[-1] if location else ""
        label = loc.gettext(FIELD_LABELS[name]) if name in FIELD_LABELS else name
        context = error.get("ctx") or {}
        limit = next((context[k] for k in _LIMIT_KEYS if k in context), "")
        template = PROBLEMS.get(str(error.get("type", "")), "is not valid")
        text = loc.gettext(template).format(limit=limit)
        line = loc.gettext("{field}: {problem}").format(field=label, problem=text) if label else text
        if line not in problems:
            problems.append(line)
    return problems


def _shown(loc: PortalLocale, key: str, value: Any) -> str:
    if isinstance(value, Amount):
        return loc.amount(value)
    if key in _WORD_PARAMS and isinstance(value, str):
        return loc.gettext(value)
    return str(value)


def refusal_text(loc: PortalLocale, exc: Exception) -> str:
    """A domain error's reason in the page's language (amounts as money, field names as labels)."""
    template = getattr(exc, "message_id", None) or getattr(exc, "reason", None) or str(exc)
    params: Mapping[str, Any] = getattr(exc, "params", None) or {}
    translated = loc.gettext(str(template))
    if not params:
        return translated
    try:
        return translated.format(**{k: _shown(loc, k, v) for k, v in params.items()})
    except (KeyError, IndexError, ValueError):
        return str(getattr(exc, "reason", exc))


def _detail_value(loc: PortalLocale, key: str, value: Any, currency: str) -> str:
    if key in MONEY_KEYS and currency and isinstance(value, int) and not isinstance(value, bool):
        return loc.money(value, currency)
    if isinstance(value, bool):
        return loc.gettext("yes") if value else loc.gettext("no")
    if isinstance(value, Mapping):
        return "(" + event_details(loc, value, currency) + ")"
    if isinstance(value, list | tuple):
        return ", ".join(_detail_value(loc, key, v, currency) for v in value)
    if isinstance(value, str) and key in ("kind", "status", "entry_mode", "carried_by"):
        return loc.gettext(value)
    return str(value)


def event_details(loc: PortalLocale, details: Mapping[str, Any], currency: str) -> str:
    """An event's details as ``label: value; ...`` with money formatted in ``currency``."""
    money_currency = str(details.get("currency") or currency)
    parts = []
    for key, value in details.items():
        if key == "currency" and any(k in MONEY_KEYS for k in details):
            continue  # shown with the amounts themselves
        label = loc.gettext(DETAIL_LABELS[key]) if key in DETAIL_LABELS else key
        shown = _detail_value(loc, key, value, money_currency)
        parts.append(loc.gettext("{field}: {problem}").format(field=label, problem=shown))
    return ("；" if loc.code == "zh_CN" else "; ").join(parts)
