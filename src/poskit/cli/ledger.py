"""``poskit ledger``: check the books (every break named) and show derived balances.

Also holds the small helpers the other money commands share (database, time, merchants).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import Engine
from sqlalchemy.engine import Connection

from poskit.cli.app import DataDirOption, JsonOption, app, console, emit_json, fail, settings_from
from poskit.ledger.balances import account_balances
from poskit.ledger.check import check_ledger
from poskit.ledger.directory import MerchantInfo, UnknownMerchantError, merchant_info
from poskit.money import Amount
from poskit.store.db import WRITE, make_engine
from poskit.store.migrate import current_revision, head_revision, upgrade

__all__ = [
    "NowOption",
    "ledger_app",
    "open_engine",
    "parse_now",
    "read_conn",
    "resolve_merchant",
    "write_conn",
]

ledger_app = typer.Typer(help="The double-entry ledger: checks and balances.", no_args_is_help=True)
app.add_typer(ledger_app, name="ledger")

NowOption = Annotated[
    str | None,
    typer.Option("--now", hidden=True, help="Pretend it is this ISO-8601 instant (tests and replays)."),
]


def open_engine(data_dir: Path | None) -> Engine:
    """The host database of the data directory, migrated."""
    engine = make_engine(settings_from(data_dir).resolved_database_url)
    if current_revision(engine) != head_revision():
        upgrade(engine)
    return engine


@contextmanager
def write_conn(data_dir: Path | None) -> Iterator[Connection]:
    """One durable write transaction on the host database."""
    engine = open_engine(data_dir)
    try:
        with engine.connect().execution_options(**WRITE) as conn, conn.begin():
            yield conn
    finally:
        engine.dispose()


@contextmanager
def read_conn(data_dir: Path | None) -> Iterator[Connection]:
    engine = open_engine(data_dir)
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


def parse_now(text: str | None, *, as_json: bool = False) -> datetime:
    if text is None:
        return datetime.now(UTC)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        fail(f"invalid --now {text!r}: expected an ISO-8601 instant", as_json=as_json)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def resolve_merchant(conn: Connection, ref: str, *, as_json: bool = False) -> MerchantInfo:
    """A merchant by merchant number (or database id)."""
    try:
        return merchant_info(conn, int(ref) if len(ref) < 15 and ref.isdigit() else ref)
    except UnknownMerchantError as exc:
        fail(str(exc), code=2, as_json=as_json)


@ledger_app.command("check")
def check_command(data_dir: DataDirOption = None, as_json: JsonOption = False) -> None:
    """Verify journals balance, approved transactions are settled or reversed exactly once, and
    balances (roll-ups) equal the sum of entries. Exit 1 naming every break."""
    settings = settings_from(data_dir)
    if settings.database_url is None and not (settings.data_dir / "poskit.sqlite").exists():
        # checking would create an empty database and call it OK
        fail(
            f"no poskit data in {settings.data_dir.resolve()}: run `poskit up` there first"
            " or pass --data-dir",
            as_json=as_json,
        )
    with read_conn(data_dir) as conn:
        report = check_ledger(conn)
    if as_json:
        emit_json(report.to_json())
    elif report.ok:
        s = report.stats
        console.print(
            f"[green]ledger OK[/]: {s['journals']} journals, {s['entries']} entries, "
            f"{s['transactions']} transactions, {s['settlement_items']} settlement items, "
            f"{s['rollups']} roll-ups"
        )
    else:
        for b in report.breaks:
            console.print(f"[red]BREAK[/] {b.kind}: {b.subject}: {b.detail}", highlight=False, markup=True)
        shown = len(report.breaks)
        total = sum(report.counts.values())
        if total > shown:
            console.print(f"... {total - shown} more breaks not listed")
    if not report.ok:
        raise typer.Exit(1)


@ledger_app.command("balances")
def balances_command(
    merchant: Annotated[str | None, typer.Option("--merchant", help="Merchant number.")] = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Every account (or one merchant's) with its balance derived from entries and roll-ups."""
    with read_conn(data_dir) as conn:
        mid = resolve_merchant(conn, merchant, as_json=as_json).id if merchant else None
        rows = account_balances(conn, merchant_id=mid)
    data = [
        {
            "code": r.code,
            "kind": r.kind,
            "name": r.name,
            "currency": r.currency,
            "balance": Amount.of(r.balance, r.currency).plain(),
            "balance_minor": r.balance,
        }
        for r in rows
    ]
    if as_json:
        emit_json(data)
        return
    table = Table(title="ledger balances (debit +, credit -)")
    for col in ("account", "kind", "balance"):
        table.add_column(col, justify="right" if col == "balance" else "left")
    for r in data:
        table.add_row(str(r["code"]), str(r["kind"]), f"{r['currency']} {r['balance']}")
    console.print(table)
