"""Message ids the portal translates at run time from data (statuses, types, reasons).

Templates write ``_(txn.status)``; these are the values that can appear there, so the
catalogs can be checked for completeness (tests/portal/test_i18n.py) and the English
catalog can turn machine words (``contactless_chip``) into readable ones.
"""

from __future__ import annotations

from poskit.ledger.statements import SUMMARY_ROWS

__all__ = ["VOCABULARY"]

_STATUSES = (
    "paid",
    "settled",
    "approved",
    "declined",
    "reversed",
    "voided",
    "refunded",
    "completed",
    "orphan",
    "noop",
    "applied",
    "pending",
    "rejected",
    "open",
    "answered",
    "closed",
    "under_review",
    "upheld",
    "retrieval_request",
    "retrieval_fulfilled",
    "chargeback",
    "represented",
    "won",
    "lost",
    "instructed",
    "balanced",
    "break",
    "unbalanced",
    "cleared",
    "active",
    "disabled",
    "suspended",
    "in_force",
    "ok",
    "bad_credentials",
    "locked",
    "logout",
    "high",
    "warning",
    "info",
    "settling",
    "uploading",
)
_TXN_TYPES = (
    "sale",
    "void",
    "refund",
    "preauth",
    "preauth_void",
    "completion",
    "completion_void",
    "completion_advice",
    "offline_sale_advice",
    "balance",
    "reversal",
    "original",
)
_ENTRY_MODES = ("swipe", "chip", "contactless_chip", "contactless_msd", "manual", "fallback", "unknown")
_ROLES = ("merchant_owner", "merchant_staff", "acquirer_staff", "acquirer_admin", "operator", "supervisor")
_TERMINAL_STATES = ("online", "offline", "never_seen", "keys_in_force", "keys_pending", "keys_none")
_CARDS = ("debit", "credit", "domestic", "foreign")
_FEES = (
    "domestic_debit",
    "domestic_credit",
    "d0_settlement",
    "terminal_rental",
    "sim_data",
    "percent",
    "fixed",
    "periodic",
    "monthly",
    "yearly",
    "period",
)
_FINDINGS = (
    "rate_mismatch",
    "cap_ignored",
    "charged_twice",
    "fee_on_reversed",
    "periodic_after_contract_end",
    "early_rate_change",
    "d0_fee_without_d0",
)
_FLAGS = (
    "mcc_mismatch",
    "terminal_merchant_mismatch",
    "terminal_location",
    "frequent_account_change",
    "authentication_failures",
    "duplicate_mismatch",
    "reversal_mismatch",
)
_DISPUTES = (
    "fee",
    "transaction",
    "merchant",
    "audit",
    "issuer",
    "staff",
    "opened",
    "note",
    "chargeback_accepted",
)
_CHANGE_FIELDS = ("name", "name_en", "mcc", "address", "city", "settlement_account", "settlement_bank")
_TICKETS = ("general", "fees", "settlement", "terminal", "signature", "account")
_LEDGER = (
    "periodic_fee",
    "d0_fee",
    "payout",
    "hold",
    "hold_release",
    "dispute_refund",
    "other",
    "chargeback_hold",
    "chargeback_release",
    "chargeback_debit",
    "terminal",
    "portal",
)
_FILTER_FIELDS = ("date_from", "date_to", "last4", "amount_min", "amount_max", "rrn", "type", "result")
_REASONS = (
    # accounts.WeakPasswordError
    "use at least 8 characters",
    "mix letters with digits or symbols",
    # data.terminals.OperatorError
    "use two digits, 01 to 99 (00 is the supervisor)",
    "give a name of up to 60 characters",
    "use 4 to 8 digits (it is typed on the POS keypad)",
    "use 6 to 8 digits (it is typed on the POS keypad)",
    "do not repeat one digit",
    "the supervisor cannot be disabled; reset its password instead",
    "choose a merchant",
    # data.support.TicketError
    "write a message",
    "keep it under 4000 characters",
    "give a subject of up to 120 characters",
    "unknown category",
    "the ticket is closed; open a new one",
    "a support phone number is required",
    # data.signatures.SignatureImageError
    "expected a data:image/png;base64 URL",
    "larger than 512 KiB",
    "the base64 data is damaged",
    "not a PNG image",
    "image must be 16..2000 pixels on each side",
    "the PNG cannot be decoded",
    "the signature is empty",
    # data.transactions.FilterError
    "expected a date as YYYY-MM-DD",
    "expected the last 4 digits of the card",
    "expected a merchant id",
    "expected a terminal id (up to 8 letters or digits)",
    "unknown result",
    "expected a reference number (up to 12 letters or digits)",
    "unknown transaction type",
    "the end date is before the start date",
    "expected digits with an optional decimal point, e.g. 12.50",
    "more than 2 decimal places",
    "too large",
)
# poskit.signature_rule.signature_waiver and data.signatures.no_signature_reason
_SIGNATURE_REASONS = (
    "PIN verified",
    "PIN verified by the card",
    "verified on the cardholder's device",
    "small amount, no PIN and no signature (QPS)",
    "no CVM required",
    "no signature for this transaction type",
    "balance inquiry",
    "the transaction is not in force",
    "no signature required",
)
_STATEMENT_SUMMARY = tuple(label for label, _ in SUMMARY_ROWS)

VOCABULARY: tuple[str, ...] = tuple(
    dict.fromkeys(
        _STATUSES
        + _TXN_TYPES
        + _ENTRY_MODES
        + _ROLES
        + _TERMINAL_STATES
        + _CARDS
        + _FEES
        + _FINDINGS
        + _FLAGS
        + _DISPUTES
        + _CHANGE_FIELDS
        + _TICKETS
        + _LEDGER
        + _FILTER_FIELDS
        + _REASONS
        + _SIGNATURE_REASONS
        + _STATEMENT_SUMMARY
    )
)
