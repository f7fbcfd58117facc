"""``poskit merchants``: onboarding, change requests (商户信息变更) and compliance flags."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy.engine import Connection

from poskit.cli.app import DataDirOption, JsonOption, app, console, emit_json, fail
from poskit.cli.ledger import NowOption, parse_now, read_conn, resolve_merchant
from poskit.cli.operator import OperatorOption, PasswordStdinOption, decide, sign_in
from poskit.ledger.directory import parse_business_date
from poskit.ledger.merchant_changes import ChangeRequest, ChangeRequestError, list_changes
from poskit.ledger.monitoring import list_flags
from poskit.portal.decisions import (
    authorize_onboarding,
    clear_merchant_flag,
    request_merchant_change,
    review_merchant_change,
)
from poskit.tms.onboarding import OnboardingError, add_merchant

__all__ = ["merchants_app"]

merchants_app = typer.Typer(
    help="Merchant onboarding, change requests and compliance flags.", no_args_is_help=True
)
app.add_typer(merchants_app, name="merchants")


def _print(c: ChangeRequest, as_json: bool) -> None:
    if as_json:
        emit_json(c.to_json())
        return
    console.print(
        f"change {c.id} merchant#{c.merchant_id} {c.field}: {c.old_value!r} -> {c.new_value!r} "
        f"from {c.effective_from.isoformat()} [{c.status}] requested by {c.requested_by}"
        + (f", reviewed by {c.reviewed_by}" if c.reviewed_by else ""),
        highlight=False,
        markup=False,
    )


@merchants_app.command("add")
def add_command(
    merchant: Annotated[str, typer.Argument(help="Merchant number (field 42, 15 digits).")],
    acquirer: Annotated[str, typer.Option("--acquirer", help="Acquirer code.")],
    name: Annotated[str, typer.Option("--name", help="Name (as on the receipt).")],
    mcc: Annotated[str, typer.Option("--mcc", help="Merchant category code, 4 digits.")],
    address: Annotated[str, typer.Option("--address", help="Business address.")],
    account: Annotated[str, typer.Option("--settlement-account", help="Settlement account number.")],
    currency: Annotated[str, typer.Option("--currency", help="ISO 4217 alphabetic code, e.g. CNY.")],
    by: OperatorOption,
    name_en: Annotated[str, typer.Option("--name-en", help="English name.")] = "",
    city: Annotated[str, typer.Option("--city", help="City.")] = "",
    bank: Annotated[str, typer.Option("--settlement-bank", help="Settlement bank.")] = "",
    country: Annotated[
        str | None, typer.Option("--country", help="ISO 3166 numeric; default: the acquirer's.")
    ] = None,
    timezone: Annotated[
        str | None, typer.Option("--timezone", help="IANA zone; default: the acquirer's.")
    ] = None,
    language: Annotated[
        str | None, typer.Option("--language", help="Terminal language zh | en; default: the market's.")
    ] = None,
    password_stdin: PasswordStdinOption = False,
    now: NowOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Onboard a merchant (商户入网), as an administrator of its acquirer; then `poskit terminals add`
    gives it terminals."""
    at = parse_now(now, as_json=as_json)
    user = sign_in(data_dir, by, password_stdin=password_stdin, now=at, as_json=as_json)

    def onboard(conn: Connection) -> int:
        authorize_onboarding(conn, user, acquirer_code=acquirer)
        return add_merchant(
            conn,
            acquirer_code=acquirer,
            merchant_no=merchant,
            name=name,
            name_en=name_en,
            mcc=mcc,
            address=address,
            city=city,
            settlement_account=account,
            settlement_bank=bank,
            currency_code=currency,
            country=country,
            timezone=timezone,
            language=language,
            actor=user.username,
            now=at,
        )

    merchant_id = decide(data_dir, user, onboard, errors=(OnboardingError,), as_json=as_json)
    if as_json:
        emit_json({"merchant": merchant, "id": merchant_id})
        return
    console.print(f"merchant {merchant} ({name}) onboarded as #{merchant_id}", highlight=False, markup=False)


@merchants_app.command("change")
def change_command(
    merchant: Annotated[str, typer.Option("--merchant", help="Merchant number.")],
    field: Annotated[
        str,
        typer.Option(
            "--field", help="name, name_en, mcc, address, city, settlement_account, settlement_bank"
        ),
    ],
    value: Annotated[str, typer.Option("--value", help="The new value.")],
    effective: Annotated[
        str, typer.Option("--effective", help="Effective business date YYYY-MM-DD (today or later).")
    ],
    by: OperatorOption,
    reason: Annotated[str, typer.Option("--reason", help="Why.")] = "",
    password_stdin: PasswordStdinOption = False,
    now: NowOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """File a change request in your name; once another reviewer approves it, it takes effect from
    the start of that business date."""
    at = parse_now(now, as_json=as_json)
    try:
        day = parse_business_date(effective)
    except ValueError as exc:
        fail(str(exc), code=1, as_json=as_json)
    with read_conn(data_dir) as conn:
        merchant_id = resolve_merchant(conn, merchant, as_json=as_json).id
    user = sign_in(data_dir, by, password_stdin=password_stdin, now=at, as_json=as_json)
    change = decide(
        data_dir,
        user,
        lambda conn: request_merchant_change(
            conn,
            user,
            merchant_id=merchant_id,
            field=field,
            new_value=value,
            effective=day,
            reason=reason,
            now=at,
        ),
        errors=(ChangeRequestError,),
        as_json=as_json,
    )
    _print(change, as_json)


@merchants_app.command("review")
def review_command(
    request_id: Annotated[int, typer.Argument(help="Change request id.")],
    by: OperatorOption,
    approve: Annotated[bool, typer.Option("--approve/--reject", help="Approve or reject.")],
    note: Annotated[str, typer.Option("--note", help="Review note.")] = "",
    password_stdin: PasswordStdinOption = False,
    now: NowOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Approve or reject a change request: acquirer staff of the merchant's acquirer, never its
    requester (four eyes)."""
    at = parse_now(now, as_json=as_json)
    user = sign_in(data_dir, by, password_stdin=password_stdin, now=at, as_json=as_json)
    change = decide(
        data_dir,
        user,
        lambda conn: review_merchant_change(conn, user, request_id, approve=approve, note=note, now=at),
        errors=(ChangeRequestError,),
        as_json=as_json,
    )
    _print(change, as_json)


@merchants_app.command("changes")
def changes_command(
    merchant: Annotated[str | None, typer.Option("--merchant", help="Merchant number.")] = None,
    status: Annotated[
        str | None, typer.Option("--status", help="pending, approved, rejected, applied")
    ] = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Change requests and their review state."""
    with read_conn(data_dir) as conn:
        mid = resolve_merchant(conn, merchant, as_json=as_json).id if merchant else None
        rows = list_changes(conn, merchant_id=mid, status=status)
    if as_json:
        emit_json([c.to_json() for c in rows])
        return
    for c in rows:
        _print(c, False)


@merchants_app.command("flags")
def flags_command(
    merchant: Annotated[str | None, typer.Option("--merchant", help="Merchant number.")] = None,
    all_flags: Annotated[bool, typer.Option("--all", help="Include cleared flags.")] = False,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Compliance flags: MCC jumping, terminal used for another merchant, terminal off its site."""
    with read_conn(data_dir) as conn:
        mid = resolve_merchant(conn, merchant, as_json=as_json).id if merchant else None
        rows = list_flags(conn, merchant_id=mid, status=None if all_flags else "open")
    if as_json:
        emit_json([f.to_json() for f in rows])
        return
    for f in rows:
        console.print(
            f"flag {f.id} {f.kind} [{f.severity}] {f.status}: {f.summary}", highlight=False, markup=False
        )


@merchants_app.command("clear-flag")
def clear_flag_command(
    flag_id: Annotated[int, typer.Argument(help="Flag id.")],
    by: OperatorOption,
    note: Annotated[str, typer.Option("--note", help="Why it is cleared.")],
    password_stdin: PasswordStdinOption = False,
    now: NowOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Clear a flag after review (acquirer staff), keeping who cleared it and why."""
    at = parse_now(now, as_json=as_json)
    user = sign_in(data_dir, by, password_stdin=password_stdin, now=at, as_json=as_json)
    flag = decide(
        data_dir,
        user,
        lambda conn: clear_merchant_flag(conn, user, flag_id, note=note, now=at),
        as_json=as_json,
    )
    if as_json:
        emit_json(flag.to_json())
    else:
        console.print(
            f"flag {flag.id} cleared by {flag.cleared_by}: {flag.note}", highlight=False, markup=False
        )
