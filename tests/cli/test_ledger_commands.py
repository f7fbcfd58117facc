"""The money commands end to end on a data directory: settle-day, ledger check, fees audit, transactions,
settlement, disputes and merchants."""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parents[1] / "ledger"))

from cli_operators import add_users, as_user
from ledger_world import CAFE, NOODLE, NOW, World

from poskit.cli import commands  # noqa: F401  (registers every command)
from poskit.cli.app import app
from poskit.ledger.events import FeeCharge, post_fee_charges
from poskit.ledger.fees import quote_fee, schedule_in_force
from poskit.money import Amount
from poskit.store.db import make_engine
from poskit.store.migrate import upgrade
from poskit.store.schema import ledger_entries

runner = CliRunner()
NEXT_MORNING = (NOW + timedelta(days=1)).isoformat()


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli-template") / "poskit.sqlite"
    eng = make_engine(f"sqlite:///{path}")
    upgrade(eng)
    eng.dispose()
    return path


@pytest.fixture
def data(tmp_path: Path, template: Path) -> Iterator[tuple[Path, World]]:
    """A data directory whose host database holds the ledger test world."""
    shutil.copyfile(template, tmp_path / "poskit.sqlite")
    eng = make_engine(f"sqlite:///{tmp_path / 'poskit.sqlite'}")
    yield tmp_path, World(eng)
    eng.dispose()


def run(data_dir: Path, *args: str) -> Any:
    result = runner.invoke(app, [*args, "--data-dir", str(data_dir)])
    return result


def run_json(data_dir: Path, *args: str, code: int = 0) -> Any:
    result = run(data_dir, *args, "--json")
    assert result.exit_code == code, result.output
    return json.loads(result.stdout)


def test_settle_day_twice_changes_nothing(data: tuple[Path, World]) -> None:
    """settle-day pays T+1 and writes the payout file; a second run reports it done, same file."""
    data_dir, world = data
    world.sale(123450)
    world.sale(8800, merchant=NOODLE)
    first = run_json(data_dir, "settle-day", "--date", "2026-11-24", "--now", NEXT_MORNING)["cutoffs"][0]
    assert (first["already_done"], first["payouts"], first["payout_total"]) == (False, 2, 122709 + 8747)
    path = Path(first["payout_file"])
    assert path.parent == data_dir / "payouts"
    content = path.read_bytes()
    second = run_json(data_dir, "settle-day", "--date", "2026-11-24", "--now", NEXT_MORNING)["cutoffs"][0]
    assert second["already_done"] is True and path.read_bytes() == content
    assert b"898310058120001" in content and b"1227.09" in content
    text = run(data_dir, "settle-day", "--date", "2026-11-24", "--now", NEXT_MORNING)
    assert text.exit_code == 0 and "already done" in text.stdout
    early = run(data_dir, "settle-day", "--date", "2026-11-26", "--now", NEXT_MORNING)
    assert early.exit_code == 1 and "not over" in early.output


def test_transactions_show_json_keys(data: tuple[Path, World]) -> None:
    """transactions show --json has amount, fee, fee_formula, net, status and settlement."""
    data_dir, world = data
    txn = world.sale(123450)
    shown = run_json(data_dir, "transactions", "show", "--rrn", txn.rrn)
    assert {"amount", "fee", "fee_formula", "net", "status", "settlement"} <= set(shown)
    assert (shown["amount"], shown["fee"], shown["net"]) == ("1234.50", "7.41", "1227.09")
    assert shown["fee_formula"] == "0.60% of 1,234.50 = 7.41" and shown["settlement"]["status"] == "pending"
    text = run(data_dir, "transactions", "show", "--rrn", txn.rrn)
    assert "0.60% of 1,234.50 = 7.41" in text.stdout
    assert "signature: not required" in text.stdout and shown["signature"]["required"] is False
    assert run(data_dir, "transactions", "show", "--rrn", "nope").exit_code == 1


def test_ledger_check_names_each_break(data: tuple[Path, World]) -> None:
    """A clean ledger exits 0; a tampered entry exits 1 naming the unbalanced journal and its statement."""
    data_dir, world = data
    world.sale(5000)
    ok = run_json(data_dir, "ledger", "check")
    assert ok["ok"] is True
    with world.begin() as conn:
        conn.execute(update(ledger_entries).where(ledger_entries.c.id == 1).values(amount=1))
    bad = run(data_dir, "ledger", "check")
    assert bad.exit_code == 1
    assert "journal_unbalanced: journal 1 txn:1:sale" in bad.stdout
    assert run_json(data_dir, "ledger", "check", code=1)["counts"] == {
        "journal_unbalanced": 1,
        "statement_does_not_add_up": 1,
    }
    balances = run_json(data_dir, "ledger", "balances", "--merchant", CAFE)
    assert [b["code"] for b in balances] == [f"merchant_payable:{CAFE}:CNY"]


def test_fee_audit_opens_disputes_that_staff_uphold(data: tuple[Path, World]) -> None:
    """fees audit finds the double charge (exit 1), opens its dispute, and after the refund owes nothing."""
    data_dir, world = data
    txn = world.sale(100000)
    with world.begin() as conn:
        quote = quote_fee(
            schedule_in_force(conn, world.cafe, NOW), "domestic_credit", Amount.of(100000, "CNY")
        )
        post_fee_charges(
            conn,
            key="buggy",
            merchant_id=world.cafe,
            merchant_no=CAFE,
            currency="CNY",
            charges=[FeeCharge(quote, txn.id)],
            at=NOW,
            description="fee",
        )
    audit = run_json(data_dir, "fees", "audit", "--merchant", CAFE, code=1)
    assert [f["kind"] for f in audit["findings"]] == ["charged_twice"] and audit["owed"] == {"CNY": "6.00"}
    opened = run_json(data_dir, "fees", "audit", "--open-disputes", "--now", NOW.isoformat(), code=1)
    [dispute_id] = opened["disputes_opened"]
    listed = run_json(data_dir, "disputes", "list", "--merchant", CAFE)
    assert [d["id"] for d in listed] == [dispute_id] and listed[0]["source"] == "audit"
    add_users(world)
    as_user(data_dir, "disputes", "review", str(dispute_id), "--by", "reviewer")
    resolved = as_user(
        data_dir, "disputes", "resolve", str(dispute_id), "--by", "reviewer", "--uphold", "--json"
    )
    done = json.loads(resolved.stdout)
    assert done["status"] == "upheld" and [e["action"] for e in done["timeline"]] == [
        "opened",
        "under_review",
        "upheld",
    ]
    after = run_json(data_dir, "fees", "audit")
    assert after["findings"][0]["owed"] == 0 and after["owed"] == {"CNY": "0.00"}
    text = run(data_dir, "disputes", "show", str(dispute_id))
    assert "upheld" in text.stdout
    history = run_json(data_dir, "fees", "show", "--merchant", CAFE)
    assert history["versions"][0]["rules"][0]["cap"] == "20.00"


def test_merchant_dispute_and_chargeback_commands(data: tuple[Path, World]) -> None:
    """disputes open on a transaction, and an issuer chargeback represented with PIN evidence and won."""
    data_dir, world = data
    txn = world.sale(100000, pin=True)
    add_users(world)
    opened_by_owner = as_user(
        data_dir,
        "disputes",
        "open",
        "--merchant",
        CAFE,
        "--rrn",
        txn.rrn,
        "--amount",
        "12.50",
        "--reason",
        "settled short",
        "--by",
        "cafe",
        "--json",
    )
    opened = json.loads(opened_by_owner.stdout)
    assert (opened["kind"], opened["amount"]) == ("transaction", 1250)
    cb = run_json(data_dir, "disputes", "chargeback", "--rrn", txn.rrn, "--reason-code", "4837")
    assert cb["status"] == "chargeback"
    rep = json.loads(
        as_user(data_dir, "disputes", "represent", str(cb["id"]), "--by", "reviewer", "--json").stdout
    )
    assert rep["timeline"][-1]["details"]["pin_verified"] is True
    won = run_json(data_dir, "disputes", "result", str(cb["id"]), "--won")
    assert won["status"] == "won"
    bad = run(data_dir, "disputes", "result", str(cb["id"]), "--lost")
    assert bad.exit_code == 1 and "no chargeback awaiting" in bad.output


def test_settlement_d0_statement_recon_and_payouts(data: tuple[Path, World]) -> None:
    """D0 on request, then the statement as CSV and PDF, the reconciliation report and the payout list."""
    data_dir, world = data
    world.sale(100000)
    add_users(world)
    d0 = json.loads(
        as_user(
            data_dir, "settlement", "d0", "--merchant", CAFE, "--by", "cafe", "--json",
            "--now", (NOW + timedelta(hours=1)).isoformat(),
        ).stdout
    )  # fmt: skip
    assert (d0["kind"], d0["amount"], d0["fee"]) == ("d0", 99400 - 200, 200)
    nothing = as_user(
        data_dir, "settlement", "d0", "--merchant", CAFE, "--by", "cafe",
        "--now", (NOW + timedelta(hours=2)).isoformat(),
    )  # fmt: skip
    assert nothing.exit_code == 1 and "nothing to pay" in nothing.output
    run_json(data_dir, "settle-day", "--date", "2026-11-24", "--now", NEXT_MORNING)
    csv_path, pdf_path = data_dir / "s.csv", data_dir / "s.pdf"
    st = run_json(
        data_dir,
        "settlement",
        "statement",
        "--merchant",
        CAFE,
        "--from",
        "2026-11-24",
        "--csv",
        str(csv_path),
        "--pdf",
        str(pdf_path),
    )
    assert st["totals"]["sale_gross"] == "1000.00" and st["closing"] == "0.00"
    assert "fixed 2.00 per transaction" in csv_path.read_text(encoding="utf-8")
    assert pdf_path.read_bytes().startswith(b"%PDF-")
    recon = run_json(data_dir, "settlement", "recon", "--date", "2026-11-24")
    assert [(r["terminal_id"], r["status"]) for r in recon] == [("10000001", "open")]
    paid = run_json(data_dir, "settlement", "payouts", "--merchant", CAFE)
    assert [p["kind"] for p in paid] == ["d0"]


def test_merchant_change_and_flag_commands(data: tuple[Path, World]) -> None:
    """A change is requested, refused to its requester, approved by staff; flags are listed and cleared
    (each decision by a signed-in portal user)."""
    data_dir, world = data
    add_users(world)
    requested = as_user(
        data_dir,
        "merchants",
        "change",
        "--merchant",
        CAFE,
        "--field",
        "address",
        "--value",
        "上海市静安区南京西路99号",
        "--effective",
        "2026-12-01",
        "--by",
        "reviewer",
        "--now",
        NOW.isoformat(),
        "--json",
    )
    change = json.loads(requested.stdout)
    assert change["status"] == "pending"
    own = as_user(data_dir, "merchants", "review", str(change["id"]), "--by", "reviewer", "--approve")
    assert own.exit_code == 1 and "own change" in own.output
    approved = as_user(
        data_dir,
        "merchants",
        "review",
        str(change["id"]),
        "--by",
        "checker",
        "--approve",
        "--now",
        NOW.isoformat(),
        "--json",
    )
    assert json.loads(approved.stdout)["status"] == "approved"
    assert [c["status"] for c in run_json(data_dir, "merchants", "changes", "--merchant", CAFE)] == [
        "approved"
    ]
    world.sale(1000, mcc="5411")
    run_json(data_dir, "settle-day", "--date", "2026-11-24", "--now", NEXT_MORNING)
    [flag] = run_json(data_dir, "merchants", "flags")
    assert flag["kind"] == "mcc_mismatch"
    cleared = as_user(
        data_dir,
        "merchants",
        "clear-flag",
        str(flag["id"]),
        "--by",
        "reviewer",
        "--note",
        "terminal misconfigured, fixed",
        "--json",
    )
    assert (
        json.loads(cleared.stdout)["status"] == "cleared" and run_json(data_dir, "merchants", "flags") == []
    )


def test_ledger_check_in_a_directory_without_data_says_so(tmp_path: Path) -> None:
    """No database there: exit 2 saying so, and no data directory is created."""
    empty = tmp_path / "nothing-here"
    result = run_json(empty, "ledger", "check", code=2)
    assert result["error"].startswith(f"no poskit data in {empty.resolve()}")
    assert not empty.exists()
