"""SoftHSM key management: generation, import/export, components, TR-31, transfer, rotation."""

from __future__ import annotations

import psec
import pytest

from poskit.crypto.des import encrypt_tdes_ecb, has_odd_parity
from poskit.crypto.errors import InputError, KeyBlockError, KeyCheckValueError, KeyUsageError
from poskit.crypto.hsm import KeyInfo, SoftHSM
from poskit.crypto.kcv import kcv
from poskit.crypto.lmk import LocalMasterKey
from poskit.crypto.tr31 import parse_header

H = bytes.fromhex


def test_generated_key_block_format(hsm: SoftHSM) -> None:
    """Generated keys are TR-31 version D blocks under the LMK with the usage in the header."""
    block = hsm.generate_key("P0")
    header, _ = parse_header(block)
    assert (header.version, header.usage, header.algorithm, header.mode) == ("D", "P0", "T", "B")
    assert block.startswith("D0112P0TB00E0000")
    info = hsm.describe(block)
    assert info == KeyInfo("P0", "TDES", "B", 16, "E", info.kcv, "00")
    assert info.meaning == "PIN encryption key"


def test_generated_tdes_keys_have_odd_parity(hsm: SoftHSM) -> None:
    """TDES keys are generated with odd parity; AES keys of the asked length."""
    block = hsm.generate_key("K0", length=24)
    assert has_odd_parity(hsm._key(block).material)
    assert hsm.describe(hsm.generate_key("D0", algorithm="AES", length=32)).length == 32


def test_deterministic_with_injected_random(lmk: LocalMasterKey, make_random) -> None:  # type: ignore[no-untyped-def]
    """With the same random source two HSMs produce the same key blocks."""
    a = SoftHSM(lmk, random=make_random(7)).generate_key("M0")
    b = SoftHSM(lmk, random=make_random(7)).generate_key("M0")
    assert a == b


def test_import_clear_key_kcv(hsm: SoftHSM) -> None:
    """A published test key keeps its published check value (0123..3210 -> 08D7B4)."""
    block = hsm.import_clear_key(H("0123456789ABCDEFFEDCBA9876543210"), "K0")
    assert hsm.kcv(block) == H("08D7B4")
    assert hsm.kcv(block, length=4) == H("08D7B4FB")


def test_sign_on_working_key_published_example(hsm: SoftHSM) -> None:
    """TAK 96D605EA176B7E9E under TMK 70F2..B923 is C24A8FB57AA20123 (a public CUPS example)."""
    tmk = hsm.import_clear_key(H("70F2A84CCBC2AE8625CBB0F2C22AB923"), "K0")
    clear_tak = H("C24A8FB57AA20123")
    tak = hsm.import_key_under_kek(
        H("96D605EA176B7E9E"), kek=tmk, usage="M0", expected_kcv=kcv(clear_tak, length=4)
    )
    assert hsm.kcv(tak) == kcv(clear_tak)
    assert hsm.describe(tak).length == 8
    assert hsm.export_key_under_kek(tak, kek=tmk) == H("96D605EA176B7E9E")


def test_kcv_mismatch_on_import(hsm: SoftHSM) -> None:
    """A working key whose check value differs raises KeyCheckValueError (4-byte CUPS KCV)."""
    tmk = hsm.generate_key("K0")
    pik = hsm.generate_key("P0")
    encrypted = hsm.export_key_under_kek(pik, kek=tmk)
    good = hsm.kcv(pik, length=4)
    assert hsm.kcv(hsm.import_key_under_kek(encrypted, kek=tmk, usage="P0", expected_kcv=good)) == hsm.kcv(
        pik
    )
    bad = bytes(b ^ 1 for b in good)
    with pytest.raises(KeyCheckValueError, match="key check value mismatch"):
        hsm.import_key_under_kek(encrypted, kek=tmk, usage="P0", expected_kcv=bad)


def test_cups_sign_on_field_62_layout(hsm: SoftHSM) -> None:
    """A 60.3=004 field 62 (PIK, MAK + 8 zero bytes, TDK, each with a 4-byte KCV) imports."""
    tmk_clear = H("0123456789ABCDEFFEDCBA9876543210")
    pik, mak, tdk = H("11111111111111112222222222222222"), H("3333333333333333"), H("4545" * 8)
    field62 = (
        encrypt_tdes_ecb(tmk_clear, pik)
        + kcv(pik, length=4)
        + encrypt_tdes_ecb(tmk_clear, mak)
        + bytes(8)
        + kcv(mak, length=4)
        + encrypt_tdes_ecb(tmk_clear, tdk)
        + kcv(tdk, length=4)
    )
    assert len(field62) == 60
    tmk = hsm.import_clear_key(tmk_clear, "K0")
    p = hsm.import_key_under_kek(field62[0:16], kek=tmk, usage="P0", expected_kcv=field62[16:20])
    m = hsm.import_key_under_kek(field62[20:28], kek=tmk, usage="M0", expected_kcv=field62[36:40])
    t = hsm.import_key_under_kek(field62[40:56], kek=tmk, usage="D0", expected_kcv=field62[56:60])
    assert [hsm.kcv(k) for k in (p, m, t)] == [kcv(pik), kcv(mak), kcv(tdk)]


def test_components_dual_control(hsm: SoftHSM) -> None:
    """Generated components XOR (then parity-adjust) to the key; re-entering them gives its KCV."""
    block, components = hsm.generate_components("K0", count=3)
    assert len(components) == 3
    for component, check in components:
        assert check == kcv(component)
        assert has_odd_parity(component)
    again, check = hsm.import_components([c for c, _ in components], "K0")
    assert check == hsm.kcv(block) == hsm.kcv(again)
    with pytest.raises(InputError, match="at least 2"):
        hsm.import_components([components[0][0]], "K0")


def test_tr31_export_import_between_hsms(hsm: SoftHSM, other_hsm: SoftHSM) -> None:
    """A key exported under a shared KBPK imports into another HSM with the same KCV."""
    kbpk_clear = bytes(range(32))
    kbpk_here = hsm.import_clear_key(kbpk_clear, "K1", algorithm="AES")
    kbpk_there = other_hsm.import_clear_key(kbpk_clear, "K1", algorithm="AES")
    key = hsm.generate_key("M3")
    block = hsm.export_tr31(key, kbpk=kbpk_here, exportability="N")
    assert block.startswith("D") and block[11] == "N"
    _, clear = psec.tr31.unwrap(kbpk_clear, block)
    assert kcv(clear) == hsm.kcv(key)
    imported = other_hsm.import_tr31(block, kbpk=kbpk_there)
    assert other_hsm.describe(imported).usage == "M3"
    assert other_hsm.kcv(imported) == hsm.kcv(key)


def test_tr31_version_b_import(hsm: SoftHSM) -> None:
    """Version B blocks under a TDES KBPK are accepted on import (TR-31:2018 example)."""
    kbpk = hsm.import_clear_key(H("DD7515F2BFC17F85CE48F3CA25CB21F6"), "K1")
    block = "B0080P0TE00E000094B420079CC80BA3461F86FE26EFC4A3B8E4FA4C5F5341176EED7B727B8A248E"
    imported = hsm.import_tr31(block, kbpk=kbpk)
    assert hsm.kcv(imported) == kcv(H("3F419E1CB7079442AA37474C2EFBF8B8"))
    assert hsm.describe(imported).mode == "E"
    exported = hsm.export_tr31(imported, kbpk=kbpk)
    assert exported.startswith("B")


def test_transfer_key(hsm: SoftHSM, other_hsm: SoftHSM) -> None:
    """transfer_key moves a key into another HSM keeping usage, mode and KCV."""
    tmk = hsm.generate_key("K0")
    moved = hsm.transfer_key(tmk, to=other_hsm)
    assert not hsm.owns_key(moved) and other_hsm.owns_key(moved)
    assert other_hsm.describe(moved) == hsm.describe(tmk)


def test_lmk_rotation_keeps_kcvs(hsm: SoftHSM, other_hsm: SoftHSM) -> None:
    """Re-wrapping under a new LMK keeps every key's attributes and check value."""
    blocks = [
        hsm.generate_key("P0"),
        hsm.generate_key("M6", algorithm="AES"),
        hsm.generate_key("V1", exportability="N"),
        hsm.generate_key("M7", algorithm="HMAC", length=32, exportability="N"),
    ]
    for block in blocks:
        new = hsm.rewrap(block, other_hsm)
        assert other_hsm.describe(new) == hsm.describe(block)
        assert other_hsm.owns_key(new) and not hsm.owns_key(new)
        assert hsm.rewrap(block, other_hsm) != block


def test_tampered_block_detected(hsm: SoftHSM) -> None:
    """Flipping one character of a stored key block makes it unusable (KeyBlockError)."""
    block = hsm.generate_key("P0")
    for position in (6, 30, len(block) - 3):
        chars = list(block)
        chars[position] = "0" if chars[position] != "0" else "1"
        with pytest.raises(KeyBlockError):
            hsm.describe("".join(chars))
    with pytest.raises(KeyBlockError, match=r"^key: key block field MAC"):
        hsm.describe(block[:-1] + ("0" if block[-1] != "0" else "1"))


def test_other_lmk_rejected(hsm: SoftHSM, other_hsm: SoftHSM) -> None:
    """A key block from another LMK fails its MAC check."""
    with pytest.raises(KeyBlockError, match="MAC does not verify"):
        other_hsm.kcv(hsm.generate_key("P0"))


def test_cache_is_bounded(lmk: LocalMasterKey) -> None:
    """With a tiny cache, evicted keys are simply unwrapped again."""
    small = SoftHSM(lmk, cache_size=2)
    blocks = [small.generate_key("M0") for _ in range(5)]
    checks = [small.kcv(b) for b in blocks]
    assert len(small._cache) == 2
    assert [small.kcv(b) for b in blocks] == checks


def test_not_a_key_block(hsm: SoftHSM) -> None:
    """A non-string key is an InputError naming the argument."""
    with pytest.raises(InputError, match=r"^key: expected a key block string$"):
        hsm.kcv(b"not a block")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"usage": "ZZ"}, "^usage: 'ZZ' is not a key usage"),
        ({"usage": "P0", "algorithm": "HMAC"}, "^algorithm: HMAC is not allowed for P0"),
        ({"usage": "P0", "length": 12}, "^length: 12 bytes is not a TDES key"),
        ({"usage": "P0", "mode": "G"}, "^mode: 'G' is not a mode of use for P0"),
        ({"usage": "P0", "exportability": "X"}, "^exportability: 'X'"),
    ],
)
def test_generate_key_validation(hsm: SoftHSM, kwargs: dict[str, object], message: str) -> None:
    """Unknown usages, algorithms, lengths, modes and exportability are InputErrors."""
    usage = kwargs.pop("usage")
    with pytest.raises(InputError, match=message):
        hsm.generate_key(usage, **kwargs)  # type: ignore[arg-type]


def test_import_tr31_unsupported_usage(hsm: SoftHSM) -> None:
    """A TR-31 block with a usage this HSM does not know is refused as a usage error."""
    kbpk_clear = bytes(range(16, 48))
    kbpk = hsm.import_clear_key(kbpk_clear, "K1", algorithm="AES")
    block = psec.tr31.wrap(kbpk_clear, psec.tr31.Header("D", "D1", "T", "E", "00", "E"), bytes(16))
    with pytest.raises(KeyUsageError, match="import TR-31: not permitted with a D1 key"):
        hsm.import_tr31(block, kbpk=kbpk)
