"""DUKPT terminals end to end over real TCP: PIN pad KSNs, host translation, replay and key loss."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, select, update

from poskit.config import Settings
from poskit.crypto import dukpt_aes
from poskit.crypto.des import decrypt_tdes_ecb, encrypt_tdes_ecb
from poskit.crypto.hsm import SoftHSM
from poskit.crypto.lmk import LocalMasterKey
from poskit.crypto.pinblock import decode_pinblock, encode_pinblock
from poskit.crypto.pinpad import DukptPinPad
from poskit.money import Amount
from poskit.store.db import make_engine
from poskit.store.schema import terminals
from poskit.store.schema_keys import dukpt_devices

pytestmark = pytest.mark.usefixtures("live_host")

H = bytes.fromhex


def cny(text: str) -> Amount:
    return Amount.parse(text, "CNY")


@pytest.fixture
def host_db(host_settings: Settings) -> Iterator[Engine]:
    engine = make_engine(host_settings.resolved_database_url)
    yield engine
    engine.dispose()


def _device(engine: Engine, terminal_id: str) -> Any:
    with engine.connect() as conn:
        return (
            conn.execute(
                select(dukpt_devices)
                .join(terminals, terminals.c.id == dukpt_devices.c.terminal_id)
                .where(terminals.c.terminal_id == terminal_id, dukpt_devices.c.status == "active")
            )
            .mappings()
            .one()
        )


def _set_device(engine: Engine, device_id: int, **values: Any) -> None:
    with engine.begin() as conn:
        conn.execute(update(dukpt_devices).where(dukpt_devices.c.id == device_id).values(**values))


@pytest.mark.parametrize("aes", [False, True], ids=["tdes", "aes"])
async def test_dukpt_sale_is_approved_and_the_host_tracks_the_ksn(
    new_till: Callable[..., Any], host_db: Engine, aes: bool
) -> None:
    """PIN sales from a DUKPT terminal are approved; each carries the next KSN, which the host records."""
    till = new_till(dukpt=True, aes=aes)
    device = _device(host_db, till.terminal_id)
    assert device["scheme"] == ("AES" if aes else "TDES") and device["last_counter"] == 0
    initial = H(device["initial_ksn"])
    assert till.element.dukpt_ksn() == initial[:-1] + b"\x01"  # a fresh PIN pad starts at counter 1
    for expected_counter in (1, 2):
        outcome = await till.engine("magstripe-debit", pins=("654321",)).sale(cny("12.34"))
        assert outcome.approved, outcome.message
        assert _device(host_db, till.terminal_id)["last_counter"] == expected_counter
    assert till.element.dukpt_ksn() == initial[:-1] + b"\x03"
    assert till.store.key_names()["dukpt"] == device["ik_kcv"]


async def test_wrong_pin_under_dukpt_is_declined_55(new_till: Callable[..., Any]) -> None:
    """The host verifies the PIN translated from DUKPT: a wrong PIN is answered 55."""
    till = new_till(dukpt=True)
    outcome = await till.engine("magstripe-debit", pins=("111111",)).sale(cny("5.00"))
    assert outcome.status == "declined" and outcome.response_code == "55"


async def test_replayed_ksn_is_refused(new_till: Callable[..., Any], host_db: Engine) -> None:
    """A KSN whose counter is not above the last accepted one is refused (A7) before the issuer sees it."""
    till = new_till(dukpt=True)
    device = _device(host_db, till.terminal_id)
    _set_device(host_db, device["id"], last_counter=100)  # the host already saw counter 100
    outcome = await till.engine("magstripe-debit", pins=("654321",)).sale(cny("5.00"))
    assert outcome.status == "declined" and outcome.response_code == "A7"
    assert _device(host_db, till.terminal_id)["last_counter"] == 100


async def test_ksn_of_another_device_is_refused(new_till: Callable[..., Any], host_db: Engine) -> None:
    """A KSN that does not belong to the terminal's injected DUKPT key is refused (A7)."""
    till = new_till(dukpt=True)
    device = _device(host_db, till.terminal_id)
    other = bytearray(H(device["initial_ksn"]))
    other[6] ^= 0x40  # another device ID under the same BDK
    _set_device(host_db, device["id"], initial_ksn=bytes(other).hex().upper())
    outcome = await till.engine("magstripe-debit", pins=("654321",)).sale(cny("5.00"))
    assert outcome.status == "declined" and outcome.response_code == "A7"


async def test_dukpt_state_survives_a_power_cycle(new_till: Callable[..., Any], host_db: Engine) -> None:
    """A PIN pad reopened from its files continues with the next KSN: no counter is ever reused."""
    till = new_till(dukpt=True)
    assert (await till.engine("magstripe-debit", pins=("654321",)).sale(cny("1.00"))).approved
    till.reopen_element()
    assert (await till.engine("magstripe-debit", pins=("654321",)).sale(cny("1.00"))).approved
    assert _device(host_db, till.terminal_id)["last_counter"] == 2


async def test_terminal_without_its_dukpt_key_refuses_and_says_why(
    new_till: Callable[..., Any], host_db: Engine
) -> None:
    """With the DUKPT registers gone the terminal sends nothing and names the key and the command."""
    till = new_till(dukpt=True)
    till.element.erase_dukpt_key()
    outcome = await till.engine("magstripe-debit", pins=("654321",)).sale(cny("5.00"))
    assert outcome.status == "failed" and outcome.exit_code == 2
    assert "DUKPT key missing" in outcome.message
    assert f"poskit keys inject --terminal {till.terminal_id} --dukpt" in outcome.message
    assert _device(host_db, till.terminal_id)["last_counter"] == 0


async def test_fixed_key_terminal_still_uses_its_pik(new_till: Callable[..., Any], host_db: Engine) -> None:
    """Re-injecting without --dukpt retires the DUKPT device: PINs go under the sign-on PIK again."""
    till = new_till(dukpt=True)
    from poskit.keys.injection import inject_keys

    inject_keys(till.settings, till.terminal_id)
    till.reopen_element()
    assert till.element.key_scheme == "fixed" and not till.element.has_dukpt_key()
    outcome = await till.engine("magstripe-debit", pins=("654321",)).sale(cny("2.00"))
    assert outcome.approved, outcome.message
    with host_db.connect() as conn:
        states = conn.execute(
            select(dukpt_devices.c.status)
            .join(terminals, terminals.c.id == dukpt_devices.c.terminal_id)
            .where(terminals.c.terminal_id == till.terminal_id)
        ).scalars()
        assert list(states) == ["retired"]


# --- the AES DUKPT PIN key used on 8-byte PIN fields ------------------------------------------
BDK128 = H("FEDCBA9876543210F1F1F1F1F1F1F1F1")
KSN0 = H("123456789012345600000000")


def test_aes_dukpt_2tdea_pin_key_follows_x9_24_3() -> None:
    """AES DUKPT format-0 PIN blocks use the 2TDEA PIN key of X9.24-3 6.3, derived here by hand.

    Derivation data (X9.24-3 6.3.3): 01 | 01 | usage 1000 | algorithm 0000 (2TDEA) | length 0080 |
    derivation ID | counter, AES-ECB under the transaction's derivation key (4F21..AE44 for
    counter 1 in the supplement's vectors).
    """
    derivation_key = dukpt_aes.derive_intermediate_key(BDK128, KSN0[:8] + H("00000001"))
    assert derivation_key == H("4F21B565BAD9835E112B6465635EAE44")
    data = H("0101100000000080") + KSN0[4:8] + H("00000001")
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    enc = Cipher(algorithms.AES(derivation_key), modes.ECB()).encryptor()  # noqa: S305 - one block
    pin_key = (enc.update(data) + enc.finalize())[:16]

    host = SoftHSM(LocalMasterKey(bytes(range(32))))
    pad_hsm = SoftHSM(LocalMasterKey(bytes(range(1, 33))))
    bdk = host.import_clear_key(BDK128, "B0", algorithm="AES")
    ik = host.derive_dukpt_initial_key(bdk=bdk, ksn=KSN0, aes=True)
    pad = DukptPinPad.load(pad_hsm, host.transfer_key(ik, to=pad_hsm), KSN0)
    txn = pad.next_transaction()
    block = txn.encrypt_pin("1234", "4111111111111111", fmt=0)
    assert decode_pinblock(decrypt_tdes_ecb(pin_key, block), "4111111111111111", fmt=0) == "1234"
    assert block == encrypt_tdes_ecb(pin_key, encode_pinblock("1234", "4111111111111111", fmt=0))
    zpk_clear = H("0123456789ABCDEFFEDCBA9876543210")
    zpk = host.import_clear_key(zpk_clear, "P0")
    out = host.dukpt_translate_pin_block(
        block, ksn=txn.ksn, bdk=bdk, pan="4111111111111111", dest_key=zpk, aes=True, source_format=0
    )
    assert decode_pinblock(decrypt_tdes_ecb(zpk_clear, out), "4111111111111111", fmt=0) == "1234"
