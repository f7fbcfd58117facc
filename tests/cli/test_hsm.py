"""``poskit hsm``: the crypto calculator through the command line, with published vectors."""

from __future__ import annotations

import json

import psec
import pytest
from cryptography.hazmat.primitives.ciphers.algorithms import AES
from cryptography.hazmat.primitives.cmac import CMAC
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyemv import ac, kd
from typer.testing import CliRunner

import poskit.cli.hsm  # noqa: F401  (registers `poskit hsm`)
from poskit.cli.app import app

runner = CliRunner()
H = bytes.fromhex

# The ANSI X9.24-1 / X9.19 test key; it has odd parity.
TEST_KEY = "0123456789ABCDEFFEDCBA9876543210"


def hsm(*args: str) -> tuple[int, dict[str, object]]:
    """Run `poskit hsm ARGS --json` and return (exit code, parsed JSON)."""
    result = runner.invoke(app, ["hsm", *args, "--json"])
    return result.exit_code, json.loads(result.stdout)


def text(*args: str) -> tuple[int, str, str]:
    """Run `poskit hsm ARGS` (text output) and return (exit code, stdout, stderr)."""
    result = runner.invoke(app, ["hsm", *args])
    return result.exit_code, result.stdout, result.stderr


# ---------------------------------------------------------------------------------- kcv
def test_kcv_of_the_x9_test_key() -> None:
    """KCV of 0123456789ABCDEFFEDCBA9876543210 is the widely published 08D7B4."""
    code, out, err = text("kcv", "--key", TEST_KEY)
    assert (code, out, err) == (0, "kcv  08D7B4\n", "")
    assert hsm("kcv", "--key", TEST_KEY, "--length", "4") == (0, {"kcv": "08D7B4FB"})


def test_aes_kcv_is_cmac_of_zeros() -> None:
    """An AES key's check value is the first bytes of AES-CMAC over a zero block (RFC 4493 key)."""
    key = H("2B7E151628AED2A6ABF7158809CF4F3C")
    oracle = CMAC(AES(key))
    oracle.update(bytes(16))
    assert hsm("kcv", "--key", key.hex(), "--aes") == (0, {"kcv": oracle.finalize()[:3].hex().upper()})


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["kcv", "--key", "0123456789ABCDEFFEDCBA987654321"], "--key: odd number of hex digits"),
        (["kcv", "--key", "0123456789ABCDEFFEDCBA98765432G0"], "--key: not a hex digit at position 31"),
        (["kcv", "--key", "0123456789ABCD"], "--key: 7 bytes, expected 8 or 16 or 24"),
        (["kcv", "--key", "1111111111111111"], "--key: DES key does not have odd parity"),
        (["kcv", "--key", TEST_KEY[:30], "--aes"], "--key: 15 bytes, expected 16 or 24 or 32"),
        (["mac", "--algorithm", "sha1", "--key", TEST_KEY, "--data", "00"], "--algorithm: 'sha1'"),
        (["dukpt", "--bdk", TEST_KEY, "--ksn", "FFFF9876543210E000"], "--ksn: 9 bytes, expected 10"),
        (
            ["dukpt", "--bdk", TEST_KEY, "--ksn", "FFFF9876543210E00000"],
            "--ksn: transaction counter 0 is never used",
        ),
        (
            ["dukpt", "--bdk", TEST_KEY, "--ksn", "FFFF9876543210E007FF"],
            "--ksn: transaction counter 7FF has 11 one bits, a DUKPT device uses at most 10",
        ),
        (
            ["dukpt", "--bdk", TEST_KEY, "--ksn", "123456789012345600000000", "--aes"],
            "--ksn: transaction counter 0 is never used",
        ),
        (
            ["dukpt", "--bdk", TEST_KEY, "--ksn", "12345678901234560001FFFF", "--aes"],
            "--ksn: transaction counter 1FFFF has 17 one bits, a DUKPT device uses at most 16",
        ),
        (
            ["pinblock", "encode", "--format", "2", "--pin", "1234", "--pan", "4111111111111111"],
            "--format: 2",
        ),
        (
            ["pinblock", "encode", "--format", "0", "--pin", "12a4", "--pan", "4111111111111111"],
            "--pin: not a",
        ),
        (
            ["pinblock", "decode", "--format", "4", "--block", "00" * 16, "--pan", "4111111111111111"],
            "--key: ",
        ),
        (["unwrap", "--kek", TEST_KEY, "--key", "00" * 12], "--key: 12 bytes, expected 8 or 16 or 24"),
        (
            [
                "arpc",
                "--imk",
                TEST_KEY,
                "--pan",
                "4111111111111111",
                "--psn",
                "00",
                "--atc",
                "0001",
                "--arqc",
                "00" * 8,
            ],
            "--arc: required for ARPC method 1",
        ),
    ],
)
def test_bad_input_is_one_line_naming_the_argument(args: list[str], message: str) -> None:
    """Bad hex, lengths, parity and missing arguments exit 2 with one line naming the argument."""
    code, out, err = text(*args)
    assert code == 2 and out == ""
    assert err.startswith(f"error: {message}") and err.count("\n") == 1
    code, data = hsm(*args)
    assert code == 2 and str(data["error"]).startswith(message)


def test_parity_can_be_ignored_for_published_keys() -> None:
    """--ignore-parity accepts a DES key without odd parity (1111111111111111 encrypts zeros to 82E136)."""
    assert hsm("kcv", "--key", "1111111111111111", "--ignore-parity") == (0, {"kcv": "82E136"})


# ---------------------------------------------------------------------------------- PIN blocks
def test_pinblock_format0_reference_example() -> None:
    """PIN 123456, PAN 6225880112345678 gives 06126CD6EEDCBA98 (UnionPay reference), psec agrees encrypted."""
    code, data = hsm(
        "pinblock",
        "encode",
        "--format",
        "0",
        "--pin",
        "123456",
        "--pan",
        "6225880112345678",
        "--key",
        TEST_KEY,
    )
    assert code == 0 and data["clear_block"] == "06126CD6EEDCBA98"
    expected = psec.des.encrypt_tdes_ecb(
        H(TEST_KEY), psec.pinblock.encode_pinblock_iso_0("123456", "6225880112345678")
    )
    assert data["pin_block"] == expected.hex().upper()
    code, back = hsm(
        "pinblock",
        "decode",
        "--format",
        "0",
        "--block",
        str(data["pin_block"]),
        "--pan",
        "6225880112345678",
        "--key",
        TEST_KEY,
    )
    assert code == 0 and back == {"format": 0, "clear_block": "06126CD6EEDCBA98", "pin": "123456"}


def test_pinblock_format4_x9_24_3_example() -> None:
    """A912..2D15 under AF8C..93FB with PAN 4111111111111111 decodes to PIN 1234 (X9.24-3 supplement)."""
    code, data = hsm(
        "pinblock",
        "decode",
        "--format",
        "4",
        "--block",
        "A912150391AB65A67E52883D81CE2D15",
        "--pan",
        "4111111111111111",
        "--key",
        "AF8CB133A78F8DC2D1359F18527593FB",
    )
    assert (code, data) == (0, {"format": 4, "pin": "1234"})


def test_pinblock_decode_reports_a_format_error() -> None:
    """A block that is not format 0 for this PAN exits 2 with the ISO 9564 reason, never the PIN."""
    code, _out, err = text(
        "pinblock", "decode", "--format", "0", "--block", "06126CD6EEDCBA98", "--pan", "4111111111111111"
    )
    assert code == 2 and err.startswith("error: PIN block format 0:") and "123456" not in err


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    pin=st.text("0123456789", min_size=4, max_size=12),
    pan=st.text("0123456789", min_size=13, max_size=19),
    fmt=st.sampled_from(["0", "1", "3", "4"]),
)
def test_pinblocks_round_trip_and_match_psec(pin: str, pan: str, fmt: str) -> None:
    """Random PINs: encode then decode through the CLI; psec decodes formats 0, 3 and 4 the same."""
    key = "AF8CB133A78F8DC2D1359F18527593FB" if fmt == "4" else TEST_KEY
    code, data = hsm("pinblock", "encode", "--format", fmt, "--pin", pin, "--pan", pan, "--key", key)
    assert code == 0
    block = H(str(data["pin_block"]))
    if fmt == "0":
        assert psec.pinblock.decode_pinblock_iso_0(H(str(data["clear_block"])), pan) == pin
    elif fmt == "3":
        assert psec.pinblock.decode_pinblock_iso_3(H(str(data["clear_block"])), pan) == pin
    elif fmt == "4":
        assert psec.pinblock.decipher_pinblock_iso_4(H(key), block, pan) == pin
    code, back = hsm(
        "pinblock", "decode", "--format", fmt, "--block", block.hex(), "--pan", pan, "--key", key
    )
    assert code == 0 and back["pin"] == pin


# ---------------------------------------------------------------------------------- MAC
# q.cnblogs.com/q/128930: a CUPS POS 0200 as sent (length, TPDU, header, message) with TAK
# 0723C80DB5F4CD3D0723C80DB5F4CD3D and the MAC "B3A092AE" in field 64; the MAB runs from MTI to field 63.
CNBLOGS_FRAME = H(
    "007f600003000060321032007202003020048000c0801500000000000000123400000203009930303030303030313935"
    "3237313831383232313738373531353600192600000100060000000000435f0112323834343132333435363738393031"
    "3233345f03063136303033365f04063230303832365c0230314233413039324145"
)
CNBLOGS_MAB = CNBLOGS_FRAME[2 + 5 + 6 : -8].hex()


def test_cups_ecb_mac_published_message() -> None:
    """The UnionPay ECB MAC of the q.cnblogs.com/q/128930 message is the ASCII text B3A092AE."""
    code, data = hsm(
        "mac", "--algorithm", "cups-ecb", "--key", "0723C80DB5F4CD3D0723C80DB5F4CD3D", "--data", CNBLOGS_MAB
    )
    assert code == 0
    assert data == {"algorithm": "cups-ecb", "mac": b"B3A092AE".hex().upper(), "mac_text": "B3A092AE"}


def test_x919_mac_published_examples() -> None:
    """ANSI X9.19: "Now is the time for all " gives A1C72E74EA3FA9B6; X9.24-1 A.4 request MAC 9CCC..FB64."""
    data = b"Now is the time for all ".hex()
    assert hsm("mac", "--algorithm", "x919", "--key", TEST_KEY, "--data", data) == (
        0,
        {"algorithm": "x919", "mac": "A1C72E74EA3FA9B6"},
    )
    # The DUKPT MAC-request key of KSN FFFF9876543210E00001 (variant keys have no parity).
    mac_key = "042666B4918430A368DE9628D03984C9"
    code, out = hsm(
        "mac",
        "--algorithm",
        "x919",
        "--key",
        mac_key,
        "--data",
        b"4012345678909D987".hex(),
        "--ignore-parity",
    )
    assert code == 0 and out["mac"] == "9CCC78173FC4FB64"


@pytest.mark.parametrize(
    ("message", "mac"),
    [
        ("", "BB1D6929E95937287FA37D129B756746"),
        ("6BC1BEE22E409F96E93D7E117393172A", "070A16B46B4D4144F79BDD9DD04A287C"),
    ],
)
def test_aes_cmac_rfc4493_examples(message: str, mac: str) -> None:
    """AES-128 CMAC reproduces RFC 4493 examples 1 and 2."""
    assert hsm(
        "mac", "--algorithm", "cmac", "--key", "2B7E151628AED2A6ABF7158809CF4F3C", "--data", message
    ) == (0, {"algorithm": "cmac", "mac": mac})


# ---------------------------------------------------------------------------------- DUKPT
def test_tdes_dukpt_x9_24_1_vectors() -> None:
    """BDK 0123..3210, KSN FFFF9876543210E00001: IPEK 6AC2..933A, key 0426..7BC9, PIN block 1B9C..3A7A."""
    code, data = hsm("dukpt", "--bdk", TEST_KEY, "--ksn", "FFFF9876543210E00001")
    assert code == 0
    assert data["initial_key"] == "6AC292FAA1315B4D858AB3A3D7D5933A"
    assert data["transaction_key"] == "042666B49184CFA368DE9628D0397BC9"
    assert data["counter"] == 1
    # X9.24-1 Annex A: PIN 1234 with PAN 4012345678909 under this transaction's PIN key.
    code, pin = hsm(
        "pinblock",
        "decode",
        "--format",
        "0",
        "--block",
        "1B9C1845EB993A7A",
        "--pan",
        "4012345678909",
        "--key",
        str(data["pin_key"]),
        "--ignore-parity",
    )
    assert (code, pin["pin"]) == (0, "1234")
    code, data = hsm("dukpt", "--bdk", TEST_KEY, "--ksn", "FFFF9876543210E00005")
    assert data["transaction_key"] == "5F8DC6D2C845C125508DDC048093B83F"


def test_aes_dukpt_x9_24_3_vectors() -> None:
    """AES-128 BDK FEDC..F1F1, KSN 1234567890123456 00000001: IK 1273..52A1 and the supplement's keys."""
    code, data = hsm(
        "dukpt", "--bdk", "FEDCBA9876543210F1F1F1F1F1F1F1F1", "--ksn", "123456789012345600000001", "--aes"
    )
    assert code == 0
    assert data["initial_key"] == "1273671EA26AC29AFA4D1084127652A1"
    assert data["derivation_key"] == "4F21B565BAD9835E112B6465635EAE44"
    assert data["pin_key"] == "AF8CB133A78F8DC2D1359F18527593FB"
    assert data["mac_generation_key"] == "A2DC23DE6FDE0824A2BC321E08E4B8B7"
    assert data["data_encryption_key"] == "A35C412EFD41FDB98B69797C02DCD08F"
    code, data = hsm(
        "dukpt", "--bdk", "FEDCBA9876543210F1F1F1F1F1F1F1F1", "--ksn", "123456789012345600020000", "--aes"
    )
    assert data["pin_key"] == "AB828BE7B58C7EC5D5ED0D5D320A0C9D"


def test_aes_dukpt_refuses_a_working_key_stronger_than_the_bdk() -> None:
    """An AES-256 working key from an AES-128 BDK is refused, naming --key-type (X9.24-3 rule)."""
    code, _out, err = text(
        "dukpt",
        "--bdk",
        "FEDCBA9876543210F1F1F1F1F1F1F1F1",
        "--ksn",
        "123456789012345600000001",
        "--aes",
        "--key-type",
        "AES256",
    )
    assert code == 2 and err.startswith("error: --key-type: AES256 is stronger")


# ---------------------------------------------------------------------------------- EMV
IMK = TEST_KEY
PAN, PSN, ATC = "12345678901234567", "01", "001C"
CDOL = "0000000010000000000000000156000000000001562411240012345678"


def _pyemv_session_key() -> bytes:
    mk = kd.derive_icc_mk_a(H(IMK), PAN, PSN)
    assert mk == H("73AD54688CEF2934B0979857E3C719F1")  # pyemv's documented option A example
    return kd.derive_common_sk(mk, H(ATC) + bytes(6))  # R = ATC || 00..00


def test_arqc_verify_matches_pyemv() -> None:
    """An ARQC computed by pyemv verifies (exit 0); a flipped bit is reported invalid (exit 1)."""
    arqc = ac.generate_ac(_pyemv_session_key(), H(CDOL))
    args = ["arqc", "verify", "--imk", IMK, "--pan", PAN, "--psn", PSN, "--atc", ATC, "--data", CDOL]
    code, data = hsm(*args, "--arqc", arqc.hex())
    assert code == 0 and data["valid"] is True and data["arqc"] == arqc.hex().upper()
    assert data["icc_master_key"] == "73AD54688CEF2934B0979857E3C719F1"
    bad = bytes([arqc[0] ^ 1]) + arqc[1:]
    code, data = hsm(*args, "--arqc", bad.hex())
    assert code == 1 and data["valid"] is False


def test_arpc_methods_match_pyemv() -> None:
    """ARPC method 1 (ARC 3030) and method 2 (CSU 00000000) equal pyemv's."""
    sk = _pyemv_session_key()
    arqc = ac.generate_ac(sk, H(CDOL))
    base = ["arpc", "--imk", IMK, "--pan", PAN, "--psn", PSN, "--atc", ATC, "--arqc", arqc.hex()]
    code, data = hsm(*base, "--arc", "3030")
    assert code == 0 and data["arpc"] == ac.generate_arpc_1(sk, arqc, b"00").hex().upper()
    code, data = hsm(*base, "--method", "2", "--csu", "00000000")
    assert code == 0 and data["arpc"] == ac.generate_arpc_2(sk, arqc, H("00000000")).hex().upper()


# ---------------------------------------------------------------------------------- unwrap
def test_unwrap_a_working_key_with_its_check_value() -> None:
    """A key encrypted (ECB) under a TMK unwraps to itself, with KCV 08D7B4 and odd parity."""
    kek = "6B5E2A4F1C3D8E9A0B7C6D5E4F3A2B1C"
    encrypted = psec.des.encrypt_tdes_ecb(H("6B5E2A4F1C3D8E9A0B7C6D5E4F3A2B1C"), H(TEST_KEY))
    code, data = hsm("unwrap", "--kek", kek, "--key", encrypted.hex(), "--kcv", "08D7B4", "--ignore-parity")
    assert code == 0
    assert data == {"key": TEST_KEY, "kcv": "08D7B4", "odd_parity": True, "kcv_match": True}
    code, data = hsm("unwrap", "--kek", kek, "--key", encrypted.hex(), "--kcv", "000000", "--ignore-parity")
    assert code == 1 and data["kcv_match"] is False
