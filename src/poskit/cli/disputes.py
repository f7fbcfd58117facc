"""``poskit disputes``: merchant fee/transaction disputes (乱扣费追回) and issuer chargebacks."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from sqlalchemy import select
from sqlalchemy.engine import Connection

from poskit.cli.app import DataDirOption, JsonOption, app, console, emit_json, fail
from poskit.cli.ledger import NowOption, parse_now, read_conn, resolve_merchant, write_conn
from poskit.cli.operator import OperatorOption, PasswordStdinOption, decide, sign_in
from poskit.ledger import disputes as api
from poskit.money import Amount, AmountError
from poskit.portal import decisions
from poskit.store.schema import fee_lines, transactions

__all__ = ["disputes_app"]

disputes_app = typer.Typer(help="Disputes and chargebacks, with their timelines.", no_args_is_help=True)
app.add_typer(disputes_app, name="disputes")

#: The ledger's own refusals (a state, an amount), shown as they are.
_REFUSALS = (api.DisputeError, AmountError)
NoteOption = Annotated[str, typer.Option("--note", help="A note for the timeline.")]


def _txn_id(conn: Connection, rrn: str, as_json: bool) -> Any:
    row = conn.execute(
        select(transactions.c.id, transactions.c.merchant_id, transactions.c.currency).where(
            transactions.c.rrn == rrn
        )
    ).first()
    if row is None:
        fail(f"no transaction with RRN {rrn!r}", code=1, as_json=as_json)
    return row


def _fee_line_merchant(conn: Connection, fee_line_id: int | None) -> int | None:
    if fee_line_id is None:
        return None
    found = conn.execute(select(fee_lines.c.merchant_id).where(fee_lines.c.id == fee_line_id)).scalar()
    return int(found) if found is not None else None


def _minor(text: str | None, currency: str, as_json: bool) -> int | None:
    if text is None:
        return None
    try:
        return Amount.parse(text, currency).minor
    except AmountError as exc:
        fail(str(exc), as_json=as_json)


def _print(d: api.Dispute, as_json: bool) -> None:
    if as_json:
        emit_json(d.to_json())
        return
    subject = f"fee line {d.fee_line_id}" if d.fee_line_id else f"rrn {d.rrn}"
    console.print(
        f"dispute {d.id} [{d.kind}] {d.status}: merchant {d.merchant_no} {subject} "
        f"{d.currency} {Amount.of(d.amount, d.currency).plain()} - {d.reason}",
        highlight=False,
        markup=False,
    )
    for e in d.timeline:
        console.print(
            f"  {e.at.isoformat()} {e.actor}: {e.action} {e.note}".rstrip(), highlight=False, markup=False
        )


def _run(as_json: bool, data_dir: Any, action: Any) -> None:
    try:
        with write_conn(data_dir) as conn:
            dispute = action(conn)
    except api.DisputeError as exc:
        fail(str(exc), code=1, as_json=as_json)
    _print(dispute, as_json)


@disputes_app.command("open")
def open_command(
    reason: Annotated[str, typer.Option("--reason", help="What is wrong.")],
    by: OperatorOption,
    rrn: Annotated[str | None, typer.Option("--rrn", help="Dispute this transaction.")] = None,
    fee_line: Annotated[int | None, typer.Option("--fee-line", help="Dispute this fee line.")] = None,
    amount: Annotated[str | None, typer.Option("--amount", help="Amount claimed (default: all).")] = None,
    merchant: Annotated[
        str | None, typer.Option("--merchant", help="Merchant number (checked against the subject).")
    ] = None,
    password_stdin: PasswordStdinOption = False,
    now: NowOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """A merchant's owner disputes one of its fee lines or transactions, signed in as themselves."""
    at = parse_now(now, as_json=as_json)
    with read_conn(data_dir) as conn:
        txn = _txn_id(conn, rrn, as_json) if rrn else None
        if merchant is not None:
            expected = resolve_merchant(conn, merchant, as_json=as_json).id
            owner = txn.merchant_id if txn is not None else _fee_line_merchant(conn, fee_line)
            if owner is not None and owner != expected:
                fail(
                    f"that {'transaction' if txn else 'fee line'} is not merchant {merchant}'s",
                    code=1,
                    as_json=as_json,
                )
    user = sign_in(data_dir, by, password_stdin=password_stdin, now=at, as_json=as_json)
    dispute = decide(
        data_dir,
        user,
        lambda conn: decisions.open_merchant_dispute(
            conn,
            user,
            reason=reason,
            fee_line_id=fee_line,
            transaction_id=txn.id if txn is not None else None,
            amount=amount or "",
            now=at,
        ),
        errors=_REFUSALS,
        as_json=as_json,
    )
    _print(dispute, as_json)


@disputes_app.command("list")
def list_command(
    merchant: Annotated[str | None, typer.Option("--merchant", help="Merchant number.")] = None,
    status: Annotated[str | None, typer.Option("--status", help="open, under_review, upheld, ...")] = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Disputes and chargebacks, newest first."""
    with read_conn(data_dir) as conn:
        mid = resolve_merchant(conn, merchant, as_json=as_json).id if merchant else None
        rows = api.list_disputes(conn, merchant_id=mid, status=status)
    if as_json:
        emit_json([d.to_json() for d in rows])
        return
    for d in rows:
        console.print(
            f"{d.id} {d.kind} {d.status} {d.merchant_no} "
            f"{d.currency} {Amount.of(d.amount, d.currency).plain()} {d.reason}",
            highlight=False,
            markup=False,
        )


@disputes_app.command("show")
def show_command(
    dispute_id: Annotated[int, typer.Argument(help="Dispute id.")],
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """One dispute with its whole timeline."""
    try:
        with read_conn(data_dir) as conn:
            dispute = api.get_dispute(conn, dispute_id)
    except api.DisputeError as exc:
        fail(str(exc), code=1, as_json=as_json)
    _print(dispute, as_json)


@disputes_app.command("review")
def review_command(
    dispute_id: Annotated[int, typer.Argument(help="Dispute id.")],
    by: OperatorOption,
    note: NoteOption = "",
    password_stdin: PasswordStdinOption = False,
    now: NowOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Acquirer staff take a dispute under review."""
    at = parse_now(now, as_json=as_json)
    user = sign_in(data_dir, by, password_stdin=password_stdin, now=at, as_json=as_json)
    dispute = decide(
        data_dir,
        user,
        lambda conn: decisions.review_dispute(conn, user, dispute_id, note=note, now=at),
        errors=_REFUSALS,
        as_json=as_json,
    )
    _print(dispute, as_json)


@disputes_app.command("resolve")
def resolve_command(
    dispute_id: Annotated[int, typer.Argument(help="Dispute id.")],
    by: OperatorOption,
    uphold: Annotated[bool, typer.Option("--uphold/--reject", help="Uphold (refund) or reject.")],
    amount: Annotated[
        str | None, typer.Option("--amount", help="Refund (default: the disputed amount).")
    ] = None,
    note: NoteOption = "",
    password_stdin: PasswordStdinOption = False,
    now: NowOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Acquirer staff uphold a dispute (a refund entry the next payout carries) or reject it."""
    at = parse_now(now, as_json=as_json)
    user = sign_in(data_dir, by, password_stdin=password_stdin, now=at, as_json=as_json)
    dispute = decide(
        data_dir,
        user,
        lambda conn: decisions.resolve_dispute(
            conn, user, dispute_id, uphold=uphold, amount=amount or "", note=note, now=at
        ),
        errors=_REFUSALS,
        as_json=as_json,
    )
    _print(dispute, as_json)


@disputes_app.command("chargeback")
def chargeback_command(
    rrn: Annotated[str, typer.Option("--rrn", help="The transaction the issuer disputes.")],
    stage: Annotated[str, typer.Option("--stage", help="retrieval | chargeback")] = "chargeback",
    reason_code: Annotated[str, typer.Option("--reason-code", help="The issuer's reason code.")] = "4855",
    amount: Annotated[
        str | None, typer.Option("--amount", help="Amount charged back (default: all).")
    ] = None,
    reference: Annotated[str, typer.Option("--reference", help="The issuer's case reference.")] = "",
    now: NowOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Record an issuer retrieval request or chargeback (a chargeback holds the funds)."""
    at = parse_now(now, as_json=as_json)
    if stage not in ("retrieval", "chargeback"):
        fail("--stage must be retrieval or chargeback", as_json=as_json)

    def action(conn: Connection) -> api.Dispute:
        txn = _txn_id(conn, rrn, as_json)
        if stage == "retrieval":
            return api.receive_retrieval_request(
                conn, transaction_id=txn.id, reason_code=reason_code, issuer_reference=reference, now=at
            )
        return api.receive_chargeback(
            conn,
            transaction_id=txn.id,
            reason_code=reason_code,
            amount=_minor(amount, txn.currency, as_json),
            issuer_reference=reference,
            now=at,
        )

    _run(as_json, data_dir, action)


@disputes_app.command("represent")
def represent_command(
    dispute_id: Annotated[int, typer.Argument(help="Chargeback dispute id.")],
    by: OperatorOption,
    note: NoteOption = "",
    password_stdin: PasswordStdinOption = False,
    now: NowOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Acquirer staff represent a chargeback with the signed receipt (or PIN verification) on record."""
    at = parse_now(now, as_json=as_json)
    user = sign_in(data_dir, by, password_stdin=password_stdin, now=at, as_json=as_json)
    dispute = decide(
        data_dir,
        user,
        lambda conn: decisions.represent_dispute(conn, user, dispute_id, note=note, now=at),
        errors=_REFUSALS,
        as_json=as_json,
    )
    _print(dispute, as_json)


@disputes_app.command("result")
def result_command(
    dispute_id: Annotated[int, typer.Argument(help="Chargeback dispute id.")],
    won: Annotated[bool, typer.Option("--won/--lost", help="Did the merchant win?")],
    note: NoteOption = "",
    now: NowOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """The issuer's decision: release the hold (won) or return the funds to the issuer (lost)."""
    at = parse_now(now, as_json=as_json)
    _run(
        as_json,
        data_dir,
        lambda conn: api.record_chargeback_result(conn, dispute_id, merchant_won=won, note=note, now=at),
    )
