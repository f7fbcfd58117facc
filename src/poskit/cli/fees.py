"""``poskit fees``: contract history and the fee audit (乱扣费 check)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from poskit.cli.app import DataDirOption, JsonOption, app, console, emit_json
from poskit.cli.ledger import NowOption, parse_now, read_conn, resolve_merchant, write_conn
from poskit.ledger.audit import audit_fees
from poskit.ledger.disputes import open_disputes_from_findings
from poskit.ledger.fees import lawful_from, load_schedules
from poskit.money import Amount

__all__ = ["fees_app"]

fees_app = typer.Typer(help="Merchant fee contracts and the fee audit.", no_args_is_help=True)
app.add_typer(fees_app, name="fees")


@fees_app.command("audit")
def audit_command(
    merchant: Annotated[
        str | None, typer.Option("--merchant", help="Merchant number (default: all).")
    ] = None,
    open_disputes: Annotated[
        bool,
        typer.Option("--open-disputes", help="Open a dispute for every finding still owed (idempotent)."),
    ] = False,
    now: NowOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Recompute every fee from the contract in force and report each overcharge with its evidence
    and the amount owed. Exit 1 when money is owed."""
    at = parse_now(now, as_json=as_json)
    opened: list[int] = []
    if open_disputes:
        with write_conn(data_dir) as conn:
            mid = resolve_merchant(conn, merchant, as_json=as_json).id if merchant else None
            report = audit_fees(conn, merchant_id=mid)
            opened = [d.id for d in open_disputes_from_findings(conn, report.findings, now=at)]
            report = audit_fees(conn, merchant_id=mid)
    else:
        with read_conn(data_dir) as conn:
            mid = resolve_merchant(conn, merchant, as_json=as_json).id if merchant else None
            report = audit_fees(conn, merchant_id=mid)
    owed = {cur: v for cur, v in report.owed.items() if v}
    if as_json:
        emit_json({**report.to_json(), "disputes_opened": opened})
    else:
        for f in report.findings:
            console.print(
                f"{f.kind}: merchant {f.merchant_no} rrn {f.rrn or '-'} line {f.fee_line_id}: {f.message}; "
                f"owed {f.currency} {Amount.of(f.owed, f.currency).plain()}"
                + (f" (dispute {f.dispute_id})" if f.dispute_id else ""),
                highlight=False,
                markup=False,
            )
        summary = ", ".join(f"{cur} {Amount.of(v, cur).plain()}" for cur, v in owed.items()) or "nothing"
        console.print(
            f"{len(report.findings)} findings in {report.lines_checked} fee lines; "
            f"owed to merchants: {summary}"
            + (f"; disputes opened: {', '.join(map(str, opened))}" if opened else ""),
            highlight=False,
            markup=False,
        )
    if owed:
        raise typer.Exit(1)


@fees_app.command("show")
def show_command(
    merchant: Annotated[str, typer.Option("--merchant", help="Merchant number.")],
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """The merchant's contract history: every version with effective, notice and binding dates."""
    with read_conn(data_dir) as conn:
        info = resolve_merchant(conn, merchant, as_json=as_json)
        versions = load_schedules(conn, info.id).get(info.id, [])
    data: list[dict[str, object]] = []
    for i, v in enumerate(versions):
        binding = lawful_from(v, first=i == 0)
        data.append(
            {
                "version": v.version,
                "effective_from": v.effective_from.isoformat(),
                "effective_to": v.effective_to.isoformat() if v.effective_to else None,
                "notified_at": v.notified_at.isoformat() if v.notified_at else None,
                "binding_from": binding.isoformat() if binding else None,
                "description": v.description,
                "rules": [
                    {
                        "rule": r.rule,
                        "kind": r.kind,
                        "rate": str(r.rate) if r.rate is not None else None,
                        "fixed": Amount.of(r.fixed, r.currency).plain() if r.fixed is not None else None,
                        "cap": Amount.of(r.cap, r.currency).plain() if r.cap is not None else None,
                        "period": r.period,
                        "currency": r.currency,
                    }
                    for r in v.rules
                ],
            }
        )
    if as_json:
        emit_json({"merchant_no": info.merchant_no, "versions": data})
        return
    for item in data:
        table = Table(
            title=f"{info.merchant_no} v{item['version']} from {str(item['effective_from'])[:10]} "
            f"(notified {str(item['notified_at'])[:10]}, binding {str(item['binding_from'])[:10]})"
        )
        for col in ("rule", "kind", "rate %", "fixed", "cap", "period"):
            table.add_column(col)
        rules: list[dict[str, object]] = item["rules"]  # type: ignore[assignment]
        for r in rules:
            table.add_row(*(str(r[k] or "-") for k in ("rule", "kind", "rate", "fixed", "cap", "period")))
        console.print(table)
