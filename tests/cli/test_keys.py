"""``poskit keys`` and the lost-keys rule of ``poskit pay``, through the command line."""

from __future__ import annotations

import json
import os
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from sqlalchemy import select
from typer.testing import CliRunner

import poskit.cli.keys  # registers `poskit keys`
import poskit.cli.pay  # registers `poskit pay`
from poskit.cli.app import app
from poskit.config import Settings
from poskit.crypto.des import adjust_odd_parity
from poskit.crypto.hsm import SoftHSM
from poskit.crypto.kcv import kcv
from poskit.crypto.lmk import LocalMasterKey
from poskit.demo.world import provision_demo
from poskit.store.db import make_engine
from poskit.store.schema import terminals
from poskit.terminal.runtime import terminal_files
from poskit.terminal.store import TerminalStore

runner = CliRunner()
TID = "10000001"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo world provisioned once; each test works on a copy."""
    data_dir = tmp_path_factory.mktemp("cli-keys-template")
    provision_demo(Settings(data_dir=data_dir))  # no host runs here: the default address is fine
    return data_dir


@pytest.fixture
def data_dir(template: Path, tmp_path: Path) -> Iterator[Path]:
    target = tmp_path / "data"
    shutil.copytree(template, target)
    yield target
    structlog.reset_defaults()  # `poskit pay` configures logging onto the runner's stream


def poskit(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run the command line; (exit code, stdout + stderr with whitespace normalised)."""
    result = runner.invoke(app, list(args), env=env)
    return result.exit_code, " ".join((result.stdout + result.stderr).split())


def _clear_tmk(data_dir: Path) -> str:
    """The TMK in clear hex, as only a test may learn it (through the HSM's internals)."""
    settings = Settings(data_dir=data_dir)
    hsm = SoftHSM(LocalMasterKey.load(settings.resolved_lmk_file))
    engine = make_engine(settings.resolved_database_url)
    with engine.connect() as conn:
        block = conn.execute(select(terminals.c.tmk).where(terminals.c.terminal_id == TID)).scalar_one()
    engine.dispose()
    return hsm._key(block).material.hex().upper()


def test_inject_prints_only_the_check_value(data_dir: Path) -> None:
    """`keys inject` prints the TMK check value (host and PIN pad agree), never the key."""
    code, out = poskit("keys", "inject", "--terminal", TID, "--data-dir", str(data_dir))
    assert code == 0, out
    clear = _clear_tmk(data_dir)
    assert clear not in out and clear.lower() not in out
    assert "(host and PIN pad agree)" in out and "component" not in out
    status = json.loads(poskit("keys", "status", "--terminal", TID, "--data-dir", str(data_dir), "--json")[1])
    assert f"TMK check value {status['host_keys']['tmk']['kcv']}" in out
    assert status["tmk_match"] is True and status["problems"] == []


def test_inject_prints_components_for_custodians(data_dir: Path) -> None:
    """`--components 3` prints three components with check values, flagged as the only clear output."""
    code, out = poskit("keys", "inject", "--terminal", TID, "--components", "3", "--data-dir", str(data_dir))
    assert code == 0, out
    assert "printed by design: the only clear key output of poskit" in out
    assert out.count("component ") == 3
    code, out = poskit(
        "keys", "inject", "--terminal", TID, "--components", "2", "--data-dir", str(data_dir), "--json"
    )
    data = json.loads(out)
    assert [len(c["component"]) for c in data["components"]] == [32, 32]
    assert data["tmk_kcv"] == data["pinpad_tmk_kcv"] and data["key_scheme"] == "fixed"


def test_inject_dukpt_and_status(data_dir: Path) -> None:
    """`--dukpt --aes` loads an AES DUKPT key; `keys status` shows its KSN and check values only."""
    code, out = poskit(
        "keys", "inject", "--terminal", TID, "--dukpt", "--aes", "--data-dir", str(data_dir), "--json"
    )
    assert code == 0, out
    injected = json.loads(out)
    assert injected["key_scheme"] == "dukpt" and injected["dukpt"]["scheme"] == "AES"
    code, text = poskit("keys", "status", "--terminal", TID, "--data-dir", str(data_dir))
    assert code == 0, text
    assert f"initial KSN {injected['dukpt']['initial_ksn']}" in text
    assert f"initial key {injected['dukpt']['ik_kcv']}" in text
    assert f"PIN pad next KSN {injected['dukpt']['initial_ksn'][:-2]}01" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--terminal", "99999999"], "terminal 99999999 is not registered"),
        (["--terminal", TID, "--aes"], "--aes applies to DUKPT: add --dukpt"),
        (["--terminal", TID, "--components", "12"], "--components 12: dual control needs 2 to 9"),
    ],
)
def test_inject_errors_exit_2(data_dir: Path, args: list[str], message: str) -> None:
    """Bad injection requests exit 2 with the reason."""
    code, out = poskit("keys", "inject", *args, "--data-dir", str(data_dir))
    assert code == 2 and f"error: {message}" in out


def test_status_exits_1_and_says_what_is_wrong(data_dir: Path) -> None:
    """A PIN pad whose master key file is gone: status exits 1 naming the file and the fix."""
    terminal_files(Settings(data_dir=data_dir), TID)[1].unlink()
    code, out = poskit("keys", "status", "--terminal", TID, "--data-dir", str(data_dir))
    assert code == 1 and "problem: PIN pad master key file" in out and "inject keys again" in out


def test_rotate_lmk(data_dir: Path) -> None:
    """`keys rotate-lmk` swaps the LMK file and reports how many blocks it re-wrapped."""
    lmk_file = data_dir / "lmk.key"
    old_id = LocalMasterKey.load(lmk_file).identifier
    code, out = poskit("keys", "rotate-lmk", "--data-dir", str(data_dir), "--force", "--json")
    assert code == 0, out
    data = json.loads(out)
    assert data["old_lmk_id"] == old_id and data["new_lmk_id"] == LocalMasterKey.load(lmk_file).identifier
    assert data["rewrapped"] > 10 and data["resumed"] is False
    assert oct(lmk_file.stat().st_mode & 0o777) == "0o600"
    code, out = poskit("keys", "status", "--terminal", TID, "--data-dir", str(data_dir))
    assert code == 0 and f"host (LMK {data['new_lmk_id']})" in out


def test_rotate_lmk_refuses_while_the_host_listens(data_dir: Path) -> None:
    """With something listening on the host port the rotation refuses (the host caches key blocks)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = str(listener.getsockname()[1])
        code, out = poskit("keys", "rotate-lmk", "--data-dir", str(data_dir), env={"POSKIT_HOST_PORT": port})
    assert code == 2 and f"the host is listening on 127.0.0.1:{port}" in out


def test_rotate_lmk_with_env_lmk_is_refused(data_dir: Path) -> None:
    """An LMK from POSKIT_LMK cannot be rotated: exit 2 with the reason."""
    env = {"POSKIT_LMK": (data_dir / "lmk.key").read_text().strip()}
    code, out = poskit("keys", "rotate-lmk", "--data-dir", str(data_dir), "--force", env=env)
    assert code == 2 and "POSKIT_LMK" in out
    assert env["POSKIT_LMK"] not in out


# ---------------------------------------------------------------------------------- poskit pay
def test_pay_refuses_when_the_pin_pad_key_file_is_lost(data_dir: Path) -> None:
    """No PIN pad master key file: `poskit pay` exits 2 naming the lost key and the inject command."""
    terminal_files(Settings(data_dir=data_dir), TID)[1].unlink()
    args = ["pay", "1.00", "--card", "magstripe-debit", "--pin", "654321", "--terminal", TID]
    code, out = poskit(*args, "--data-dir", str(data_dir))
    assert code == 2
    assert "PIN pad master key missing" in out and f"poskit keys inject --terminal {TID}" in out
    code, out = poskit(*args, "--data-dir", str(data_dir), "--json")
    assert code == 2 and json.loads(out)["error"].startswith("PIN pad master key missing")


def test_pay_refuses_when_the_tmk_is_gone(data_dir: Path) -> None:
    """TMK row deleted from the terminal store: `poskit pay` exits 2, says which key and what to do."""
    store = TerminalStore.open(terminal_files(Settings(data_dir=data_dir), TID)[0])
    store.delete_keys("tmk")
    store.close()
    code, out = poskit(
        "pay",
        "1.00",
        "--card",
        "magstripe-debit",
        "--pin",
        "654321",
        "--terminal",
        TID,
        "--data-dir",
        str(data_dir),
        "--json",
    )
    assert code == 2
    message = json.loads(out)["message"]
    assert "no master key" in message and "poskit keys inject" in message
    assert os.environ.get("POSKIT_LMK") is None


def _component(seed: int) -> tuple[bytes, str]:
    """A valid odd-parity double-length component and its ``HEX:KCV`` argument."""
    clear = adjust_odd_parity(bytes((seed * 37 + i * 11) % 256 for i in range(16)))
    return clear, f"{clear.hex().upper()}:{kcv(clear).hex().upper()}"


@pytest.mark.parametrize("count", [2, 3])
def test_inject_components_sets_the_xor_of_the_custodians_components(data_dir: Path, count: int) -> None:
    """2 or 3 `--component HEX:KCV`: the host's TMK is their XOR, parity-adjusted; its KCV is printed."""
    parts = [_component(seed) for seed in range(1, count + 1)]
    args = [a for _clear, arg in parts for a in ("--component", arg)]
    code, out = poskit("keys", "inject", "--terminal", TID, *args, "--data-dir", str(data_dir))
    assert code == 0, out
    combined = bytes(16)
    for clear, _arg in parts:
        combined = bytes(a ^ b for a, b in zip(combined, clear, strict=True))
    expected = adjust_odd_parity(combined)
    assert _clear_tmk(data_dir) == expected.hex().upper()
    assert f"TMK check value {kcv(expected).hex().upper()}" in out
    assert expected.hex().upper() not in out


def test_inject_components_refuses_a_wrong_check_value_or_even_parity(data_dir: Path) -> None:
    """A component whose KCV does not match, or with an even-parity byte, is refused; the TMK stays."""
    before = _clear_tmk(data_dir)
    (_c1, good), (c2, other) = _component(1), _component(2)
    wrong_kcv = other.split(":")[0] + ":000000"
    code, out = poskit(
        "keys",
        "inject",
        "--terminal",
        TID,
        "--component",
        good,
        "--component",
        wrong_kcv,
        "--data-dir",
        str(data_dir),
    )
    assert code == 2 and "component 2: check value" in out, out
    even = bytes([c2[0] ^ 0x01]) + c2[1:]
    code, out = poskit(
        "keys",
        "inject",
        "--terminal",
        TID,
        "--component",
        good,
        "--component",
        f"{even.hex().upper()}:{kcv(even).hex().upper()}",
        "--data-dir",
        str(data_dir),
    )
    assert code == 2 and "even parity" in out, out
    code, out = poskit("keys", "inject", "--terminal", TID, "--component", good, "--data-dir", str(data_dir))
    assert code == 2 and "2 or 3" in out, out
    assert _clear_tmk(data_dir) == before


def test_status_shows_the_authentication_failures_flag(data_dir: Path) -> None:
    """An open authentication_failures flag on the terminal is listed by `keys status` (text and JSON)."""
    from datetime import UTC, datetime

    from poskit.ledger.monitoring import raise_flag
    from poskit.store.db import WRITE

    engine = make_engine(Settings(data_dir=data_dir).resolved_database_url)
    with engine.connect().execution_options(**WRITE) as conn, conn.begin():
        raise_flag(
            conn,
            key=f"auth-failures:{TID}:1",
            kind="authentication_failures",
            severity="high",
            summary="5 requests failed authentication within the hour",
            details={"count": 5},
            now=datetime.now(UTC),
            terminal_id=TID,
        )
    engine.dispose()
    code, out = poskit("keys", "status", "--terminal", TID, "--data-dir", str(data_dir), "--json")
    assert code == 0, out
    data = json.loads(out)
    assert data["authentication_flags"] == ["5 requests failed authentication within the hour"]
    assert data["keys_pending"] is False
    code, out = poskit("keys", "status", "--terminal", TID, "--data-dir", str(data_dir))
    assert code == 0
    assert "flag authentication_failures: 5 requests failed authentication" in out, out
