"""``poskit transactions show --rrn R``: one transaction as the acquirer sees it."""

from __future__ import annotations

from typing import Annotated

import typer

from poskit.cli.app import DataDirOption, JsonOption, app, console, emit_json, fail
from poskit.cli.ledger import read_conn
from poskit.ledger.views import TransactionNotFoundError, describe_transaction

__all__ = ["transactions_app"]

transactions_app = typer.Typer(help="Transactions as the acquirer sees them.", no_args_is_help=True)
app.add_typer(transactions_app, name="transactions")


@transactions_app.command("show")
def show_command(
    rrn: Annotated[str, typer.Option("--rrn", help="Retrieval reference number (field 37).")],
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Amount, fee with its formula, net, status, settlement, journals, disputes and flags."""
    with read_conn(data_dir) as conn:
        try:
            data = describe_transaction(conn, rrn=rrn)
        except TransactionNotFoundError as exc:
            fail(str(exc), code=1, as_json=as_json)
    if as_json:
        emit_json(data)
        return
    cur = data["currency"]
    settlement = data["settlement"]
    lines = [
        f"RRN {data['rrn']}  {data['txn_type']}  {data['status']} ({data['response_code']})",
        f"merchant {data['merchant_no']} {data['merchant_name']}  terminal {data['terminal_id']}  "
        f"batch {data['batch_no']} voucher {data['voucher_no']}",
        f"card {data['card']['pan']} {data['card']['scheme']}/{data['card']['funding']}/"
        f"{data['card']['origin']}",
        f"amount {cur} {data['amount']}   fee {cur} {data['fee']}   net {cur} {data['net']}",
        f"fee formula: {data['fee_formula'] or '-'}",
        f"settlement: {settlement['status']}"
        + (f" {settlement['mode']} {settlement['business_date']}" if settlement.get("business_date") else "")
        + (f" payout {settlement['payout_id']}" if settlement.get("payout_id") else ""),
    ]
    signature = data["signature"]
    lines.append(
        "signature: "
        + (
            "signed"
            if signature["signed"]
            else "missing (补签: poskit sign, or the portal)"
            if signature["outstanding"]
            else "required, not in force"
            if signature["required"]
            else "not required"
        )
    )
    for line in data["fee_lines"]:
        lines.append(
            f"  fee line {line['id']} {line['rule']} v{line['schedule_version']}: {line['formula']} "
            f"({line['status']})"
        )
    for d in data["disputes"]:
        lines.append(f"  dispute {d['id']} {d['kind']} {d['status']} {cur} {d['amount']}")
    for f in data["flags"]:
        lines.append(f"  flag {f['id']} {f['kind']} {f['status']}: {f['summary']}")
    console.print("\n".join(lines), highlight=False, markup=False)
