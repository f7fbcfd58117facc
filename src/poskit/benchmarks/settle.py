"""``poskit bench settle``: cut-off, fees audit, payouts and ledger check for 1,000,000 transactions.

The day is generated straight into an embedded SQLite host database with set-based SQL
(recursive CTEs, no per-row Python): merchants with the demo contract, one terminal
each, a million approved sales spread over one Shanghai business day with their fee
lines and balanced journals, 1% of them reversed and 0.5% voided (as the host records
each), and a few dozen fees charged twice
(so the audit has something real to find). Only the money work is timed:

* ``settle-day``: settlement items, interchange and network settlement, monitoring scan,
  roll-ups, T+1 payouts for every merchant, batch reconciliation;
* the fee audit recomputing every fee line from the contract in force;
* ``ledger check`` over every journal, transaction, settlement item and roll-up.
"""

from __future__ import annotations

import sqlite3
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

from poskit.benchmarks import BenchResult
from poskit.ledger.audit import audit_fees
from poskit.ledger.check import check_ledger
from poskit.ledger.settlement import settle_day
from poskit.store.db import WRITE, make_engine
from poskit.store.migrate import upgrade

__all__ = ["DESCRIPTION", "generate_day", "run"]

DESCRIPTION = "cut-off, T+1 payouts, fee audit and ledger check for 1,000,000 transactions (SQLite)"

DAY = date(2026, 11, 24)
DAY_START_UTC = "2026-11-23 16:00:00"  # 00:00 in Asia/Shanghai
NEXT_MORNING = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)
DOUBLE_CHARGED = 40


_MERCHANTS = """
INSERT INTO merchants (id, acquirer_id, merchant_no, name, name_en, mcc, address, city, settlement_account,
                       settlement_bank, currency, status, created_at)
WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < :m)
SELECT i, 1, printf('8983100581%05d', i), printf('商户%d', i), printf('Merchant %d', i), '5812', 'Shanghai',
       'Shanghai', printf('310501613936%08d', i), 'CCB', 'CNY', 'active', :at FROM s"""

_TERMINALS = """
INSERT INTO terminals (id, terminal_id, merchant_id, dialect, mac_algorithm, key_scheme, sign_on_required,
                       batch_no, status, serial_number, model, software_version, location, created_at)
WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < :m)
SELECT i, printf('%08d', 30000000 + i), i, 'cups', 'cups-ecb', 'fixed', 0, 1, 'active', '', '', '', '', :at
FROM s"""

_SCHEDULES = """
INSERT INTO fee_schedules (id, merchant_id, version, effective_from, notified_at, description, created_at)
WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < :m)
SELECT i, i, 1, '2026-01-01 00:00:00.000000', '2025-12-01 00:00:00.000000', 'standard', :at FROM s"""

# One sale every 86.4 ms over the day; merchant i uses terminal i; the fee follows the demo contract.
_TRANSACTIONS = """
INSERT INTO transactions (id, terminal_id, merchant_id, mti, txn_type, stan, batch_no, received_at, amount,
                          currency, pan_masked, card_scheme, funding, origin, entry_mode, pin_entered, mcc,
                          response_code, auth_code, rrn, status, fee, message, response)
WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < :n),
t AS (
  SELECT i, 1 + (i % :m) AS mid, 100 + (i * 7919) % 500000 AS amount,
         CASE WHEN i % 50 = 0 THEN 'foreign' ELSE 'domestic' END AS origin,
         CASE WHEN i % 3 = 0 THEN 'debit' ELSE 'credit' END AS funding,
         ((i - 1) * 86400000000 / :n) AS micros
  FROM s)
SELECT i, printf('%08d', 30000000 + mid), mid, '0200', 'sale', i % 1000000, 1,
       strftime('%Y-%m-%d %H:%M:%S', :start, '+' || (micros / 1000000) || ' seconds')
         || printf('.%06d', micros % 1000000),
       amount, 'CNY', '622202******1234', 'unionpay', funding, origin, 'chip', 1, '5812', '00', '123456',
       printf('3280%08d', i), 'approved',
       CASE WHEN origin = 'foreign' THEN (amount * 250 + 5000) / 10000
            WHEN funding = 'debit' THEN min((amount * 50 + 5000) / 10000, 2000)
            ELSE (amount * 60 + 5000) / 10000 END,
       'approved', '{}'
FROM t"""

_SALE_JOURNALS = """
INSERT INTO journal_entries (id, idempotency_key, kind, transaction_id, merchant_id, description, currency,
                             posted_at)
SELECT id, 'txn:' || id || ':sale', 'sale', id, merchant_id, 'sale ' || rrn, 'CNY', received_at
FROM transactions"""

# Entries of one journal side by side, as posting writes them.
_SALE_ENTRIES = """
INSERT INTO ledger_entries (journal_id, account_id, amount, currency)
SELECT t.id,
       CASE k.line WHEN 1 THEN 1 WHEN 2 THEN t.merchant_id + 2 ELSE 2 END,
       CASE k.line WHEN 1 THEN t.amount WHEN 2 THEN -(t.amount - t.fee) ELSE -t.fee END, 'CNY'
FROM transactions t CROSS JOIN (SELECT 1 AS line UNION ALL SELECT 2 UNION ALL SELECT 3) k
WHERE k.line < 3 OR t.fee <> 0
ORDER BY t.id, k.line"""

_FEE_LINES = """
INSERT INTO fee_lines (transaction_id, merchant_id, schedule_id, schedule_version, rule, base, amount,
                       currency, formula, journal_id, created_at)
SELECT id, merchant_id, merchant_id, 1,
       CASE WHEN origin = 'foreign' THEN 'foreign' WHEN funding = 'debit' THEN 'domestic_debit'
            ELSE 'domestic_credit' END,
       amount, fee, 'CNY',
       printf('%s%% of %d.%02d = %d.%02d',
              CASE WHEN origin = 'foreign' THEN '2.50' WHEN funding = 'debit' THEN '0.50' ELSE '0.60' END,
              amount / 100, amount % 100, fee / 100, fee % 100),
       id, received_at
FROM transactions"""

# 1% reversed: the exact negation of the sale journal, as negate_transaction posts it.
_REVERSAL_JOURNALS = """
INSERT INTO journal_entries (id, idempotency_key, kind, transaction_id, merchant_id, description, currency,
                             posted_at)
SELECT :offset + id, 'txn:' || id || ':sale:negated-by:reversal', 'reversal', id, merchant_id,
       'reversal of: sale ' || rrn, 'CNY', received_at
FROM transactions WHERE id % 100 = 7"""

_REVERSAL_ENTRIES = """
INSERT INTO ledger_entries (journal_id, account_id, amount, currency)
SELECT :offset + e.journal_id, e.account_id, -e.amount, 'CNY'
FROM ledger_entries e WHERE e.journal_id % 100 = 7 AND e.journal_id <= :n ORDER BY e.id"""

# 0.5% voided the way the host voids: a void transaction whose journal mirrors the sale's.
_VOIDS = """
INSERT INTO transactions (id, terminal_id, merchant_id, mti, txn_type, stan, batch_no, received_at, amount,
                          currency, pan_masked, card_scheme, funding, origin, entry_mode, pin_entered, mcc,
                          response_code, auth_code, rrn, status, fee, message, response, original_id)
SELECT :n + id, terminal_id, merchant_id, '0200', 'void', stan + 1000000, 1, received_at, amount, currency,
       pan_masked, card_scheme, funding, origin, entry_mode, 1, mcc, '00', '123456', printf('3281%08d', id),
       'approved', 0, 'approved', '{}', id
FROM transactions WHERE id % 200 = 13 AND id <= :n"""

_VOID_JOURNALS = """
INSERT INTO journal_entries (id, idempotency_key, kind, transaction_id, merchant_id, description, currency,
                             posted_at)
SELECT :voids + j.id, 'txn:' || (:n + j.id) || ':void:' || j.id, 'void', :n + j.id, j.merchant_id,
       'void of: ' || j.description, 'CNY', j.posted_at
FROM journal_entries j WHERE j.id % 200 = 13 AND j.id <= :n"""

_VOID_ENTRIES = """
INSERT INTO ledger_entries (journal_id, account_id, amount, currency)
SELECT :voids + e.journal_id, e.account_id, -e.amount, 'CNY'
FROM ledger_entries e WHERE e.journal_id % 200 = 13 AND e.journal_id <= :n ORDER BY e.id"""

# A buggy system charging some fees a second time: the audit must find exactly these.
_BUGGY_JOURNALS = """
INSERT INTO journal_entries (id, idempotency_key, kind, transaction_id, merchant_id, description, currency,
                             posted_at)
SELECT :extra + id, 'buggy:' || id, 'fee', NULL, merchant_id, 'fee again', 'CNY', received_at
FROM transactions WHERE id % 100 = 11 AND fee > 0 LIMIT :limit"""

_BUGGY_ENTRIES = """
INSERT INTO ledger_entries (journal_id, account_id, amount, currency)
SELECT j.id, CASE k.line WHEN 1 THEN t.merchant_id + 2 ELSE 2 END,
       CASE k.line WHEN 1 THEN t.fee ELSE -t.fee END, 'CNY'
FROM journal_entries j JOIN transactions t ON j.id = :extra + t.id
CROSS JOIN (SELECT 1 AS line UNION ALL SELECT 2) k
WHERE j.idempotency_key LIKE 'buggy:%'
ORDER BY j.id, k.line"""

_BUGGY_FEE_LINES = """
INSERT INTO fee_lines (transaction_id, merchant_id, schedule_id, schedule_version, rule, base, amount,
                       currency, formula, journal_id, created_at)
SELECT f.transaction_id, f.merchant_id, f.schedule_id, 1, f.rule, f.base, f.amount, 'CNY', f.formula,
       :extra + f.transaction_id, f.created_at
FROM fee_lines f
WHERE f.transaction_id IN (SELECT id - :extra FROM journal_entries WHERE idempotency_key LIKE 'buggy:%')"""


def generate_day(path: Path, *, transactions: int, merchants: int) -> None:
    """Fill a migrated database at ``path`` with one busy business day (bulk SQL, durability off)."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    db.execute("PRAGMA cache_size=-400000")
    db.execute("BEGIN")
    n, m, at = transactions, merchants, "2026-01-01 00:00:00.000000"
    db.execute(
        "INSERT INTO acquirers (id, code, name, country, currency, timezone, support_phone, created_at) "
        "VALUES (1, '48020000', 'bench acquirer', '156', 'CNY', 'Asia/Shanghai', '', ?)",
        (at,),
    )
    for statement in (_MERCHANTS, _TERMINALS, _SCHEDULES):
        db.execute(statement, {"m": m, "at": at})
    for rule, kind, rate, fixed, cap in (
        ("domestic_debit", "percent", "0.50", None, 2000),
        ("domestic_credit", "percent", "0.60", None, None),
        ("foreign", "percent", "2.50", None, None),
        ("d0_settlement", "fixed", None, 200, None),
    ):
        db.execute(
            "INSERT INTO fee_rules (schedule_id, rule, kind, rate, fixed, cap, currency) "
            "SELECT id, ?, ?, ?, ?, ?, 'CNY' FROM fee_schedules",
            (rule, kind, rate, fixed, cap),
        )
    # accounts: 1 issuer settlement, 2 fee income, then one payable per merchant (id = merchant + 2)
    db.execute(
        "INSERT INTO ledger_accounts (id, code, kind, name, currency, created_at) VALUES "
        "(1, 'issuer_settlement:CNY', 'asset', 'Issuer settlement receivable', 'CNY', ?), "
        "(2, 'acquirer_fee_income:CNY', 'income', 'Acquirer fee income', 'CNY', ?)",
        (at, at),
    )
    db.execute(
        "INSERT INTO ledger_accounts (id, code, kind, name, merchant_id, currency, created_at) "
        "SELECT id + 2, 'merchant_payable:' || merchant_no || ':CNY', 'liability', "
        "'Merchant payable ' || merchant_no, id, 'CNY', ? FROM merchants",
        (at,),
    )
    params = {
        "n": n,
        "m": m,
        "start": DAY_START_UTC,
        "offset": n + 1,
        "extra": 2 * n + 1,
        "voids": 3 * n + 1,
        "limit": DOUBLE_CHARGED,
    }
    for statement in (
        _TRANSACTIONS,
        _SALE_JOURNALS,
        _SALE_ENTRIES,
        _FEE_LINES,
        _REVERSAL_JOURNALS,
        _REVERSAL_ENTRIES,
    ):
        db.execute(statement, {k: v for k, v in params.items() if f":{k}" in statement})
    db.execute("UPDATE transactions SET status = 'reversed' WHERE id % 100 = 7")
    for statement in (_VOIDS, _VOID_JOURNALS, _VOID_ENTRIES):
        db.execute(statement, {k: v for k, v in params.items() if f":{k}" in statement})
    db.execute("UPDATE transactions SET status = 'voided' WHERE id % 200 = 13 AND id <= ?", (n,))
    for statement in (_BUGGY_JOURNALS, _BUGGY_ENTRIES, _BUGGY_FEE_LINES):
        db.execute(statement, {k: v for k, v in params.items() if f":{k}" in statement})
    db.execute("COMMIT")
    db.execute("ANALYZE")
    db.close()


def _timed(label: str, rows: list[tuple[str, str]], fn):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    value = fn()
    rows.append((label, f"{time.perf_counter() - start:.1f} s"))
    return value


def run(*, quick: bool) -> BenchResult:
    n, m = (20_000, 200) if quick else (1_000_000, 2_000)
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory(prefix="poskit-bench-settle-") as tmp:
        path = Path(tmp) / "host.sqlite"
        engine = make_engine(f"sqlite:///{path}")
        upgrade(engine)
        engine.dispose()
        started = time.perf_counter()
        generate_day(path, transactions=n, merchants=m)
        generated = time.perf_counter() - started
        engine = make_engine(f"sqlite:///{path}")
        total = time.perf_counter()

        def settle() -> list:  # type: ignore[type-arg]
            with engine.connect().execution_options(**WRITE) as conn, conn.begin():
                return settle_day(conn, business_date=DAY, now=NEXT_MORNING)

        [report] = _timed("settle-day (items, network, scan, roll-ups, T+1 payouts, recon)", rows, settle)

        def audit():  # type: ignore[no-untyped-def]
            with engine.connect() as conn:
                return audit_fees(conn)

        findings = _timed("fee audit (every fee line recomputed)", rows, audit)

        def check():  # type: ignore[no-untyped-def]
            with engine.connect() as conn:
                return check_ledger(conn)

        checked = _timed("ledger check", rows, check)
        elapsed = time.perf_counter() - total
        engine.dispose()
    rows.insert(0, ("transactions / merchants", f"{n:,} / {m:,}"))
    rows.append(("settlement + fees + payouts + check", f"{elapsed:.1f} s (target < 60 s)"))
    rows.append(("throughput", f"{n / elapsed:,.0f} transactions/s"))
    notes = [
        f"generated in {generated:.1f} s with set-based SQL (not timed): {n:,} sales, 1% reversed, "
        f"0.5% voided, {DOUBLE_CHARGED} fees charged twice",
        f"cut-off: {report.items:,} settlement items, {report.payouts:,} T+1 payouts totalling "
        f"CNY {report.payout_total / 100:,.2f}, interchange CNY {report.interchange / 100:,.2f}, "
        f"{report.batches:,} batches reconciled",
        f"fee audit: {findings.lines_checked:,} fee lines, {len(findings.findings)} findings "
        f"(expected {DOUBLE_CHARGED} charged_twice)",
        f"ledger check: {'OK' if checked.ok else checked.counts}, "
        f"{checked.stats['entries']:,} entries, {checked.stats['rollups']:,} roll-ups",
        "SQLite in WAL mode with synchronous=FULL (the production settings); "
        "one write transaction for the cut-off",
    ]
    return BenchResult(
        name="settle",
        title="Settlement, fees and payouts (poskit bench settle)",
        rows=rows,
        notes=notes,
        data={
            "transactions": n,
            "seconds": round(elapsed, 2),
            "findings": len(findings.findings),
            "check_ok": checked.ok,
            "payouts": report.payouts,
        },
    )
