"""Negative tests: every key-usage, mode-of-use, algorithm and exportability rule of the HSM."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from poskit.crypto.errors import KeyUsageError
from poskit.crypto.hsm import SoftHSM
from poskit.crypto.pinpad import DukptPinPad

PAN = "6225880112345678"
KSN = bytes.fromhex("FFFF9876543210E00001")
AES_KSN = bytes.fromhex("123456789012345600000001")

Keys = dict[str, str]


@pytest.fixture(scope="module")
def env() -> tuple[SoftHSM, Keys]:
    from poskit.crypto.lmk import LocalMasterKey

    hsm = SoftHSM(LocalMasterKey(bytes(range(1, 33))))
    g = hsm.generate_key
    keys = {
        "P0": g("P0"),
        "P0_E": g("P0", mode="E"),
        "P0_D": g("P0", mode="D"),
        "P0_AES": g("P0", algorithm="AES"),
        "P0_N": g("P0", exportability="N"),
        "M0": g("M0"),
        "M0_G": g("M0", mode="G"),
        "M0_V": g("M0", mode="V"),
        "M6": g("M6", algorithm="AES"),
        "M7": g("M7", algorithm="HMAC", length=32),
        "K0": g("K0"),
        "K0_E": g("K0", mode="E"),
        "K0_D": g("K0", mode="D"),
        "K1": g("K1", algorithm="AES"),
        "D0": g("D0"),
        "D0_E": g("D0", mode="E"),
        "D0_D": g("D0", mode="D"),
        "D0_AES": g("D0", algorithm="AES"),
        "V1": g("V1"),
        "V1_G": g("V1", mode="G"),
        "V1_V": g("V1", mode="V"),
        "V2": g("V2"),
        "V2_V": g("V2", mode="V"),
        "C0": g("C0"),
        "C0_G": g("C0", mode="G"),
        "C0_V": g("C0", mode="V"),
        "E0": g("E0"),
        "E1": g("E1"),
        "B0": g("B0"),
        "B0_AES": g("B0", algorithm="AES"),
        "B1": g("B1"),
    }
    keys["block"] = hsm.encrypt_pin("1234", PAN, key=keys["P0"]).hex()
    return hsm, keys


Case = Callable[[SoftHSM, Keys], object]

CASES: dict[str, tuple[Case, str]] = {
    # MAC keys and MAC algorithms
    "PIN key cannot produce a MAC": (
        lambda h, k: h.generate_mac(b"x", key=k["P0"], algorithm="cups-ecb"),
        "P0",
    ),
    "data key cannot verify a MAC": (
        lambda h, k: h.verify_mac(b"x", b"12345678", key=k["D0"], algorithm="x919"),
        "D0",
    ),
    "verify-only MAC key cannot generate": (
        lambda h, k: h.generate_mac(b"x", key=k["M0_V"], algorithm="cups-ecb"),
        "mode of use V",
    ),
    "generate-only MAC key cannot verify": (
        lambda h, k: h.verify_mac(b"x", b"12345678", key=k["M0_G"], algorithm="x919"),
        "mode of use G",
    ),
    "CMAC needs an M6 key": (lambda h, k: h.generate_mac(b"x", key=k["M0"], algorithm="cmac"), "needs M6"),
    "an M6 key is not a CUPS MAK": (
        lambda h, k: h.generate_mac(b"x", key=k["M6"], algorithm="cups-ecb"),
        "needs M0",
    ),
    "SM4 MAC needs an SM4 key": (
        lambda h, k: h.generate_mac(b"x", key=k["M0"], algorithm="sm4-ecb"),
        "TDES key",
    ),
    "HMAC key is not a block-cipher MAC key": (
        lambda h, k: h.generate_mac(b"x", key=k["M7"], algorithm="x919"),
        "M7",
    ),
    "HMAC needs an M7 key": (lambda h, k: h.generate_hmac(b"x", key=k["M0"]), "needs M7"),
    # PIN keys
    "MAC key cannot decrypt a PIN block": (
        lambda h, k: h.translate_pin_block(
            bytes.fromhex(k["block"]), pan=PAN, source_key=k["M0"], dest_key=k["P0"]
        ),
        "M0",
    ),
    "MAC key cannot encrypt a PIN": (lambda h, k: h.encrypt_pin("1234", PAN, key=k["M0"]), "M0"),
    "decrypt-only PIN key cannot encrypt a PIN": (
        lambda h, k: h.encrypt_pin("1234", PAN, key=k["P0_D"]),
        "mode of use D",
    ),
    "encrypt-only PIN key cannot be a translation source": (
        lambda h, k: h.translate_pin_block(
            bytes.fromhex(k["block"]), pan=PAN, source_key=k["P0_E"], dest_key=k["P0"]
        ),
        "mode of use E",
    ),
    "decrypt-only PIN key cannot be a translation destination": (
        lambda h, k: h.translate_pin_block(
            bytes.fromhex(k["block"]), pan=PAN, source_key=k["P0"], dest_key=k["P0_D"]
        ),
        "mode of use D",
    ),
    "format 4 needs an AES PIN key": (
        lambda h, k: h.encrypt_pin("1234", PAN, key=k["P0"], fmt=4),
        "AES PIN key",
    ),
    "format 0 needs a TDES PIN key": (
        lambda h, k: h.encrypt_pin("1234", PAN, key=k["P0_AES"], fmt=0),
        "TDES PIN key",
    ),
    "PVK cannot decrypt a PIN block": (
        lambda h, k: h.translate_pin_block(
            bytes.fromhex(k["block"]), pan=PAN, source_key=k["V1"], dest_key=k["P0"]
        ),
        "V1",
    ),
    # PIN verification keys
    "IBM 3624 verification needs V1": (
        lambda h, k: h.verify_pin_ibm3624(
            bytes.fromhex(k["block"]), pan=PAN, key=k["P0"], pvk=k["V2"], offset="0000"
        ),
        "needs V1",
    ),
    "PVV verification needs V2": (
        lambda h, k: h.verify_pin_pvv(
            bytes.fromhex(k["block"]), pan=PAN, key=k["P0"], pvk=k["V1"], pvki="1", pvv="1234"
        ),
        "needs V2",
    ),
    "generate-only PVK cannot verify": (
        lambda h, k: h.verify_pin_ibm3624(
            bytes.fromhex(k["block"]), pan=PAN, key=k["P0"], pvk=k["V1_G"], offset="0000"
        ),
        "mode of use G",
    ),
    "verify-only PVK cannot generate an offset": (
        lambda h, k: h.generate_ibm3624_offset("1234", pan=PAN, pvk=k["V1_V"]),
        "mode of use V",
    ),
    "verify-only PVK cannot generate a PVV": (
        lambda h, k: h.generate_pvv("1234", pan=PAN, pvk=k["V2_V"], pvki="1"),
        "mode of use V",
    ),
    "PIN verification needs a PIN key for the block": (
        lambda h, k: h.verify_pin_pvv(
            bytes.fromhex(k["block"]), pan=PAN, key=k["D0"], pvk=k["V2"], pvki="1", pvv="1234"
        ),
        "D0",
    ),
    # KEKs, TR-31 and exportability
    "a PIN key is not a KEK for export": (
        lambda h, k: h.export_key_under_kek(k["M0"], kek=k["P0"]),
        "needs K0",
    ),
    "a decrypt-only KEK cannot export": (
        lambda h, k: h.export_key_under_kek(k["M0"], kek=k["K0_D"]),
        "mode of use D",
    ),
    "an encrypt-only KEK cannot import": (
        lambda h, k: h.import_key_under_kek(bytes(16), kek=k["K0_E"], usage="P0"),
        "mode of use E",
    ),
    "a MAC key is not a KEK for import": (
        lambda h, k: h.import_key_under_kek(bytes(16), kek=k["M0"], usage="P0"),
        "needs K0",
    ),
    "a non-exportable key cannot be exported under a KEK": (
        lambda h, k: h.export_key_under_kek(k["P0_N"], kek=k["K0"]),
        "non-exportable",
    ),
    "a non-exportable key cannot be exported as TR-31": (
        lambda h, k: h.export_tr31(k["P0_N"], kbpk=k["K1"]),
        "non-exportable",
    ),
    "a non-exportable key cannot be transferred": (
        lambda h, k: h.transfer_key(k["P0_N"], to=h),
        "non-exportable",
    ),
    "a PIN key is not a TR-31 KBPK": (lambda h, k: h.export_tr31(k["M0"], kbpk=k["P0"]), "needs K0"),
    "a MAC key cannot import TR-31": (
        lambda h, k: h.import_tr31("D0016P0AE00E0000", kbpk=k["M0"]),
        "needs K0",
    ),
    # data keys and track data
    "a PIN key cannot encrypt data": (lambda h, k: h.encrypt_data(bytes(8), key=k["P0"]), "needs D0"),
    "an encrypt-only data key cannot decrypt": (
        lambda h, k: h.decrypt_data(bytes(8), key=k["D0_E"]),
        "mode of use E",
    ),
    "a decrypt-only data key cannot encrypt": (
        lambda h, k: h.encrypt_data(bytes(8), key=k["D0_D"]),
        "mode of use D",
    ),
    "a MAC key cannot encrypt track data": (
        lambda h, k: h.encrypt_track2_cups(PAN + "D2512101123456", key=k["M0"]),
        "needs D0",
    ),
    "the track key must be TDES": (
        lambda h, k: h.encrypt_track2_cups(PAN + "D2512101123456", key=k["D0_AES"]),
        "TDES",
    ),
    "AES-GCM needs an AES data key": (lambda h, k: h.encrypt_aead(b"x", key=k["D0"]), "TDES key cannot"),
    "an encrypt-only data key cannot open AES-GCM": (
        lambda h, k: h.decrypt_aead(bytes(40), key=k["K1"]),
        "needs D0",
    ),
    # card verification keys
    "a PIN key cannot generate a CVV": (
        lambda h, k: h.generate_cvv(PAN, "2512", "101", cvk=k["P0"]),
        "needs C0",
    ),
    "a verify-only CVK cannot generate": (
        lambda h, k: h.generate_cvv(PAN, "2512", "101", cvk=k["C0_V"]),
        "mode of use V",
    ),
    "a generate-only CVK cannot verify": (
        lambda h, k: h.verify_cvv(PAN, "2512", "101", "123", cvk=k["C0_G"]),
        "mode of use G",
    ),
    # EMV issuer master keys
    "a CVK is not an issuer master key": (
        lambda h, k: h.verify_arqc(imk=k["C0"], pan=PAN, psn="01", atc=b"\x00\x01", data=b"", arqc=bytes(8)),
        "needs E0",
    ),
    "an SM master key cannot verify ARQCs": (
        lambda h, k: h.verify_arqc(imk=k["E1"], pan=PAN, psn="01", atc=b"\x00\x01", data=b"", arqc=bytes(8)),
        "E1",
    ),
    "a BDK cannot generate ARPCs": (
        lambda h, k: h.generate_arpc(
            imk=k["B0"], pan=PAN, psn="01", atc=b"\x00\x01", arqc=bytes(8), arc=b"00"
        ),
        "B0",
    ),
    "an issuer master key only derives (no data encryption)": (
        lambda h, k: h.encrypt_data(bytes(8), key=k["E0"]),
        "E0",
    ),
    "dCVV needs an E0 or E6 key": (
        lambda h, k: h.generate_dcvv(PAN, "2512", "101", "0001", imk=k["E1"]),
        "E1",
    ),
    # DUKPT
    "DUKPT needs a B0 BDK": (
        lambda h, k: h.dukpt_translate_pin_block(bytes(8), ksn=KSN, bdk=k["E0"], pan=PAN, dest_key=k["P0"]),
        "needs B0",
    ),
    "a TDES BDK cannot do AES DUKPT": (
        lambda h, k: h.derive_dukpt_initial_key(bdk=k["B0"], ksn=AES_KSN, aes=True),
        "TDES BDK",
    ),
    "an AES BDK cannot do TDES DUKPT": (
        lambda h, k: h.dukpt_verify_mac(b"x", bytes(8), ksn=KSN, bdk=k["B0_AES"]),
        "AES BDK",
    ),
    "an initial key is not a BDK": (
        lambda h, k: h.derive_dukpt_initial_key(bdk=k["B1"], ksn=KSN),
        "needs B0",
    ),
    "a PIN pad loads only an initial key": (lambda h, k: DukptPinPad.load(h, k["B0"], KSN), "needs B1"),
    "DUKPT translation needs a PIN destination key": (
        lambda h, k: h.dukpt_translate_pin_block(
            h.encrypt_pin("1234", PAN, key=k["P0"]), ksn=KSN, bdk=k["B0"], pan=PAN, dest_key=k["M0"]
        ),
        "M0",
    ),
}


@pytest.mark.parametrize("rule", sorted(CASES))
def test_key_usage_rule(env: tuple[SoftHSM, Keys], rule: str) -> None:
    """Each key-usage rule rejects a key used outside it with KeyUsageError naming the usage."""
    hsm, keys = env
    call, fragment = CASES[rule]
    with pytest.raises(KeyUsageError) as exc:
        call(hsm, keys)
    message = str(exc.value)
    assert fragment in message
    assert exc.value.usage in message and exc.value.operation in message
    assert keys["P0"][20:40] not in message  # no key material in the message
