"""Ledger, settlement and compliance tables: roll-ups, cut-offs, payouts, disputes, changes, flags.

Balances are never stored as a running total that every posting updates (a hot
merchant account would serialise all writers): postings only insert entries, and a
cut-off writes one roll-up row per account per business day. A balance is the last
roll-up plus the entries posted after it.
"""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, ForeignKey, Index, Integer, String, Table, UniqueConstraint

from poskit.store.schema import UtcDateTime, fee_lines, journal_entries, metadata

__all__ = [
    "batch_reconciliations",
    "dispute_events",
    "disputes",
    "flags",
    "ledger_cutoffs",
    "ledger_rollups",
    "merchant_change_requests",
    "payouts",
    "settlement_items",
    "terminal_sites",
]

Money = BigInteger

# Range scans by posting time (cut-off windows, roll-ups, statements) on the core tables.
Index("ix_journal_entries_posted_at", journal_entries.c.posted_at)
Index("ix_fee_lines_merchant_created", fee_lines.c.merchant_id, fee_lines.c.created_at)

#: One row per account per cut-off: the movement of [period_start, period_end) and the closing balance.
ledger_rollups = Table(
    "ledger_rollups",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("account_id", ForeignKey("ledger_accounts.id"), nullable=False),
    Column("business_date", String(10), nullable=False),  # the cut-off that wrote it
    Column("period_start", UtcDateTime(), nullable=True),  # None: from the first entry
    Column("period_end", UtcDateTime(), nullable=False),
    Column("debits", Money, nullable=False),  # sum of positive entries
    Column("credits", Money, nullable=False),  # sum of negative entries (<= 0)
    Column("entry_count", Integer, nullable=False),
    Column("closing_balance", Money, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    UniqueConstraint("account_id", "period_end"),
)

#: A daily cut-off of one acquirer, in its own time zone. Windows are contiguous.
ledger_cutoffs = Table(
    "ledger_cutoffs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("acquirer_id", ForeignKey("acquirers.id"), nullable=False),
    Column("business_date", String(10), nullable=False),  # YYYY-MM-DD in the acquirer's zone
    Column("timezone", String(40), nullable=False),
    Column("window_start", UtcDateTime(), nullable=True),  # None: the first cut-off takes everything
    Column("window_end", UtcDateTime(), nullable=False),
    Column("status", String(12), nullable=False),  # done
    Column("summary", JSON, nullable=False),
    Column("completed_at", UtcDateTime(), nullable=False),
    UniqueConstraint("acquirer_id", "business_date"),
)

payouts = Table(
    "payouts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("idempotency_key", String(80), nullable=False, unique=True),
    Column("merchant_id", ForeignKey("merchants.id"), nullable=False),
    Column("acquirer_id", ForeignKey("acquirers.id"), nullable=False),
    Column("kind", String(4), nullable=False),  # t1 | d0
    Column("business_date", String(10), nullable=False),
    Column("value_at", UtcDateTime(), nullable=False),
    Column("amount", Money, nullable=False),
    Column("fee", Money, nullable=False, server_default="0"),  # D0 fee, already deducted
    Column("currency", String(3), nullable=False),
    Column("account_no", String(40), nullable=False),  # the settlement account in force
    Column("bank", String(80), nullable=False, server_default=""),
    Column("account_name", String(80), nullable=False, server_default=""),
    Column("status", String(12), nullable=False),  # instructed
    Column("journal_id", ForeignKey("journal_entries.id"), nullable=True),
    Column("fee_journal_id", ForeignKey("journal_entries.id"), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
)
Index("ix_payouts_merchant_date", payouts.c.merchant_id, payouts.c.business_date)

#: Every money journal of a card transaction, settled exactly once (T+1 at a cut-off or D0).
settlement_items = Table(
    "settlement_items",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("journal_id", ForeignKey("journal_entries.id"), nullable=False, unique=True),
    Column("transaction_id", ForeignKey("transactions.id"), nullable=True),
    Column("merchant_id", ForeignKey("merchants.id"), nullable=False),
    Column("acquirer_id", ForeignKey("acquirers.id"), nullable=False),
    Column("business_date", String(10), nullable=False),
    Column("kind", String(24), nullable=False),  # the journal kind: sale | refund | reversal ...
    Column("mode", String(4), nullable=False),  # t1 | d0
    Column("gross", Money, nullable=False),  # movement of issuer settlement
    Column("fee", Money, nullable=False),  # fee income of the journal
    Column("net", Money, nullable=False),  # what the merchant gets
    Column("interchange", Money, nullable=False, server_default="0"),
    Column("currency", String(3), nullable=False),
    # Set for D0 items; a T+1 item is paid by its merchant's first T+1 payout on or after its date.
    Column("payout_id", ForeignKey("payouts.id"), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
)
# (date, acquirer): a cut-off appends a million items under one key, so the index grows at its end.
Index("ix_settlement_items_date", settlement_items.c.business_date, settlement_items.c.acquirer_id)
Index("ix_settlement_items_transaction", settlement_items.c.transaction_id)

#: Reconciliation of one terminal batch (closed or still open) against host records and the ledger.
batch_reconciliations = Table(
    "batch_reconciliations",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("acquirer_id", ForeignKey("acquirers.id"), nullable=False),
    Column("business_date", String(10), nullable=False),
    Column("terminal_id", String(8), nullable=False),
    Column("batch_no", Integer, nullable=False),
    Column("status", String(12), nullable=False),  # balanced | break | open
    Column("host_totals", JSON, nullable=False),
    Column("terminal_totals", JSON, nullable=True),
    Column("breaks", JSON, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    UniqueConstraint("business_date", "terminal_id", "batch_no"),
)

#: Fee disputes (乱扣费追回), transaction disputes and issuer chargebacks.
disputes = Table(
    "disputes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("merchant_id", ForeignKey("merchants.id"), nullable=False),
    Column("kind", String(12), nullable=False),  # fee | transaction | chargeback
    Column("status", String(20), nullable=False),
    Column("source", String(12), nullable=False),  # merchant | audit | issuer | staff
    Column("transaction_id", ForeignKey("transactions.id"), nullable=True),
    Column("fee_line_id", ForeignKey("fee_lines.id"), nullable=True),
    Column("finding_key", String(120), nullable=True, unique=True),  # fee-audit finding it came from
    Column("reason", String(200), nullable=False),
    Column("reason_code", String(8), nullable=False, server_default=""),
    Column("amount", Money, nullable=False),  # claimed / disputed
    Column("currency", String(3), nullable=False),
    Column("resolved_amount", Money, nullable=True),
    Column("hold_journal_id", ForeignKey("journal_entries.id"), nullable=True),
    Column("resolution_journal_id", ForeignKey("journal_entries.id"), nullable=True),
    Column("opened_by", String(60), nullable=False),
    Column("opened_at", UtcDateTime(), nullable=False),
    Column("due_at", UtcDateTime(), nullable=True),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("resolved_at", UtcDateTime(), nullable=True),
)
Index("ix_disputes_merchant", disputes.c.merchant_id)
Index("ix_disputes_transaction", disputes.c.transaction_id)

dispute_events = Table(
    "dispute_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("dispute_id", ForeignKey("disputes.id"), nullable=False),
    Column("at", UtcDateTime(), nullable=False),
    Column("actor", String(60), nullable=False),
    Column("action", String(32), nullable=False),
    Column("note", String(500), nullable=False, server_default=""),
    Column("details", JSON, nullable=False),
)
Index("ix_dispute_events_dispute", dispute_events.c.dispute_id)

#: 商户信息变更: one field per request, reviewed by acquirer staff, effective from a date.
merchant_change_requests = Table(
    "merchant_change_requests",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("merchant_id", ForeignKey("merchants.id"), nullable=False),
    Column("field", String(24), nullable=False),
    Column("old_value", String(200), nullable=False),
    Column("new_value", String(200), nullable=False),
    Column("effective_from", UtcDateTime(), nullable=False),
    Column("status", String(12), nullable=False),  # pending | approved | rejected | applied
    Column("reason", String(200), nullable=False, server_default=""),
    Column("requested_by", String(60), nullable=False),
    Column("requested_at", UtcDateTime(), nullable=False),
    Column("reviewed_by", String(60), nullable=True),
    Column("reviewed_at", UtcDateTime(), nullable=True),
    Column("review_note", String(200), nullable=False, server_default=""),
    Column("applied_at", UtcDateTime(), nullable=True),
)
Index("ix_merchant_change_requests_merchant", merchant_change_requests.c.merchant_id)

#: Compliance flags: MCC jumping (跳码), one terminal one merchant, terminal far from its site.
flags = Table(
    "flags",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("key", String(120), nullable=False, unique=True),  # makes raising a flag idempotent
    Column("kind", String(32), nullable=False),
    Column("severity", String(8), nullable=False),  # info | warning | high
    Column("status", String(12), nullable=False),  # open | cleared
    Column("merchant_id", ForeignKey("merchants.id"), nullable=True),
    Column("terminal_id", String(8), nullable=True),
    Column("transaction_id", ForeignKey("transactions.id"), nullable=True),
    Column("summary", String(200), nullable=False),
    Column("details", JSON, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("cleared_at", UtcDateTime(), nullable=True),
    Column("cleared_by", String(60), nullable=True),
    Column("note", String(200), nullable=False, server_default=""),
)
Index("ix_flags_status_kind", flags.c.status, flags.c.kind)
Index("ix_flags_merchant", flags.c.merchant_id)

#: Where a terminal is registered to stand (micro-degrees, WGS 84) and how far it may roam.
terminal_sites = Table(
    "terminal_sites",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("terminal_id", String(8), nullable=False, unique=True),
    Column("latitude_e6", Integer, nullable=False),
    Column("longitude_e6", Integer, nullable=False),
    Column("radius_m", Integer, nullable=False),
    Column("address", String(200), nullable=False, server_default=""),
    Column("updated_at", UtcDateTime(), nullable=False),
)
