"""``poskit settle-day`` and ``poskit settlement``: cut-off, payouts, D0, statements, reconciliation."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from poskit.cli.app import DataDirOption, JsonOption, app, console, emit_json, fail, settings_from
from poskit.cli.ledger import NowOption, parse_now, read_conn, resolve_merchant, write_conn
from poskit.cli.operator import OperatorOption, PasswordStdinOption, decide, sign_in
from poskit.ledger.directory import all_acquirers, parse_business_date
from poskit.ledger.payouts import (
    D0NotAvailableError,
    NothingToPayError,
    list_payouts,
    write_payout_file,
)
from poskit.ledger.reconciliation import reconciliation_report
from poskit.ledger.settlement import CutoffError, settle_day
from poskit.ledger.statements import CjkFontMissingError, build_statement, statement_csv, statement_pdf
from poskit.money import Amount

__all__ = ["settle_day_command", "settlement_app"]

settlement_app = typer.Typer(
    help="Settlement: payouts, D0, statements, reconciliation.", no_args_is_help=True
)
app.add_typer(settlement_app, name="settlement")

DateOption = Annotated[str | None, typer.Option("--date", help="Business date YYYY-MM-DD.")]


def _date(text: str | None, as_json: bool) -> date | None:
    if text is None:
        return None
    try:
        return parse_business_date(text)
    except ValueError as exc:
        fail(str(exc), as_json=as_json)


@app.command("settle-day")
def settle_day_command(
    business_date: DateOption = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Directory for payout files (default DATA_DIR/payouts).")
    ] = None,
    now: NowOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Run the daily cut-off (default: yesterday in the acquirer's zone): settle, pay T+1, reconcile.
    Running it again for the same day changes nothing."""
    at = parse_now(now, as_json=as_json)
    day = _date(business_date, as_json)
    directory = out or settings_from(data_dir).data_dir / "payouts"
    files: list[str] = []
    try:
        with write_conn(data_dir) as conn:
            reports = settle_day(conn, business_date=day, now=at)
    except CutoffError as exc:
        fail(str(exc), code=1, as_json=as_json)
    with read_conn(data_dir) as conn:
        by_code = {a.code: a for a in all_acquirers(conn)}
        for report in reports:
            acquirer = by_code[report.acquirer]
            files.append(
                str(
                    write_payout_file(
                        conn, acquirer=acquirer, business_date=report.business_date, directory=directory
                    )
                )
            )
    if as_json:
        emit_json(
            {"cutoffs": [{**r.to_json(), "payout_file": f} for r, f in zip(reports, files, strict=True)]}
        )
        return
    for r, f in zip(reports, files, strict=True):
        state = "already done (nothing changed)" if r.already_done else "done"

        def cny(minor: int) -> str:
            return Amount.of(minor, "CNY").plain()

        console.print(
            f"cut-off {r.business_date} acquirer {r.acquirer} ({r.timezone}): {state}\n"
            f"  items {r.items}, gross {cny(r.gross)}, fees {cny(r.fees)}, net {cny(r.net)}, "
            f"interchange {cny(r.interchange)}\n"
            f"  payouts {r.payouts} totalling {cny(r.payout_total)} -> {f}\n"
            f"  batches reconciled {r.batches} (with breaks: {r.batch_breaks}); "
            f"periodic fees {r.periodic_fees}; flags {r.flags_raised}; "
            f"merchant changes applied {r.changes_applied}",
            highlight=False,
            markup=False,
        )


@settlement_app.command("d0")
def d0_command(
    merchant: Annotated[str, typer.Option("--merchant", help="Merchant number.")],
    by: OperatorOption,
    request_key: Annotated[str | None, typer.Option("--key", help="Idempotency key of the request.")] = None,
    password_stdin: PasswordStdinOption = False,
    now: NowOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Pay today's unsettled sales now (D0 / 秒到), less the contract's D0 fee per transaction: the
    merchant owner's request, as in the portal."""
    from poskit.portal.decisions import request_instant_payout  # the portal's rules, loaded for D0 only

    at = parse_now(now, as_json=as_json)
    with read_conn(data_dir) as conn:
        merchant_id = resolve_merchant(conn, merchant, as_json=as_json).id
    user = sign_in(data_dir, by, password_stdin=password_stdin, now=at, as_json=as_json)
    payout = decide(
        data_dir,
        user,
        lambda conn: request_instant_payout(conn, user, merchant_id, request_key=request_key, now=at),
        errors=(D0NotAvailableError, NothingToPayError),
        as_json=as_json,
    )
    if as_json:
        emit_json(payout.to_json())
        return
    console.print(
        f"D0 payout {payout.id}: {payout.currency} {Amount.of(payout.amount, payout.currency).plain()} "
        f"to {payout.bank} ****{payout.account_no[-4:]} "
        f"(D0 fee {Amount.of(payout.fee, payout.currency).plain()})",
        highlight=False,
        markup=False,
    )


@settlement_app.command("payouts")
def payouts_command(
    merchant: Annotated[str | None, typer.Option("--merchant", help="Merchant number.")] = None,
    business_date: DateOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Payouts made (T+1 and D0), newest first."""
    with read_conn(data_dir) as conn:
        mid = resolve_merchant(conn, merchant, as_json=as_json).id if merchant else None
        rows = list_payouts(conn, merchant_id=mid, business_date=business_date)
    if as_json:
        emit_json([p.to_json() for p in rows])
        return
    for p in rows:
        console.print(
            f"{p.business_date} {p.kind} payout {p.id}: "
            f"{p.currency} {Amount.of(p.amount, p.currency).plain()} to {p.bank} ****{p.account_no[-4:]}",
            highlight=False,
            markup=False,
        )


@settlement_app.command("statement")
def statement_command(
    merchant: Annotated[str, typer.Option("--merchant", help="Merchant number.")],
    start: Annotated[str, typer.Option("--from", help="First business date YYYY-MM-DD.")],
    end: Annotated[str | None, typer.Option("--to", help="Last business date (default: --from).")] = None,
    pdf: Annotated[Path | None, typer.Option("--pdf", help="Write the PDF statement here.")] = None,
    csv_path: Annotated[Path | None, typer.Option("--csv", help="Write the CSV statement here.")] = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """A merchant statement for a period: gross, each fee line, refunds, holds, payouts and net."""
    first = _date(start, as_json)
    last = _date(end, as_json) or first
    assert first is not None and last is not None
    with read_conn(data_dir) as conn:
        info = resolve_merchant(conn, merchant, as_json=as_json)
        try:
            st = build_statement(conn, info.id, first, last)
        except ValueError as exc:
            fail(str(exc), as_json=as_json)
    if csv_path is not None:
        csv_path.write_text(statement_csv(st), encoding="utf-8")
    if pdf is not None:
        try:
            pdf.write_bytes(statement_pdf(st))
        except CjkFontMissingError as exc:
            fail(str(exc), code=1, as_json=as_json)
    money = {k: Amount.of(v, st.currency).plain() for k, v in st.totals.items()}
    if as_json:
        emit_json(
            {
                "merchant_no": info.merchant_no,
                "from": first.isoformat(),
                "to": last.isoformat(),
                "currency": st.currency,
                "opening": Amount.of(st.opening, st.currency).plain(),
                "closing": Amount.of(st.closing, st.currency).plain(),
                "totals": money,
                "movements": len(st.lines),
                "fee_lines": [
                    {
                        "rrn": f.rrn,
                        "rule": f.rule,
                        "fee": Amount.of(f.amount, st.currency).plain(),
                        "formula": f.formula,
                        "status": f.status,
                    }
                    for f in st.fee_lines
                ],
                "csv": str(csv_path) if csv_path else None,
                "pdf": str(pdf) if pdf else None,
            }
        )
        return
    console.print(statement_csv(st), highlight=False, markup=False)


@settlement_app.command("recon")
def recon_command(
    business_date: DateOption = None,
    breaks_only: Annotated[bool, typer.Option("--breaks", help="Only batches with breaks.")] = False,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """The reconciliation report of terminal batches against host records: every break listed."""
    with read_conn(data_dir) as conn:
        results = reconciliation_report(conn, business_date=business_date, breaks_only=breaks_only)
    if as_json:
        emit_json([r.to_json() for r in results])
        return
    if not results:
        console.print("no reconciled batches")
    for r in results:
        console.print(
            f"{r.business_date} terminal {r.terminal_id} batch {r.batch_no:06d}: {r.status}",
            highlight=False,
            markup=False,
        )
        for b in r.breaks:
            console.print(f"  BREAK {b['kind']}: {b['detail']}", highlight=False, markup=False)
