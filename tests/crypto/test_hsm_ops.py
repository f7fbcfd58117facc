"""SoftHSM operations: PIN translate/verify, MAC, track data, CVV, EMV and DUKPT host side."""

from __future__ import annotations

from typing import Literal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from poskit.crypto import dukpt, dukpt_aes
from poskit.crypto.cvv import generate_cvv, generate_dcvv
from poskit.crypto.des import decrypt_tdes_ecb
from poskit.crypto.emv import derive_icc_master_key, derive_session_key, generate_ac
from poskit.crypto.errors import CryptoError, InputError, MacVerificationError, PinBlockFormatError
from poskit.crypto.hsm import SoftHSM
from poskit.crypto.pinblock import decipher_pinblock_iso4, decode_pinblock
from poskit.crypto.pinverify import generate_ibm3624_offset, generate_pvv

H = bytes.fromhex
PAN = "6225880112345678"
ZPK = H("0123456789ABCDEFFEDCBA9876543210")


def test_encrypt_pin_reference_example(hsm: SoftHSM) -> None:
    """The PIN pad operation gives the reference clear block under the PIK."""
    pik_clear = H("11111111111111112222222222222222")
    pik = hsm.import_clear_key(pik_clear, "P0")
    block = hsm.encrypt_pin("123456", PAN, key=pik)
    assert decrypt_tdes_ecb(pik_clear, block) == H("06126CD6EEDCBA98")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    pin=st.text("0123456789", min_size=4, max_size=12),
    formats=st.tuples(st.sampled_from([0, 1, 3]), st.sampled_from([0, 1, 3, 4])),
)
def test_translate_between_keys_and_formats(hsm: SoftHSM, pin: str, formats: tuple[int, int]) -> None:
    """A PIN block translates from a TDES PIK to a ZPK in any format, keeping the PIN."""
    src_fmt, dst_fmt = formats
    pik = hsm.generate_key("P0")
    dst_algorithm: Literal["AES", "TDES"] = "AES" if dst_fmt == 4 else "TDES"
    dst_clear = bytes(range(16))
    zpk = hsm.import_clear_key(dst_clear, "P0", algorithm=dst_algorithm)
    block = hsm.encrypt_pin(pin, PAN, key=pik, fmt=src_fmt)
    out = hsm.translate_pin_block(
        block, pan=PAN, source_key=pik, dest_key=zpk, source_format=src_fmt, dest_format=dst_fmt
    )
    if dst_fmt == 4:
        assert decipher_pinblock_iso4(dst_clear, out, PAN) == pin
    else:
        assert decode_pinblock(decrypt_tdes_ecb(dst_clear, out), PAN, fmt=dst_fmt) == pin  # type: ignore[arg-type]


def test_translate_bad_block_is_format_error(hsm: SoftHSM) -> None:
    """A block that does not decode (wrong key or PAN) raises PinBlockFormatError (99)."""
    pik, zpk = hsm.generate_key("P0"), hsm.generate_key("P0")
    block = hsm.encrypt_pin("1234", PAN, key=pik)
    with pytest.raises(PinBlockFormatError) as exc:
        hsm.translate_pin_block(block, pan=PAN, source_key=zpk, dest_key=pik)
    assert exc.value.response_code == "99"


def test_pin_verification(hsm: SoftHSM) -> None:
    """IBM 3624 offsets and PVVs from issuance verify the right PIN and reject a wrong one."""
    pvk_clear = H("58D691FBF7E5DA0725CB9D4C3D8C1CD9")
    ibm = hsm.import_clear_key(pvk_clear, "V1")
    visa = hsm.import_clear_key(pvk_clear, "V2")
    zpk = hsm.generate_key("P0")
    offset = hsm.generate_ibm3624_offset("123456", pan=PAN, pvk=ibm)
    pvv = hsm.generate_pvv("1234", pan=PAN, pvk=visa, pvki="1")
    assert offset == generate_ibm3624_offset(pvk_clear, "123456", pan=PAN)
    assert pvv == generate_pvv(pvk_clear, "1234", pan=PAN, pvki="1")
    good = hsm.encrypt_pin("123456", PAN, key=zpk)
    bad = hsm.encrypt_pin("123457", PAN, key=zpk)
    assert hsm.verify_pin_ibm3624(good, pan=PAN, key=zpk, pvk=ibm, offset=offset)
    assert not hsm.verify_pin_ibm3624(bad, pan=PAN, key=zpk, pvk=ibm, offset=offset)
    good4 = hsm.encrypt_pin("1234", PAN, key=zpk, fmt=3)
    assert hsm.verify_pin_pvv(good4, pan=PAN, key=zpk, pvk=visa, pvki="1", pvv=pvv, fmt=3)
    assert not hsm.verify_pin_pvv(
        hsm.encrypt_pin("4321", PAN, key=zpk), pan=PAN, key=zpk, pvk=visa, pvki="1", pvv=pvv
    )


def test_cups_mac_published_vector_through_hsm(hsm: SoftHSM) -> None:
    """The HSM computes the published CUPS ECB MAC and verifies it (q.cnblogs.com/q/128930)."""
    mab = bytes.fromhex(
        "0200302004800 0C080150000000000000012340000020300993030303030303031393532373138313832"
        "3231373837353135360019260000010006000000000043 5F011232383434313233343536373839303132"
        "3334 5F0306313630303336 5F040632303038323 65C023031".replace(" ", "")
    )
    mak = hsm.import_clear_key(H("0723C80DB5F4CD3D0723C80DB5F4CD3D"), "M0")
    assert hsm.generate_mac(mab, key=mak, algorithm="cups-ecb") == b"B3A092AE"
    hsm.verify_mac(mab, b"B3A092AE", key=mak, algorithm="cups-ecb")
    with pytest.raises(MacVerificationError) as exc:
        hsm.verify_mac(mab + b"\x00\x01", b"B3A092AE", key=mak, algorithm="cups-ecb")
    assert exc.value.response_code == "A0"


@pytest.mark.parametrize(
    ("usage", "algorithm", "length", "mac_algorithm"),
    [
        ("M0", "TDES", 16, "x919"),
        ("M1", "TDES", 24, "iso9797-1"),
        ("M6", "AES", 16, "cmac"),
        ("M6", "TDES", 16, "cmac"),
        ("M3", "TDES", 8, "cups-ecb"),
    ],
)
def test_mac_round_trip(hsm: SoftHSM, usage: str, algorithm: str, length: int, mac_algorithm: str) -> None:
    """Every MAC algorithm generates 8 bytes that verify, and a changed message fails."""
    key = hsm.generate_key(usage, algorithm=algorithm, length=length)  # type: ignore[arg-type]
    mac = hsm.generate_mac(b"0200" * 30, key=key, algorithm=mac_algorithm)  # type: ignore[arg-type]
    assert len(mac) == 8
    hsm.verify_mac(b"0200" * 30, mac, key=key, algorithm=mac_algorithm)  # type: ignore[arg-type]
    with pytest.raises(MacVerificationError):
        hsm.verify_mac(b"0210" * 30, mac, key=key, algorithm=mac_algorithm)  # type: ignore[arg-type]


def test_track2_cups_tdb(hsm: SoftHSM) -> None:
    """Only the 8 bytes before the last byte of track 2 are encrypted; the rest stays clear."""
    tdk_clear = H("45454545454545456767676767676767")
    tdk = hsm.import_clear_key(tdk_clear, "D0")
    track = "6225880112345678" + "=" + "2512101" + "1234567890123"  # 37 characters
    enc = hsm.encrypt_track2_cups(track, key=tdk)
    normal = track.replace("=", "D")
    # ceil(37 / 2) = 19 bytes: the TDB is hex characters [20, 36), before the last byte.
    assert enc[:20] == normal[:20] and enc[36:] == normal[36:]
    assert enc[20:36] != normal[20:36]
    assert decrypt_tdes_ecb(tdk_clear, H(enc[20:36])) == H(normal[20:36])
    assert hsm.decrypt_track2_cups(enc, key=tdk) == normal
    with pytest.raises(InputError, match=r"^field35: "):
        hsm.encrypt_track2_cups("6225=2512", key=tdk)


def test_data_encryption_modes(hsm: SoftHSM) -> None:
    """ECB and CBC encryption under a data key round-trip; partial blocks are refused."""
    key = hsm.generate_key("D0", algorithm="AES")
    data = bytes(range(32))
    for mode in ("ecb", "cbc"):
        enc = hsm.encrypt_data(data, key=key, mode=mode)
        assert hsm.decrypt_data(enc, key=key, mode=mode) == data
    with pytest.raises(InputError, match="not a multiple"):
        hsm.encrypt_data(b"abc", key=key)


def test_aead_and_hmac(hsm: SoftHSM) -> None:
    """AES-GCM round-trips and detects tampering; HMAC is deterministic per key."""
    key = hsm.generate_key("D0", algorithm="AES", length=32)
    blob = hsm.encrypt_aead(b"secret", key=key, aad=b"x")
    assert hsm.decrypt_aead(blob, key=key, aad=b"x") == b"secret"
    with pytest.raises(CryptoError, match="authentication failed"):
        hsm.decrypt_aead(blob[:-1] + bytes([blob[-1] ^ 1]), key=key, aad=b"x")
    mk = hsm.generate_key("M7", algorithm="HMAC", length=32)
    assert hsm.generate_hmac(b"a", key=mk) == hsm.generate_hmac(b"a", key=mk)
    assert len(hsm.generate_hmac(b"a", key=mk)) == 32


def test_cvv_and_dcvv(hsm: SoftHSM) -> None:
    """CVVs and dCVVs from the HSM equal the raw algorithms and verify."""
    cvk_clear = H("B63DB9945BC8A4F8B992FDAB6189D549")
    cvk = hsm.import_clear_key(cvk_clear, "C0")
    cvv = hsm.generate_cvv(PAN, "3012", "220", cvk=cvk)
    assert cvv == generate_cvv(cvk_clear, PAN, "3012", "220")
    assert hsm.verify_cvv(PAN, "3012", "220", cvv, cvk=cvk)
    assert not hsm.verify_cvv(PAN, "3012", "220", f"{(int(cvv) + 5) % 1000:03d}", cvk=cvk)
    imk_clear = H("08231AC84A31BC8F7FF401F2E3613858")
    imk = hsm.import_clear_key(imk_clear, "E0")
    udk = derive_icc_master_key(imk_clear, PAN, "00")
    dcvv = hsm.generate_dcvv(PAN, "3012", "201", "0007", imk=imk)
    assert dcvv == generate_dcvv(udk, PAN, "3012", "201", "0007")
    assert hsm.verify_dcvv(PAN, "3012", "201", "0007", dcvv, imk=imk)


def test_arqc_and_arpc(hsm: SoftHSM) -> None:
    """The HSM verifies a card's ARQC and produces ARPCs the card can check."""
    imk_clear = H("08231AC84A31BC8F7FF401F2E3613858")
    imk = hsm.import_clear_key(imk_clear, "E0")
    pan, psn, atc = "6222021001123456789", "01", H("0042")
    sk = derive_session_key(derive_icc_master_key(imk_clear, pan, psn), atc)
    data = bytes(range(37))
    arqc = generate_ac(sk, data)
    assert hsm.verify_arqc(imk=imk, pan=pan, psn=psn, atc=atc, data=data, arqc=arqc)
    assert not hsm.verify_arqc(imk=imk, pan=pan, psn="02", atc=atc, data=data, arqc=arqc)
    arpc1 = hsm.generate_arpc(imk=imk, pan=pan, psn=psn, atc=atc, arqc=arqc, arc=b"00")
    assert len(arpc1) == 8
    arpc2 = hsm.generate_arpc(imk=imk, pan=pan, psn=psn, atc=atc, arqc=arqc, csu=bytes(4), method=2)
    assert len(arpc2) == 4
    with pytest.raises(InputError, match=r"^arc: required"):
        hsm.generate_arpc(imk=imk, pan=pan, psn=psn, atc=atc, arqc=arqc)


def test_dukpt_host_tdes_vectors(hsm: SoftHSM) -> None:
    """Host DUKPT: the X9.24-1 counter-1 PIN block, MACs and data through the HSM."""
    bdk = hsm.import_clear_key(H("0123456789ABCDEFFEDCBA9876543210"), "B0")
    ksn = H("FFFF9876543210E00001")
    ik = hsm.derive_dukpt_initial_key(bdk=bdk, ksn=ksn)
    assert hsm.kcv(ik) == hsm.kcv(hsm.import_clear_key(H("6AC292FAA1315B4D858AB3A3D7D5933A"), "B1"))
    zpk = hsm.import_clear_key(ZPK, "P0")
    out = hsm.dukpt_translate_pin_block(
        H("1B9C1845EB993A7A"), ksn=ksn, bdk=bdk, pan="4012345678909", dest_key=zpk
    )
    assert decode_pinblock(decrypt_tdes_ecb(ZPK, out), "4012345678909", fmt=0) == "1234"
    data = b"4012345678909D987"
    hsm.dukpt_verify_mac(data, H("9CCC78173FC4FB64"), ksn=ksn, bdk=bdk)
    with pytest.raises(MacVerificationError):
        hsm.dukpt_verify_mac(data, H("9CCC78173FC4FB65"), ksn=ksn, bdk=bdk)
    assert hsm.dukpt_generate_mac(data, ksn=ksn, bdk=bdk) == H("20364223C1FF00FA")
    clear = hsm.dukpt_decrypt_data(H("FC0D53B7EA1FDA9EE68AAF2E70D9B9506229BE2AA993F04F"), ksn=ksn, bdk=bdk)
    assert clear[: len(data)] == data
    assert hsm.dukpt_encrypt_data(data, ksn=ksn, bdk=bdk) == H(
        "1FCC89AF66222F27B903898BB2BC8589CDBFDE5EC6AFCC25"
    )


def test_dukpt_host_aes_vector(hsm: SoftHSM) -> None:
    """Host AES DUKPT: the X9.24-3 format 4 example block translates to the PIN 1234."""
    bdk = hsm.import_clear_key(H("FEDCBA9876543210F1F1F1F1F1F1F1F1"), "B0", algorithm="AES")
    ksn = H("123456789012345600000001")
    ik = hsm.derive_dukpt_initial_key(bdk=bdk, ksn=ksn, aes=True)
    assert hsm.describe(ik).algorithm == "AES"
    zpk = hsm.import_clear_key(ZPK, "P0")
    out = hsm.dukpt_translate_pin_block(
        H("A912150391AB65A67E52883D81CE2D15"),
        ksn=ksn,
        bdk=bdk,
        pan="4111111111111111",
        dest_key=zpk,
        aes=True,
    )
    assert decode_pinblock(decrypt_tdes_ecb(ZPK, out), "4111111111111111", fmt=0) == "1234"
    mac_key = dukpt_aes.derive_working_key(
        H("FEDCBA9876543210F1F1F1F1F1F1F1F1"), ksn, dukpt_aes.KeyUsage.MAC_GENERATION
    )
    from poskit.crypto.mac import cmac

    hsm.dukpt_verify_mac(b"msg", cmac(mac_key, b"msg", length=8), ksn=ksn, bdk=bdk, aes=True)
    assert dukpt.ksn_counter(H("FFFF9876543210E00001")) == 1
