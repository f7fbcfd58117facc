"""End of day at the terminal: settlement (0500), batch upload (0320), report, new batch, sign-off.

Totals follow the UnionPay rule: debit = sales and completions (a voided sale still
counts, its void counts as a credit), credit = voids, refunds and completion voids;
domestic and foreign cards separately. The host answers with its own totals and
"balanced" or "not balanced"; when not balanced the terminal uploads every detail
(201, eight per message) and ends the upload (207) so the host can find the break.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from poskit.iso8583.model import BatchItem, BatchUpload, Reconciliation, Request, Totals, TxnType
from poskit.money import Amount
from poskit.terminal.devices.ports import PrinterError
from poskit.terminal.store import BatchRecord

if TYPE_CHECKING:
    from poskit.terminal.engine import TerminalEngine, TxnOutcome

__all__ = ["CREDIT_TYPES", "DEBIT_TYPES", "batch_totals", "settle", "settlement_report", "totals_slip"]

DEBIT_TYPES = frozenset({"sale", "completion", "completion_advice"})
CREDIT_TYPES = frozenset({"void", "refund", "completion_void"})
_COUNTED_DEBIT_STATUS = frozenset({"approved", "voided", "completed"})
_UPLOAD_CHUNK = 8


def batch_totals(records: list[BatchRecord]) -> Totals:
    """Settlement totals of a batch's records (minor units)."""
    t = dict.fromkeys(f.name for f in dataclasses.fields(Totals))
    values: dict[str, int] = {k: 0 for k in t}
    for r in records:
        side = (
            "debit"
            if r.txn_type in DEBIT_TYPES and r.status in _COUNTED_DEBIT_STATUS
            else "credit"
            if r.txn_type in CREDIT_TYPES and r.status == "approved"
            else None
        )
        if side is None:
            continue
        prefix = f"foreign_{side}" if r.foreign_card else side
        values[f"{prefix}_amount"] += r.amount
        values[f"{prefix}_count"] += 1
    return Totals(**values)


def totals_json(totals: Totals | None, currency: str) -> dict[str, Any] | None:
    if totals is None:
        return None
    out: dict[str, Any] = {}
    for f in dataclasses.fields(Totals):
        value = getattr(totals, f.name)
        out[f.name] = Amount.of(value, currency).plain() if f.name.endswith("amount") else value
    return out


def _slip_head(engine: TerminalEngine, batch: int) -> list[str]:
    return [
        f"商户 MERCHANT: {engine.profile.merchant_name}",
        f"商户编号 MERCHANT NO.: {engine.profile.merchant_no}",
        f"终端 TERMINAL: {engine.profile.terminal_id}",
        f"操作员 OPERATOR: {engine.profile.operator or '-'}",
        f"批次号 BATCH: {batch:06d}",
        f"时间 DATE/TIME: {engine._local_now():%Y-%m-%d %H:%M:%S}",
        "-" * 32,
    ]


def _totals_table(totals: Totals, money: Callable[[int], str]) -> list[str]:
    """Debit (sales) and credit (voids, refunds) counts and amounts, domestic and foreign cards."""
    return [
        "内卡 DOMESTIC  COUNT       AMOUNT",
        f"借记 DEBIT   {totals.debit_count:>5} {money(totals.debit_amount):>12}",
        f"贷记 CREDIT  {totals.credit_count:>5} {money(totals.credit_amount):>12}",
        "外卡 FOREIGN   COUNT       AMOUNT",
        f"借记 DEBIT   {totals.foreign_debit_count:>5} {money(totals.foreign_debit_amount):>12}",
        f"贷记 CREDIT  {totals.foreign_credit_count:>5} {money(totals.foreign_credit_amount):>12}",
        "-" * 32,
    ]


def totals_slip(engine: TerminalEngine, batch: int, totals: Totals, transactions: int) -> list[str]:
    """The open batch's totals as the terminal prints them before settling (结算前查询)."""
    cur = engine.profile.currency

    def money(v: int) -> str:
        return Amount.of(v, cur).grouped()

    return [
        "批次总计 BATCH TOTALS",
        *_slip_head(engine, batch),
        *_totals_table(totals, money),
        f"未结算 NOT YET SETTLED: {transactions} 笔 TRANSACTIONS ({cur})",
    ]


def settlement_report(
    engine: TerminalEngine, batch: int, totals: Totals, host: Totals | None, balanced: bool
) -> list[str]:
    cur = engine.profile.currency

    def money(v: int) -> str:
        return Amount.of(v, cur).grouped()

    lines = [
        *_slip_head(engine, batch),
        *_totals_table(totals, money),
        "对账平 BALANCED" if balanced else "对账不平 NOT BALANCED",
    ]
    if host is not None and not balanced:
        lines += [
            "主机 HOST",
            f"借记 DEBIT  {host.debit_count:>5}  {money(host.debit_amount):>12}",
            f"贷记 CREDIT {host.credit_count:>5}  {money(host.credit_amount):>12}",
        ]
    return lines


async def settle(engine: TerminalEngine) -> TxnOutcome:
    """Settle the current batch with the host, upload details if needed, open the next batch."""
    from poskit.terminal.engine import TxnOutcome

    if engine.profile.operator is None:
        return engine._fail("no operator signed in: sign in first (poskit login 01)")
    blocked = await engine.ensure_ready()
    if blocked is not None:
        return blocked
    if not await engine.send_pending_uploads():
        return engine._fail(
            "some advices or signatures could not be sent yet: check the network, then settle "
            "again (nothing was settled)"
        )
    store, p = engine.store, engine.profile
    batch = store.batch_no()
    records = [r for r in store.records(batch) if not r.settled]
    totals = batch_totals(records)
    request = Request(
        TxnType.SETTLEMENT,
        p.terminal_id,
        p.merchant_no,
        store.next_stan(),
        batch,
        currency=engine._currency(),
        operator=p.operator,
        totals=totals,
        local_datetime=engine._local_now().replace(tzinfo=None),
    )
    await engine._say(f"Settling batch {batch:06d}...")
    ex = await engine._exchange(request)
    if ex.response is None:
        return engine._fail(
            f"settlement not completed ({ex.error}); the batch is unchanged: retry", batch=batch
        )
    response = ex.response
    if not ex.mac_ok:
        return engine._fail(
            "the host's settlement answer failed its MAC check: retry the settlement", batch=batch
        )
    if not response.approved:
        return TxnOutcome(
            "declined",
            f"settlement refused: {response.response_code}",
            response_code=response.response_code,
            terminal=p.terminal_id,
            batch=batch,
            txn_type="settlement",
        )
    balanced = response.reconciliation in (
        Reconciliation.BALANCED,
        None,
    ) and response.foreign_reconciliation in (Reconciliation.BALANCED, None, Reconciliation.NOT_CHECKED)
    uploaded = 0
    if not balanced:
        uploaded = await _batch_upload(engine, batch, records)
        if uploaded < 0:
            return engine._fail("the batch upload did not complete; settle again to resend it", batch=batch)
    lines = settlement_report(engine, batch, totals, response.totals, balanced)
    try:
        await engine.devices.printer.print_report("结算单 SETTLEMENT", lines)
    except PrinterError as exc:
        store.log_event("settlement_report_not_printed", batch=batch, reason=str(exc)[:100])
    for r in records:
        store.update_record(r.id, settled=True)
    store.set_batch_no(batch + 1 if batch < 999_999 else 1)
    store.log_event("settled", batch=batch, balanced=balanced, uploaded=uploaded)
    signed_off = await engine.sign_off()
    await engine._say(
        "Settlement complete" + ("" if balanced else " (not balanced: details uploaded)"), "success"
    )
    cur = p.currency
    return TxnOutcome(
        "approved",
        "settlement complete: " + ("balanced" if balanced else "NOT balanced, details uploaded"),
        response_code=response.response_code,
        terminal=p.terminal_id,
        batch=batch,
        txn_type="settlement",
        extra={
            "balanced": balanced,
            "terminal_totals": totals_json(totals, cur),
            "host_totals": totals_json(response.totals, cur),
            "uploaded": uploaded,
            "next_batch": f"{store.batch_no():06d}",
            "signed_off": signed_off.approved,
            "report": lines,
        },
    )


async def _batch_upload(engine: TerminalEngine, batch: int, records: list[BatchRecord]) -> int:
    """Send every detail (201, eight per message), then the end (207); -1 if it failed."""
    p = engine.profile
    items = [
        BatchItem(
            stan=r.stan, pan=engine.element.reveal_pan(r.pan_token), amount=r.amount, foreign=r.foreign_card
        )
        for r in records
        if r.pan_token
        and r.status != "reversed"
        and (r.txn_type in DEBIT_TYPES or r.txn_type in CREDIT_TYPES)
    ]
    for start in range(0, len(items), _UPLOAD_CHUNK):
        chunk = tuple(items[start : start + _UPLOAD_CHUNK])
        request = Request(
            TxnType.BATCH_UPLOAD,
            p.terminal_id,
            p.merchant_no,
            engine.store.next_stan(),
            batch,
            batch_upload=BatchUpload("201", chunk),
            operator=p.operator,
            local_datetime=engine._local_now().replace(tzinfo=None),
        )
        ex = await engine._exchange(request)
        if ex.response is None or ex.response.response_code not in ("00", "94"):
            return -1
    end = Request(
        TxnType.BATCH_UPLOAD_END,
        p.terminal_id,
        p.merchant_no,
        engine.store.next_stan(),
        batch,
        batch_upload=BatchUpload("207", count=len(items)),
        operator=p.operator,
        local_datetime=engine._local_now().replace(tzinfo=None),
    )
    ex = await engine._exchange(end)
    if ex.response is None or ex.response.response_code != "00":
        return -1
    return len(items)
