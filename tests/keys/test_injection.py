"""Key-management flows: injection, LMK rotation (interrupted and resumed), sign-on key rules."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, update

from poskit.cards.book import card_by_name
from poskit.config import Settings
from poskit.crypto.des import adjust_odd_parity
from poskit.crypto.hsm import SoftHSM
from poskit.crypto.kcv import kcv
from poskit.crypto.lmk import LocalMasterKey
from poskit.demo.world import provision_demo
from poskit.host.runtime import RunningServices
from poskit.iso8583.dialects import get_dialect
from poskit.keys.errors import KeyManagementError
from poskit.keys.injection import initial_ksn, inject_keys
from poskit.keys.lmk_rotation import KEY_BLOCK_COLUMNS, RotationProgress, lmk_side_file, rotate_lmk
from poskit.keys.status import key_status
from poskit.money import Amount
from poskit.store.db import make_engine
from poskit.store.schema import audit_log, system_keys, terminals
from poskit.store.schema_keys import lmk_rotations
from poskit.terminal.devices.network import TcpHostLink
from poskit.terminal.devices.scripted import (
    ScriptedPinEntry,
    TestCardReader,
    scripted_devices,
)
from poskit.terminal.engine import TerminalEngine
from poskit.terminal.runtime import terminal_files
from poskit.terminal.secure_element import SecureElement
from poskit.terminal.store import TerminalStore

H = bytes.fromhex
TID = "10000001"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo world provisioned once; each test works on a copy."""
    data_dir = tmp_path_factory.mktemp("keys-template")
    provision_demo(Settings(data_dir=data_dir, host_port=0, portal_port=0))
    return data_dir


@pytest.fixture
def settings(template: Path, tmp_path: Path) -> Settings:
    data_dir = tmp_path / "data"
    shutil.copytree(template, data_dir)
    return Settings(data_dir=data_dir, host_port=0, portal_port=0)


@pytest.fixture
def host_db(settings: Settings) -> Any:
    engine = make_engine(settings.resolved_database_url)
    yield engine
    engine.dispose()


def _host_hsm(settings: Settings) -> SoftHSM:
    return SoftHSM(LocalMasterKey.load(settings.resolved_lmk_file))


def _blocks(engine: Engine) -> dict[tuple[str, str, int], str]:
    """Every stored key block, by (table, column, row id)."""
    out: dict[tuple[str, str, int], str] = {}
    with engine.connect() as conn:
        for table, column in KEY_BLOCK_COLUMNS:
            col = table.c[column]
            for ident, block in conn.execute(select(table.c.id, col).where(col.is_not(None))):
                out[(table.name, column, ident)] = block
    return out


def _kcvs(hsm: SoftHSM, blocks: dict[tuple[str, str, int], str]) -> dict[tuple[str, str, int], str]:
    return {where: hsm.kcv(block).hex().upper() for where, block in blocks.items()}


# ---------------------------------------------------------------------------------- DUKPT KSNs
def test_initial_ksn_layouts() -> None:
    """TDES: FFFF + 3-byte BDK ID, 19-bit device, 21-bit counter; AES: BDK ID, derivation ID, counter."""
    assert initial_ksn(scheme="TDES", bdk_id=H("D05D14"), device_id=1) == H("FFFFD05D140000200000")
    assert initial_ksn(scheme="TDES", bdk_id=H("D05D14"), device_id=(1 << 19) - 1) == H(
        "FFFFD05D14FFFFE00000"
    )
    assert initial_ksn(scheme="AES", bdk_id=H("A396F20C"), device_id=2) == H("A396F20C0000000200000000")
    with pytest.raises(KeyManagementError, match="19 bits"):
        initial_ksn(scheme="TDES", bdk_id=H("D05D14"), device_id=1 << 19)


# ---------------------------------------------------------------------------------- injection
def test_inject_loads_a_new_tmk_into_the_pin_pad(settings: Settings, host_db: Engine) -> None:
    """A new TMK: the host and PIN pad check values agree, working keys are dropped, the act is audited."""
    before = key_status(settings, TID)
    result = inject_keys(settings, TID)
    assert result.tmk_kcv == result.pinpad_tmk_kcv != before.host_keys["tmk"]["kcv"]
    assert not result.components and result.dukpt is None and not result.pinpad_reset
    status = key_status(settings, TID)
    assert status.tmk_match and status.host_keys["tmk"]["kcv"] == result.tmk_kcv
    assert set(status.host_keys) == {"tmk"} and "pik" not in status.pinpad_keys
    assert status.problems == []
    with host_db.connect() as conn:
        row = conn.execute(select(terminals).where(terminals.c.terminal_id == TID)).mappings().one()
        audit = conn.execute(select(audit_log).where(audit_log.c.action == "keys.inject")).mappings().all()
    assert row["sign_on_required"] and row["key_scheme"] == "fixed"
    assert [a["details"]["tmk_kcv"] for a in audit] == [result.tmk_kcv]


def test_inject_with_components_for_dual_control(settings: Settings) -> None:
    """N printed components XOR (parity-adjusted) to the TMK; each shows its own check value."""
    result = inject_keys(settings, TID, components=3)
    assert len(result.components) == 3
    value = 0
    for c in result.components:
        assert c.kcv == kcv(c.value).hex().upper()
        value ^= int.from_bytes(c.value, "big")
    tmk = adjust_odd_parity(value.to_bytes(16, "big"))
    assert kcv(tmk).hex().upper() == result.tmk_kcv == result.pinpad_tmk_kcv
    assert c.hex not in repr(result)  # reprs hide components


@pytest.mark.parametrize("aes", [False, True])
def test_inject_dukpt_creates_the_bdk_and_a_device(settings: Settings, aes: bool) -> None:
    """--dukpt makes a BDK system key once and a fresh initial KSN per injection."""
    first = inject_keys(settings, TID, dukpt=True, aes=aes)
    second = inject_keys(settings, "10000002", dukpt=True, aes=aes)
    assert first.dukpt is not None and second.dukpt is not None
    assert first.dukpt.bdk_kcv == second.dukpt.bdk_kcv and first.dukpt.bdk_name == second.dukpt.bdk_name
    assert first.dukpt.initial_ksn != second.dukpt.initial_ksn
    assert len(H(first.dukpt.initial_ksn)) == (12 if aes else 10)
    status = key_status(settings, TID)
    assert status.key_scheme == "dukpt" and status.dukpt is not None
    assert status.dukpt["initial_ksn"] == first.dukpt.initial_ksn and status.problems == []
    assert status.pinpad_keys["dukpt"]["kcv"] == first.dukpt.ik_kcv
    assert status.pinpad_dukpt_ksn == first.dukpt.initial_ksn[:-2] + "01"


def test_inject_recreates_a_lost_pin_pad(settings: Settings) -> None:
    """A PIN pad whose master key file is gone is re-initialised: new file, old blocks wiped."""
    _store_file, key_file = terminal_files(settings, TID)
    key_file.unlink()
    assert "missing" in " ".join(key_status(settings, TID).problems)
    result = inject_keys(settings, TID)
    assert result.pinpad_reset and key_file.exists()
    status = key_status(settings, TID)
    assert status.problems == [] and set(status.pinpad_keys) == {"tmk"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"terminal_id": "99999999"}, "terminal 99999999 is not registered"),
        ({"terminal_id": TID, "aes": True}, "--aes applies to DUKPT"),
        ({"terminal_id": TID, "components": 1}, "--components 1: dual control needs 2 to 9"),
    ],
)
def test_inject_refuses_bad_requests(settings: Settings, kwargs: dict[str, Any], message: str) -> None:
    """Unknown terminals, --aes without --dukpt and a single component are refused with a reason."""
    with pytest.raises(KeyManagementError, match=message):
        inject_keys(settings, **kwargs)


# ---------------------------------------------------------------------------------- LMK rotation
def test_rotation_rewraps_every_block_and_keeps_every_key(settings: Settings, host_db: Engine) -> None:
    """After a rotation every block opens only under the new LMK, with the same check value."""
    inject_keys(settings, "10000002", dukpt=True)  # a BDK too
    old_hsm = _host_hsm(settings)
    before = _blocks(host_db)
    assert any(where[0] == "system_keys" for where in before) and len(before) > 10
    result = rotate_lmk(settings, batch_size=4)
    assert not result.resumed and result.rewrapped == len(before) and result.already == 0
    new_hsm = _host_hsm(settings)
    assert new_hsm.lmk_identifier == result.new_lmk_id != old_hsm.lmk_identifier == result.old_lmk_id
    after = _blocks(host_db)
    assert _kcvs(new_hsm, after) == _kcvs(old_hsm, before)
    assert not any(old_hsm.owns_key(b) for b in after.values())
    assert not lmk_side_file(settings).exists()
    with host_db.connect() as conn:
        assert set(conn.execute(select(system_keys.c.lmk_id)).scalars()) == {result.new_lmk_id}
        [run] = conn.execute(select(lmk_rotations)).mappings().all()
    assert run["status"] == "done" and run["rewrapped"] == len(before) and run["finished_at"] is not None
    assert key_status(settings, "10000002").problems == []


def test_interrupted_rotation_loses_nothing_and_resumes(settings: Settings, host_db: Engine) -> None:
    """A rotation killed after a batch keeps the old LMK in force, the new one aside; a re-run finishes."""
    old_hsm = _host_hsm(settings)
    before = _kcvs(old_hsm, _blocks(host_db))
    lmk_before = settings.resolved_lmk_file.read_bytes()

    def crash(progress: RotationProgress) -> None:
        raise KeyboardInterrupt  # the operator's Ctrl-C, or a power cut, after one committed batch

    with pytest.raises(KeyboardInterrupt):
        rotate_lmk(settings, batch_size=3, on_batch=crash)
    side = lmk_side_file(settings)
    assert side.exists() and settings.resolved_lmk_file.read_bytes() == lmk_before
    new_hsm = SoftHSM(LocalMasterKey.load(side))
    mixed = _blocks(host_db)
    moved = [w for w, b in mixed.items() if new_hsm.owns_key(b)]
    assert len(moved) == 3 and all(old_hsm.owns_key(b) for w, b in mixed.items() if w not in moved)

    result = rotate_lmk(settings, batch_size=3)
    assert result.resumed and result.already == 3 and result.rewrapped == len(before) - 3
    assert result.new_lmk_id == new_hsm.lmk_identifier == _host_hsm(settings).lmk_identifier
    assert _kcvs(new_hsm, _blocks(host_db)) == before and not side.exists()


def test_rotation_stops_at_a_block_under_an_unknown_lmk(settings: Settings, host_db: Engine) -> None:
    """A block that opens under neither LMK stops the rotation, naming the row; the old LMK stays."""
    stranger = SoftHSM(LocalMasterKey(bytes(range(32))))
    with host_db.begin() as conn:
        conn.execute(
            update(terminals).where(terminals.c.terminal_id == TID).values(tmk=stranger.generate_key("K0"))
        )
    lmk_before = settings.resolved_lmk_file.read_bytes()
    with pytest.raises(
        KeyManagementError, match=r"terminals\.tmk row \d+: the key block opens under neither"
    ):
        rotate_lmk(settings)
    assert settings.resolved_lmk_file.read_bytes() == lmk_before
    inject_keys(settings, TID)  # the fix: a new TMK for that terminal (under the current LMK)
    assert rotate_lmk(settings).resumed


def test_rotation_needs_the_key_file(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """An LMK given in POSKIT_LMK cannot be rotated by poskit: the error says so."""
    monkeypatch.setenv("POSKIT_LMK", settings.resolved_lmk_file.read_text().strip())
    with pytest.raises(KeyManagementError, match="POSKIT_LMK"):
        rotate_lmk(settings)


# ---------------------------------------------------------------------------------- sign-on rules
@pytest.fixture
async def host(settings: Settings) -> AsyncIterator[RunningServices]:
    """The real host on a TCP port inside the test's event loop."""
    services = RunningServices(settings, portal=False)
    await services.start()
    yield services
    await services.stop()


class SpyLink(TcpHostLink):
    """A TCP link that hands every response payload to ``on_response`` first."""

    def __init__(self, address: str, on_response: Callable[[bytes], None]) -> None:
        super().__init__(address)
        self.on_response = on_response

    async def exchange(self, frame: bytes, *, timeout: float) -> bytes:
        payload = await super().exchange(frame, timeout=timeout)
        self.on_response(payload)
        return payload


async def _no_sleep(_seconds: float) -> None:
    return None


def _engine(
    settings: Settings, link: TcpHostLink, *, card: str = "magstripe-debit", pin: str = "654321"
) -> Any:
    store_file, key_file = terminal_files(settings, TID)
    store = TerminalStore.open(store_file)
    element = SecureElement.open(key_file, store, mac_algorithm=store.profile().mac_algorithm)
    devices = scripted_devices(link, TestCardReader(card_by_name(card), "swipe"), ScriptedPinEntry([pin] * 3))
    return TerminalEngine(store, element, devices, sleep=_no_sleep)


def _host_working_kcvs(settings: Settings, engine: Engine) -> dict[str, Any]:
    hsm = _host_hsm(settings)
    with engine.connect() as conn:
        row = conn.execute(select(terminals).where(terminals.c.terminal_id == TID)).mappings().one()
    return {
        "pik": hsm.kcv(row["pik"]).hex(),
        "mak": hsm.kcv(row["mak"]).hex(),
        "required": row["sign_on_required"],
        # a sign-on while keys are in force leaves the new ones pending until their first MAC
        "pending_pik": hsm.kcv(row["pending_pik"]).hex() if row["pending_pik"] else None,
        "pending_mak": hsm.kcv(row["pending_mak"]).hex() if row["pending_mak"] else None,
    }


async def test_working_keys_rotate_at_every_sign_on(
    settings: Settings, host: RunningServices, host_db: Engine
) -> None:
    """Each sign-on loads a fresh PIK and MAK: different check values; the host holds the new ones pending."""
    engine = _engine(settings, TcpHostLink(host.host.address))
    first = await engine.sign_on()
    host_first = _host_working_kcvs(settings, host_db)
    second = await engine.sign_on()
    assert first.approved and second.approved
    assert first.extra["kcv"]["pik"] != second.extra["kcv"]["pik"]
    assert first.extra["kcv"]["mak"] != second.extra["kcv"]["mak"]
    host_second = _host_working_kcvs(settings, host_db)
    assert host_second["pending_pik"] not in (None, host_first["pik"])
    assert host_second["pending_mak"] not in (None, host_first["mak"])
    assert host_second["pending_pik"] == second.extra["kcv"]["pik"].lower()
    engine.store.close()


async def test_mac_error_is_answered_a0_and_the_terminal_signs_on_again(
    settings: Settings, host: RunningServices, host_db: Engine
) -> None:
    """A request MAC'd with the wrong key is answered A0 (header: sign on) without the host revoking the keys.

    The host keeps the working keys (a forged MAC must not take the genuine terminal out of
    service); the terminal that received the A0 signs on again by itself and then pays.
    """
    seen: list[bool] = []
    dialect = get_dialect("cups")

    def check(payload: bytes) -> None:
        envelope = dialect.unframe(payload)
        response = dialect.decode_response(dialect.decode(envelope.message), envelope=envelope)
        if response.response_code == "A0":
            seen.append(_host_working_kcvs(settings, host_db)["required"])
            assert response.processing_requirement == 3

    engine = _engine(settings, SpyLink(host.host.address, check))
    assert (await engine.sign_on()).approved
    element: SecureElement = engine.element
    forged = element.hsm.generate_key("M0", algorithm="TDES", length=8)
    engine.store.put_keys({"mak": (forged, element.hsm.kcv(forged).hex().upper())})
    element._cache.clear()
    outcome = await engine.sale(Amount.parse("3.00", "CNY"))
    assert outcome.status == "declined" and outcome.response_code == "A0"
    assert "signed on again" in outcome.message and seen == [False]
    assert not _host_working_kcvs(settings, host_db)["required"]
    assert (await engine.sale(Amount.parse("3.00", "CNY"))).approved
    engine.store.close()


async def test_pin_format_error_forces_a_new_sign_on(
    settings: Settings, host: RunningServices, host_db: Engine
) -> None:
    """A PIN block that does not decode is answered 99; the host requires a sign-on, keys rotate."""
    seen: list[bool] = []
    dialect = get_dialect("cups")

    def check(payload: bytes) -> None:
        envelope = dialect.unframe(payload)
        response = dialect.decode_response(dialect.decode(envelope.message), envelope=envelope)
        if response.response_code == "99":
            seen.append(_host_working_kcvs(settings, host_db)["required"])
            assert response.processing_requirement == 3

    engine = _engine(settings, SpyLink(host.host.address, check))
    signed = await engine.sign_on()
    element: SecureElement = engine.element
    genuine = element.encrypt_pin

    def wrong_pan_block(pin: str, pan: str) -> bytes:
        # Encrypted for another card: under this card's PAN the fill is no longer all F.
        return genuine(pin, "6225880112345678")

    element.encrypt_pin = wrong_pan_block  # type: ignore[method-assign]
    outcome = await engine.sale(Amount.parse("4.00", "CNY"))
    assert outcome.status == "declined" and outcome.response_code == "99"
    assert seen == [True] and "signed on again" in outcome.message
    assert engine.store.key_names()["pik"] != signed.extra["kcv"]["pik"]
    element.encrypt_pin = genuine  # type: ignore[method-assign]
    assert (await engine.sale(Amount.parse("4.00", "CNY"))).approved
    engine.store.close()


async def test_terminal_that_lost_its_tmk_refuses_to_transact(
    settings: Settings, host: RunningServices
) -> None:
    """With the TMK gone from the PIN pad the sale stops before the host, naming the key and the fix."""
    engine = _engine(settings, TcpHostLink(host.host.address))
    engine.store.delete_keys("tmk")
    outcome = await engine.sale(Amount.parse("5.00", "CNY"))
    assert outcome.status == "failed" and outcome.exit_code == 2
    assert "no master key" in outcome.message and "poskit keys inject" in outcome.message
    engine.store.close()
