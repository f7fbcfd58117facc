"""`poskit terminals add/list/show/move/retire`: onboarding and inventory, each change audited."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

import poskit.cli.keys  # registers `poskit keys`
import poskit.cli.merchants  # registers `poskit merchants`
import poskit.cli.terminals  # registers `poskit terminals`
from poskit.cli.app import app
from poskit.config import Settings
from poskit.demo.world import DEMO_USERS, provision_demo
from poskit.store.db import make_engine
from poskit.store.schema import audit_log
from poskit.terminal.runtime import terminal_files
from poskit.terminal.store import TerminalStore

runner = CliRunner()
CAFE, NOODLE, LAGOS = "898310058120001", "898310058140002", "898234058120003"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo world provisioned once; each test works on a copy."""
    data_dir = tmp_path_factory.mktemp("cli-terminals-template")
    provision_demo(Settings(data_dir=data_dir))
    return data_dir


@pytest.fixture
def data_dir(template: Path, tmp_path: Path) -> Iterator[Path]:
    target = tmp_path / "data"
    shutil.copytree(template, target)
    yield target


def poskit(data_dir: Path, *args: str, password: str = DEMO_USERS["acquirer"][0]) -> tuple[int, str]:
    """Run ``poskit ARGS``; a command acting in someone's name gets ``password`` for its --by user."""
    result = runner.invoke(
        app, [*args, "--data-dir", str(data_dir)], env={"POSKIT_OPERATOR_PASSWORD": password}
    )
    return result.exit_code, result.stdout + result.stderr


def _add(data_dir: Path, tid: str, *extra: str) -> tuple[int, str]:
    return poskit(data_dir, "terminals", "add", tid, "--merchant", CAFE, "--serial", f"SN-{tid}", *extra)


def _audit_actions(data_dir: Path, tid: str) -> list[str]:
    engine = make_engine(Settings(data_dir=data_dir).resolved_database_url)
    with engine.connect() as conn:
        rows = conn.execute(
            select(audit_log.c.action).where(audit_log.c.subject == tid).order_by(audit_log.c.id)
        )
        actions = [r.action for r in rows]
    engine.dispose()
    return actions


def test_add_registers_keys_and_lists_the_terminal(data_dir: Path) -> None:
    """`add` stores model, serial, dialect, MAC method and key scheme; `list` and `show` report them."""
    code, out = _add(data_dir, "TP000001", "--dialect", "ascii87", "--mac", "x919", "--model", "PAX A920")
    assert code == 0, out
    assert "TMK KCV" in out
    code, out = poskit(data_dir, "terminals", "list", "--merchant", CAFE, "--json")
    row = next(t for t in json.loads(out) if t["terminal_id"] == "TP000001")
    assert row["serial_number"] == "SN-TP000001" and row["model"] == "PAX A920"
    assert (row["dialect"], row["mac_algorithm"], row["key_scheme"], row["status"]) == (
        "ascii87",
        "x919",
        "fixed",
        "active",
    )
    code, out = poskit(data_dir, "terminals", "show", "TP000001", "--json")
    shown = json.loads(out)
    assert code == 0 and shown["pending_reversals"] == 0 and shown["open_batch_transactions"] == 0
    assert shown["signed_on_at"] is None and shown["merchant_name"]


def test_add_with_dukpt_key_scheme(data_dir: Path) -> None:
    """`--key-scheme dukpt-aes` registers the terminal and injects an AES DUKPT initial key."""
    code, out = _add(data_dir, "TP000002", "--key-scheme", "dukpt-aes")
    assert code == 0, out
    code, out = poskit(data_dir, "keys", "status", "--terminal", "TP000002", "--json")
    assert json.loads(out)["key_scheme"] == "dukpt"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--dialect", "iso93"), "dialect 'iso93'"),
        (("--mac", "cbc"), "MAC method 'cbc'"),
        (("--key-scheme", "plain"), "--key-scheme"),
    ],
)
def test_add_refuses_unknown_settings(data_dir: Path, args: tuple[str, ...], message: str) -> None:
    """An unknown dialect, MAC method or key scheme is refused and nothing is registered."""
    code, out = _add(data_dir, "TP000003", *args)
    assert code != 0 and message in out
    assert poskit(data_dir, "terminals", "show", "TP000003")[0] == 1


def test_add_refuses_a_serial_number_in_use(data_dir: Path) -> None:
    """A serial number identifies one device: a second terminal with it is refused."""
    assert _add(data_dir, "TP000004")[0] == 0
    code, out = poskit(
        data_dir, "terminals", "add", "TP000005", "--merchant", CAFE, "--serial", "SN-TP000004"
    )
    assert code == 1 and "belongs to another terminal" in out


def test_move_follows_into_the_terminal_store_and_is_audited(data_dir: Path) -> None:
    """A settled terminal moves to another merchant of its acquirer, signs on again; not across acquirers."""
    assert _add(data_dir, "TP000006")[0] == 0
    move = ("terminals", "move", "TP000006", "--by", "acquirer", "--reason", "shop sold")
    code, out = poskit(data_dir, *move, "--merchant", LAGOS)
    assert code == 1 and "another acquirer" in out
    code, out = poskit(data_dir, *move, "--merchant", NOODLE)
    assert code == 0, out
    store = TerminalStore.open(terminal_files(Settings(data_dir=data_dir), "TP000006")[0])
    profile = store.profile()
    store.close()
    assert profile.merchant_no == NOODLE and profile.sign_on_required
    assert _audit_actions(data_dir, "TP000006")[-1] == "terminal.move"


@pytest.mark.parametrize(
    ("user", "message"),
    [
        ("reviewer", "refused: reviewer is acquirer_staff, and onboard is for acquirer_admin"),
        ("cafe", "refused: cafe is merchant_owner, and onboard is for acquirer_admin"),
        ("acquirer-ng", "refused: terminal not found for acquirer-ng"),
        ("nobody-at-all", "not signed in as 'nobody-at-all'"),
    ],
)
def test_move_and_retire_are_an_acquirer_administrators(data_dir: Path, user: str, message: str) -> None:
    """Staff without the onboarding permission, the merchant, another acquirer's administrator and an
    unknown user are each refused; the terminal stays where it was, in service."""
    assert _add(data_dir, "TP000008")[0] == 0
    password = DEMO_USERS[user][0] if user in DEMO_USERS else "poskit-guess-1"
    for args in (
        ("terminals", "move", "TP000008", "--merchant", NOODLE),
        ("terminals", "retire", "TP000008"),
    ):
        code, out = poskit(data_dir, *args, "--by", user, "--reason", "r", password=password)
        assert code == 1 and message in out, out
    shown = json.loads(poskit(data_dir, "terminals", "show", "TP000008", "--json")[1])
    assert (shown["summary"]["merchant_no"], shown["summary"]["status"]) == (CAFE, "active")


def test_onboarding_is_for_an_administrator_of_that_acquirer(data_dir: Path) -> None:
    """`merchants add` by acquirer staff, or by the Nigerian acquirer's administrator for the Chinese
    acquirer, is refused and adds nothing."""
    add = (
        *("merchants", "add", "898310058160011", "--acquirer", "48020000", "--name", "x", "--mcc", "5812"),
        *("--address", "y", "--settlement-account", "6222020000000011", "--currency", "CNY"),
    )
    code, out = poskit(data_dir, *add, "--by", "reviewer", password=DEMO_USERS["reviewer"][0])
    assert code == 1 and "onboard is for acquirer_admin" in out
    code, out = poskit(data_dir, *add, "--by", "acquirer-ng", password=DEMO_USERS["acquirer-ng"][0])
    assert code == 1 and "refused: acquirer not found for acquirer-ng" in out
    assert _audit_actions(data_dir, "898310058160011") == []


def test_retire_hides_the_terminal_and_is_audited(data_dir: Path) -> None:
    """A retired terminal leaves `list` (kept under --all), cannot be retired or moved again."""
    assert _add(data_dir, "TP000007")[0] == 0
    retire = ("terminals", "retire", "TP000007", "--by", "acquirer", "--reason", "broken screen")
    assert poskit(data_dir, *retire)[0] == 0
    listed = [t["terminal_id"] for t in json.loads(poskit(data_dir, "terminals", "list", "--json")[1])]
    everything = json.loads(poskit(data_dir, "terminals", "list", "--all", "--json")[1])
    assert "TP000007" not in listed
    assert {"terminal_id": "TP000007", "status": "retired"}.items() <= next(
        t for t in everything if t["terminal_id"] == "TP000007"
    ).items()
    code, out = poskit(data_dir, *retire)
    assert code == 1 and "already retired" in out
    code, out = poskit(
        data_dir, "terminals", "move", "TP000007", "--merchant", NOODLE, "--by", "acquirer", "--reason", "y"
    )
    assert code == 1 and "retired" in out
    assert _audit_actions(data_dir, "TP000007")[-1] == "terminal.retire"


def test_merchant_onboarding_sets_what_its_terminals_use(data_dir: Path) -> None:
    """`merchants add` with its own time zone and language; a terminal added for it speaks them."""
    code, out = poskit(
        data_dir,
        *("merchants", "add", "898310058160009", "--acquirer", "48020000", "--name", "乌鲁木齐烤馕"),
        *("--by", "acquirer"),
        *("--mcc", "5812", "--address", "新华北路1号", "--settlement-account", "6222020000000009"),
        *("--currency", "CNY", "--country", "156", "--timezone", "Asia/Urumqi", "--language", "en"),
    )
    assert code == 0, out
    code, out = poskit(
        data_dir,
        *("terminals", "add", "TP000010", "--merchant", "898310058160009", "--serial", "SN-10"),
        *("--capabilities", "pin,chip,contactless"),
    )
    assert code == 0, out
    store = TerminalStore.open(terminal_files(Settings(data_dir=data_dir), "TP000010")[0])
    profile = store.profile()
    store.close()
    assert profile.language == "en" and profile.params["timezone"] == "Asia/Urumqi"
    shown = json.loads(poskit(data_dir, "terminals", "show", "TP000010", "--json")[1])
    assert shown["capabilities"] == "chip,contactless,pin"
    assert _audit_actions(data_dir, "898310058160009") == ["merchant.add"]


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--timezone", "Mars/Olympus", "not an IANA zone"),
        ("--language", "fr", "language 'fr'"),
        ("--currency", "XXY", "not an ISO 4217 code"),
        ("--country", "CN", "ISO 3166 numeric"),
    ],
)
def test_merchant_onboarding_refuses_bad_values(
    data_dir: Path, option: str, value: str, message: str
) -> None:
    """A bad time zone, language, currency or country is refused, naming the value."""
    args = {"--timezone": "Asia/Shanghai", "--language": "zh", "--currency": "CNY", "--country": "156"}
    args[option] = value
    code, out = poskit(
        data_dir,
        *("merchants", "add", "898310058160010", "--acquirer", "48020000", "--name", "x", "--mcc", "5812"),
        *("--address", "y", "--settlement-account", "1", "--by", "acquirer"),
        *(item for pair in args.items() for item in pair),
    )
    assert code == 1 and message in out


def test_add_refuses_unknown_capabilities(data_dir: Path) -> None:
    """Capabilities come from a fixed list; an unknown one is refused."""
    code, out = _add(data_dir, "TP000011", "--capabilities", "chip,teleport")
    assert code != 0 and "unknown teleport" in out


def _set(data_dir: Path, tid: str, **values: object) -> None:
    from sqlalchemy import update

    from poskit.store.db import WRITE
    from poskit.store.schema import terminals

    engine = make_engine(Settings(data_dir=data_dir).resolved_database_url)
    with engine.connect().execution_options(**WRITE) as conn, conn.begin():
        conn.execute(update(terminals).where(terminals.c.terminal_id == tid).values(**values))
    engine.dispose()


def _flag(data_dir: Path, tid: str, kind: str, summary: str) -> None:
    from datetime import UTC, datetime

    from poskit.ledger.monitoring import raise_flag
    from poskit.store.db import WRITE

    engine = make_engine(Settings(data_dir=data_dir).resolved_database_url)
    with engine.connect().execution_options(**WRITE) as conn, conn.begin():
        raise_flag(
            conn,
            key=f"{kind}:{tid}:test",
            kind=kind,
            severity="high",
            summary=summary,
            details={},
            now=datetime.now(UTC),
            terminal_id=tid,
        )
    engine.dispose()


def test_show_reports_pending_keys_and_security_flags(data_dir: Path) -> None:
    """`show` says whether keys are in force or pending and lists the open authentication_failures
    and duplicate_mismatch flags of the terminal, in text and JSON."""
    code, out = _add(data_dir, "TP000009")
    assert code == 0, out
    code, out = poskit(data_dir, "terminals", "show", "TP000009", "--json")
    shown = json.loads(out)
    assert (shown["keys"], shown["security_flags"]) == ("none", [])
    _set(data_dir, "TP000009", mak="M-current", pending_mak="M-pending", sign_on_required=False)
    _flag(data_dir, "TP000009", "authentication_failures", "5 requests failed authentication within the hour")
    _flag(data_dir, "TP000009", "duplicate_mismatch", "repeated trace 000007 with another amount")
    code, out = poskit(data_dir, "terminals", "show", "TP000009", "--json")
    shown = json.loads(out)
    assert shown["keys"] == "pending"
    assert [f["kind"] for f in shown["security_flags"]] == ["duplicate_mismatch", "authentication_failures"]
    code, out = poskit(data_dir, "terminals", "show", "TP000009")
    assert code == 0, out
    assert "working keys: in force, and a newer sign-on's keys pending" in out
    assert "security flags: duplicate_mismatch (flag" in out and "authentication_failures (flag" in out
    _set(data_dir, "TP000009", pending_mak=None)
    code, out = poskit(data_dir, "terminals", "show", "TP000009", "--json")
    assert json.loads(out)["keys"] == "in_force"


def test_show_reports_the_last_heartbeat(data_dir: Path) -> None:
    """`show` prints paper, parameter version, uptime and free storage from the heartbeat, in text
    and JSON, and says "not reported" before the terminal ever sent them."""
    code, out = _add(data_dir, "TP000011")
    assert code == 0, out
    code, out = poskit(data_dir, "terminals", "show", "TP000011")
    assert "paper: not reported" in out and "uptime: not reported; free storage: not reported" in out
    _set(
        data_dir,
        "TP000011",
        paper="low",
        parameter_version="2026120801",
        uptime_seconds=90061,
        storage_free_mb=512,
        power_source="mains",
    )
    code, out = poskit(data_dir, "terminals", "show", "TP000011", "--json")
    shown = json.loads(out)
    assert (shown["paper"], shown["parameter_version"]) == ("low", "2026120801")
    assert (shown["uptime_seconds"], shown["storage_free_mb"]) == (90061, 512)
    code, out = poskit(data_dir, "terminals", "show", "TP000011")
    assert code == 0, out
    assert "power: mains; paper: low" in out and "parameters 2026120801" in out
    assert "uptime: 1d 1h 01m; free storage: 512 MB" in out


def test_show_lists_alerts_with_what_to_do_in_both_languages(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`show` lists paper out, software out of policy, repeated authentication failures and a silent
    terminal, each with the merchant's next step in English and Chinese; a healthy one has none."""
    from datetime import UTC, datetime, timedelta

    code, out = _add(data_dir, "TP000012")
    assert code == 0, out
    now = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)
    _set(data_dir, "TP000012", paper="ok", software_version="1.5.0", last_seen_at=now, power_source="mains")
    monkeypatch.setenv("POSKIT_TERMINAL_MINIMUM_SOFTWARE_VERSION", "1.4.2")
    code, out = poskit(data_dir, "terminals", "show", "TP000012", "--now", now.isoformat())
    assert code == 0 and "alerts: none" in out, out
    _set(data_dir, "TP000012", paper="out", software_version="1.3.9")
    _flag(data_dir, "TP000012", "authentication_failures", "5 requests failed authentication within the hour")
    later = (now + timedelta(hours=1)).isoformat()
    code, out = poskit(data_dir, "terminals", "show", "TP000012", "--now", later, "--json")
    codes = [a["code"] for a in json.loads(out)["alerts"]]
    assert codes == ["paper_out", "software_outdated", "authentication", "silent"]
    code, out = poskit(data_dir, "terminals", "show", "TP000012", "--now", later)
    assert "alert [critical] paper_out: Printer out of paper: load a new paper roll" in out
    assert "打印机缺纸：请装入新的打印纸卷" in out
    assert "Software 1.3.9 is older than the required 1.4.2" in out
    assert "sign the terminal on again" in out and "请重新签到" in out
    assert "check the cable or SIM card" in out
