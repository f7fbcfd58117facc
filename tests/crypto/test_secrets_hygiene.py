"""No repr, str or error message of the security module shows a clear key, PIN or PAN."""

from __future__ import annotations

import pytest

from poskit.crypto.errors import (
    CryptoError,
    DukptExhaustedError,
    InputError,
    KeyBlockError,
    KeyCheckValueError,
    KeyUsageError,
    LmkError,
    MacVerificationError,
    PinBlockFormatError,
)
from poskit.crypto.hsm import SoftHSM
from poskit.crypto.lmk import LocalMasterKey
from poskit.crypto.mac import mac_calculator

KEY_HEX = "0123456789ABCDEFFEDCBA9876543210"
LMK_HEX = "00112233445566778899AABBCCDDEEFF0123456789ABCDEFFEDCBA9876543210"


def _texts(obj: object) -> list[str]:
    return [repr(obj), str(obj), f"{obj!r}"]


def test_objects_hide_keys() -> None:
    """LMK, SoftHSM, cached keys and MAC calculators show no key hex."""
    lmk = LocalMasterKey.from_hex(LMK_HEX)
    hsm = SoftHSM(lmk)
    block = hsm.import_clear_key(bytes.fromhex(KEY_HEX), "M0")
    objects: list[object] = [
        lmk,
        hsm,
        hsm._key(block),
        mac_calculator(bytes.fromhex(KEY_HEX), "x919"),
        hsm.describe(block),
    ]
    for obj in objects:
        for text in _texts(obj):
            assert KEY_HEX not in text.upper() and "0123456789ABCDEF" not in text.upper()
            assert LMK_HEX[:16] not in text.upper()


def test_softhsm_not_picklable() -> None:
    """A SoftHSM cannot be pickled (it holds the LMK)."""
    import pickle

    with pytest.raises(TypeError):
        pickle.dumps(SoftHSM(LocalMasterKey.from_hex(LMK_HEX)))


def test_error_messages_are_safe_and_picklable() -> None:
    """Every error's message is one line without secrets, and errors survive pickling."""
    import pickle

    errors: list[CryptoError] = [
        InputError("--key", "odd number of hex digits"),
        KeyUsageError("generate MAC", "P0", "needs M0"),
        KeyCheckValueError(bytes.fromhex("1A2B3C4D"), bytes.fromhex("5E6F7A8B")),
        MacVerificationError(),
        PinBlockFormatError(0, "fill is not all F"),
        KeyBlockError("MAC does not verify", field="MAC", position=81),
        LmkError("environment variable POSKIT_LMK is not set"),
        DukptExhaustedError("TDES", 0x1FFFFF),
    ]
    for err in errors:
        assert isinstance(err, ValueError)
        assert "\n" not in str(err)
        assert KEY_HEX not in str(err)
        clone = pickle.loads(pickle.dumps(err))  # noqa: S301 - our own bytes
        assert type(clone) is type(err) and str(clone) == str(err)
    assert str(errors[0]) == "--key: odd number of hex digits"


def test_hsm_errors_do_not_leak() -> None:
    """Errors raised by HSM operations carry no key, PIN or PAN text."""
    hsm = SoftHSM(LocalMasterKey.from_hex(LMK_HEX))
    pik = hsm.import_clear_key(bytes.fromhex(KEY_HEX), "P0")
    zpk = hsm.generate_key("P0")
    block = hsm.encrypt_pin("987654", "6225880112345678", key=pik)
    with pytest.raises(PinBlockFormatError) as exc:
        hsm.translate_pin_block(block, pan="6225880112345678", source_key=zpk, dest_key=pik)
    text = str(exc.value)
    assert "987654" not in text and "6225880112345678" not in text and KEY_HEX not in text
    with pytest.raises(KeyBlockError) as kexc:
        hsm.kcv(pik[:-1] + ("0" if pik[-1] != "0" else "1"))
    assert KEY_HEX not in str(kexc.value) and pik[16:48] not in str(kexc.value)
