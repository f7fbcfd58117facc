"""No clear key and no clear card number anywhere: database, terminal stores, logs, CLI output.

A realistic flow runs against a temporary data directory: the demo world is provisioned, the
real host serves on a TCP port, keys are injected (fixed, TDES DUKPT, AES DUKPT with printed
components), terminals sign on and pay through ``poskit pay``, the LMK is rotated and the host
restarted, the terminals pay again. Every log line (structlog and stdlib logging) and all CLI
output are captured. Then every clear key the test can learn through the HSMs' internals is
searched for, as upper- and lower-case hex and as raw bytes, in every file of the data
directory, in the logs and in the output; so are the card book's PANs (ASCII and packed BCD)
and the published test issuer keys. The only allowed places: each LMK in its own key file, and
the key components in the output of the injection that printed them (by design).
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from sqlalchemy import select
from typer.testing import CliRunner

import poskit.cli.keys  # registers `poskit keys`
import poskit.cli.pay
from poskit.cards import test_keys
from poskit.cards.book import CARD_BOOK
from poskit.cli.app import app
from poskit.config import Settings
from poskit.crypto.hsm import SoftHSM
from poskit.crypto.lmk import LocalMasterKey
from poskit.crypto.pinpad import DukptPinPad
from poskit.demo.world import provision_demo
from poskit.host.runtime import RunningServices
from poskit.keys.injection import BDK_NAMES
from poskit.keys.lmk_rotation import KEY_BLOCK_COLUMNS
from poskit.logs import configure_logging
from poskit.store.db import make_engine
from poskit.store.schema import system_keys
from poskit.store.schema_keys import dukpt_devices
from poskit.terminal.runtime import terminal_files
from poskit.terminal.store import TerminalStore

runner = CliRunner()
TERMINALS = ("10000001", "10000002", "20000001")


class LiveHost:
    """The host (no portal) in a background thread's event loop, as in tests/e2e."""

    def __init__(self, settings: Settings) -> None:
        self.loop = asyncio.new_event_loop()
        self.services = RunningServices(settings, portal=False)
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self.services.start())
        self._ready.set()
        self.loop.run_forever()

    def __enter__(self) -> str:
        self._thread.start()
        assert self._ready.wait(30)
        return self.services.host.address

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.services.stop(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


class Capture:
    """Everything written by loggers and commands during the flow."""

    def __init__(self) -> None:
        self.logs = io.StringIO()
        self.outputs: list[tuple[list[str], str]] = []

    def run(self, *args: str) -> str:
        result = runner.invoke(app, list(args))
        out = result.stdout + result.stderr
        self.outputs.append((list(args), out))
        assert result.exit_code == 0, (args, out)
        return out


@pytest.fixture
def capture(monkeypatch: pytest.MonkeyPatch) -> Iterator[Capture]:
    """Route structlog and stdlib logging into one buffer for the whole test, at DEBUG."""
    cap = Capture()
    configure_logging("json", level=logging.DEBUG, stream=cap.logs)
    monkeypatch.setattr(poskit.cli.pay, "configure_logging", lambda *a, **k: None)  # keep our capture
    handler = logging.StreamHandler(cap.logs)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield cap
    root.removeHandler(handler)
    root.setLevel(old_level)
    structlog.reset_defaults()


def _forms(secret: bytes) -> list[bytes]:
    """A key as it could leak: hex in both cases, and raw."""
    return [secret.hex().upper().encode(), secret.hex().lower().encode(), secret]


def _pan_forms(pan: str) -> list[bytes]:
    digits = pan if len(pan) % 2 == 0 else pan + "F"
    forms = [pan.encode(), bytes.fromhex(digits)]
    if len(pan) % 2:
        forms.append(bytes.fromhex(pan + "0"))
    return forms


def _learn_host_keys(settings: Settings, phase: str, into: dict[str, bytes]) -> None:
    """Every key block the host stores, unwrapped through the HSM's internals (test-only)."""
    lmk = LocalMasterKey.load(settings.resolved_lmk_file)
    into[f"host LMK {lmk.identifier}"] = lmk._key
    hsm = SoftHSM(lmk)
    engine = make_engine(settings.resolved_database_url)
    with engine.connect() as conn:
        for table, column in KEY_BLOCK_COLUMNS:
            col = table.c[column]
            for ident, block in conn.execute(select(table.c.id, col).where(col.is_not(None))):
                into[f"{phase}: {table.name}.{column}#{ident}"] = hsm._key(block).material
        bdks = {
            r.name: r.key_block
            for r in conn.execute(select(system_keys.c.name, system_keys.c.key_block))
            if r.name in BDK_NAMES.values()
        }
        for device in conn.execute(select(dukpt_devices)).mappings():
            block = hsm.derive_dukpt_initial_key(
                bdk=bdks[device["bdk_name"]],
                ksn=bytes.fromhex(device["initial_ksn"]),
                aes=device["scheme"] == "AES",
            )
            into[f"DUKPT initial key {device['initial_ksn']}"] = hsm._key(block).material
    engine.dispose()


def _learn_pinpad_keys(
    settings: Settings, phase: str, into: dict[str, bytes], lmk_files: dict[Path, bytes]
) -> None:
    """Each PIN pad's LMK, its key blocks and its DUKPT registers, unwrapped (test-only)."""
    for tid in TERMINALS:
        store_file, key_file = terminal_files(settings, tid)
        lmk = LocalMasterKey.load(key_file)
        lmk_files[key_file] = lmk._key
        into[f"PIN pad LMK {tid}"] = lmk._key
        hsm = SoftHSM(lmk)
        store = TerminalStore.open(store_file)
        for name in store.key_names():
            block = store.get_key(name)
            assert block is not None
            if name == "dukpt":
                pad = DukptPinPad.from_state_blob(hsm, bytes.fromhex(block))
                registers = pad._device._state.registers
                for i, reg in enumerate(registers):
                    if reg is not None:
                        into[f"{phase}: {tid} DUKPT register {i}"] = reg
            else:
                into[f"{phase}: {tid} PIN pad {name}"] = hsm._key(block).material
        store.close()


def find_leaks(
    data_dir: Path,
    secrets: dict[str, bytes],
    pans: set[str],
    texts: list[tuple[str, str]],
    *,
    allowed_files: dict[Path, bytes],
    allowed_texts: dict[str, set[bytes]],
) -> list[str]:
    """Where each secret or PAN shows up: files (hex or raw) and texts (hex), minus what is allowed.

    ``allowed_files`` maps a key file to the one LMK that belongs there; ``allowed_texts`` maps
    an output's label to the secrets printed there by design.
    """
    leaks: list[str] = []
    for path in sorted(p for p in data_dir.rglob("*") if p.is_file()):
        content = path.read_bytes()
        for label, secret in secrets.items():
            if secret == allowed_files.get(path):
                continue  # an LMK in its own key file is where it belongs
            if any(form in content for form in _forms(secret)):
                leaks.append(f"{label} in {path.relative_to(data_dir)}")
        for pan in pans:
            if any(form in content for form in _pan_forms(pan)):
                leaks.append(f"PAN {pan[:6]}... in {path.relative_to(data_dir)}")
    for where, text in texts:
        data = text.encode()
        for label, secret in secrets.items():
            if secret in allowed_texts.get(where, set()):
                continue
            if any(form in data for form in _forms(secret)[:2]):
                leaks.append(f"{label} in {where}")
        leaks.extend(f"PAN {pan[:6]}... in {where}" for pan in pans if pan in text)
    return leaks


def test_no_clear_key_or_pan_leaks(tmp_path: Path, capture: Capture) -> None:
    """Across provisioning, key injection, payments and LMK rotation nothing secret is stored or shown."""
    data_dir = tmp_path / "data"
    settings = Settings(data_dir=data_dir, host_port=0, portal_port=0)
    provision_demo(settings)
    d = ["--data-dir", str(data_dir)]
    secrets: dict[str, bytes] = {}
    lmk_files: dict[Path, bytes] = {}

    capture.run("keys", "inject", "--terminal", "10000002", "--dukpt", *d)
    inject_aes = ["keys", "inject", "--terminal", "20000001", "--dukpt", "--aes", "--components", "2", *d]
    printed = json.loads(capture.run(*inject_aes, "--json"))["components"]
    components = {bytes.fromhex(c["component"]) for c in printed}

    def pay_everywhere(address: str) -> None:
        for tid in TERMINALS:
            pay = ["pay", "12.34", "--card", "magstripe-debit", "--pin", "654321", "--terminal", tid]
            out = capture.run(*pay, "--host", address, *d, "--json")
            assert json.loads(out)["approved"] is True, out
            capture.run("keys", "status", "--terminal", tid, *d)

    with LiveHost(settings) as address:
        pay_everywhere(address)  # sign-ons (fresh working keys) and PIN payments
    _learn_host_keys(settings, "before rotation", secrets)
    _learn_pinpad_keys(settings, "before rotation", secrets, lmk_files)

    capture.run("keys", "rotate-lmk", *d, "--force")  # our host is stopped; the check probes the default port
    with LiveHost(settings) as address:
        pay_everywhere(address)  # the same keys under the new LMK: payments go on without a sign-on
        capture.run("keys", "inject", "--terminal", "10000001", *d)  # a new TMK under the new LMK
        pay_everywhere(address)
    _learn_host_keys(settings, "after rotation", secrets)
    _learn_pinpad_keys(settings, "after rotation", secrets, lmk_files)
    lmk_files[settings.resolved_lmk_file] = LocalMasterKey.load(settings.resolved_lmk_file)._key

    for name in test_keys.__all__:
        value = getattr(test_keys, name)
        if isinstance(value, bytes):
            secrets[f"test key {name}"] = value
    for i, component in enumerate(sorted(components)):
        secrets[f"component {i + 1}"] = component
    pans = {card.pan for card in CARD_BOOK}
    assert len(secrets) > 100 and len(pans) > 5
    assert sum(label.startswith("host LMK") for label in secrets) == 2

    logs = capture.logs.getvalue()
    assert logs.count("\n") > 10  # the host and the CLI did log
    texts = [("logs", logs)] + [(" ".join(args), out) for args, out in capture.outputs]
    allowed = {" ".join([*inject_aes, "--json"]): components}
    leaks = find_leaks(data_dir, secrets, pans, texts, allowed_files=lmk_files, allowed_texts=allowed)
    assert leaks == []


def test_the_scan_finds_planted_leaks(tmp_path: Path) -> None:
    """The scanner finds a key in files (hex or raw) and texts, and PANs; an LMK in its own file is fine."""
    key, lmk, pan = bytes.fromhex("0123456789ABCDEF"), bytes(range(32)), "6225880112345678"
    (tmp_path / "lmk.key").write_bytes(lmk.hex().upper().encode())
    (tmp_path / "db.sqlite").write_bytes(b"\x00blob" + key + b"\x00")
    (tmp_path / "store.sqlite").write_bytes(b"row 0123456789abcdef; " + bytes.fromhex(pan))
    secrets = {"mak": key, "lmk": lmk}
    texts = [("logs", f"pan={pan}"), ("poskit hsm kcv", "key 0123456789ABCDEF")]
    leaks = find_leaks(
        tmp_path,
        secrets,
        {pan},
        texts,
        allowed_files={tmp_path / "lmk.key": lmk},
        allowed_texts={"poskit hsm kcv": {key}},
    )
    assert leaks == [
        "mak in db.sqlite",
        "mak in store.sqlite",
        f"PAN {pan[:6]}... in store.sqlite",
        f"PAN {pan[:6]}... in logs",
    ]
