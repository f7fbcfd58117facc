"""``poskit hsm``: the payment engineer's crypto calculator. Hex in, hex out (or ``--json``).

Every command takes clear keys on the command line, so it is for test keys and key
ceremonies, never for production keys. Bad hex, wrong lengths, DES parity problems and
malformed PIN blocks give a one-line error naming the argument and exit code 2; a
cryptogram that does not verify exits 1.

* ``kcv``: key check value (TDES: encrypt zeros; AES: CMAC of zeros).
* ``pinblock encode|decode``: ISO 9564 formats 0, 1, 3 (TDES) and 4 (AES, needs ``--key``).
* ``mac``: UnionPay ECB MAC, ANSI X9.19 (ISO 9797-1 algorithm 3), CMAC (AES or TDES).
* ``dukpt``: the initial key and the transaction keys for a KSN (X9.24-1 TDES, X9.24-3 AES);
  a KSN whose counter is 0 or has more one bits than a device uses (10 TDES, 16 AES) is refused.
* ``arqc verify`` / ``arpc``: EMV card key and common session key derivation, ARQC, ARPC.
* ``unwrap``: ECB decryption of a working key sent under a KEK, with its check value.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any, Literal, NoReturn

import typer

from poskit.cli.app import JsonOption, app
from poskit.crypto import dukpt as tdes_dukpt
from poskit.crypto import dukpt_aes, emv
from poskit.crypto.aes import decrypt_aes_ecb
from poskit.crypto.des import decrypt_tdes_ecb, encrypt_tdes_ecb, has_odd_parity
from poskit.crypto.errors import CryptoError, InputError
from poskit.crypto.hexinput import parse_digits, parse_hex, parse_key
from poskit.crypto.kcv import kcv
from poskit.crypto.mac import mac_calculator
from poskit.crypto.pinblock import (
    decipher_pinblock_iso4,
    decode_pinblock,
    encipher_pinblock_iso4,
    encode_pinblock,
)

__all__ = [
    "arpc_command",
    "arqc_verify_command",
    "dukpt_command",
    "hsm_app",
    "kcv_command",
    "mac_command",
    "pinblock_decode_command",
    "pinblock_encode_command",
    "unwrap_command",
]

hsm_app = typer.Typer(
    help="Crypto calculator: key check values, PIN blocks, MACs, DUKPT, ARQC/ARPC, key unwrap. "
    "Hex in, hex out; clear TEST keys only.",
    no_args_is_help=True,
)
pinblock_app = typer.Typer(help="ISO 9564 PIN blocks (formats 0, 1, 3, 4).", no_args_is_help=True)
arqc_app = typer.Typer(help="EMV application cryptograms.", no_args_is_help=True)
hsm_app.add_typer(pinblock_app, name="pinblock")
hsm_app.add_typer(arqc_app, name="arqc")
app.add_typer(hsm_app, name="hsm")

AesFlag = Annotated[bool, typer.Option("--aes", help="The key is AES (default TDES).")]
IgnoreParity = Annotated[
    bool,
    typer.Option("--ignore-parity", help="Accept a DES key without odd parity (e.g. a published test key)."),
]
ImkOption = Annotated[str, typer.Option("--imk", help="Issuer master key (AC), 16 bytes hex.")]
PanOption = Annotated[str, typer.Option("--pan", help="Card number (PAN).")]
PsnOption = Annotated[str, typer.Option("--psn", help="PAN sequence number, 2 digits (e.g. 00).")]
AtcOption = Annotated[str, typer.Option("--atc", help="Application transaction counter, 2 bytes hex.")]
DerivationOption = Annotated[
    str, typer.Option("--derivation", help="ICC master key derivation: EMV option A or B.")
]


# ---------------------------------------------------------------------------------- helpers
def _fail(message: str, as_json: bool, code: int = 2) -> NoReturn:
    """One line on stderr (or a JSON error object on stdout) and the exit code."""
    if as_json:
        typer.echo(json.dumps({"error": message}))
    else:
        typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _run(
    as_json: bool,
    compute: Callable[[], dict[str, Any]],
    *,
    ok: Callable[[dict[str, Any]], bool] | None = None,
) -> None:
    """Compute the result, print it (``name  value`` lines or JSON), map errors to exit 2."""
    try:
        result = compute()
    except CryptoError as exc:  # InputError, PinBlockFormatError, ... : messages name the argument
        _fail(str(exc), as_json)
    if as_json:
        typer.echo(json.dumps(result))
    else:
        width = max(len(k) for k in result) + 2
        for name, value in result.items():
            if isinstance(value, bool):
                value = "yes" if value else "no"
            typer.echo(f"{name:<{width}}{value}")
    if ok is not None and not ok(result):
        raise typer.Exit(1)


def _hex(data: bytes) -> str:
    return data.hex().upper()


def _des_key(
    value: str, argument: str, *, ignore_parity: bool, lengths: tuple[int, ...] = (8, 16, 24)
) -> bytes:
    key = parse_key(value, argument, algorithm="TDES", parity="ignore")
    if len(key) not in lengths:
        wanted = " or ".join(str(n) for n in lengths)
        _raise_input(argument, f"{len(key)} bytes, expected {wanted}")
    if not ignore_parity and not has_odd_parity(key):
        _raise_input(argument, "DES key does not have odd parity (--ignore-parity accepts it)")
    return key


def _raise_input(argument: str, reason: str) -> NoReturn:
    raise InputError(argument, reason)


def _key(value: str, argument: str, *, aes: bool, ignore_parity: bool) -> bytes:
    if aes:
        return parse_key(value, argument, algorithm="AES")
    return _des_key(value, argument, ignore_parity=ignore_parity)


def _format(fmt: int) -> Literal[0, 1, 3, 4]:
    if fmt == 0:
        return 0
    if fmt == 1:
        return 1
    if fmt == 3:
        return 3
    if fmt == 4:
        return 4
    _raise_input("--format", f"{fmt}, expected 0, 1, 3 or 4")


def _pan(value: str) -> str:
    return parse_digits(value, "--pan", min_length=12, max_length=19)


# ---------------------------------------------------------------------------------- kcv
@hsm_app.command("kcv")
def kcv_command(
    key: Annotated[str, typer.Option("--key", help="Clear key in hex.")],
    aes: AesFlag = False,
    length: Annotated[int, typer.Option("--length", help="Check value length in bytes.")] = 3,
    ignore_parity: IgnoreParity = False,
    as_json: JsonOption = False,
) -> None:
    """Key check value: TDES encrypts zeros, AES takes the CMAC of zeros."""

    def compute() -> dict[str, Any]:
        k = _key(key, "--key", aes=aes, ignore_parity=ignore_parity)
        if not 2 <= length <= 8:
            _raise_input("--length", f"{length}, expected 2 to 8")
        return {"kcv": _hex(kcv(k, algorithm="AES" if aes else "TDES", length=length))}

    _run(as_json, compute)


# ---------------------------------------------------------------------------------- PIN blocks
FormatOption = Annotated[int, typer.Option("--format", help="ISO 9564 format: 0, 1, 3 (TDES) or 4 (AES).")]
PinBlockKeyOption = Annotated[
    str | None, typer.Option("--key", help="PIN key in hex (TDES for 0/1/3, AES for 4; required for 4).")
]


@pinblock_app.command("encode")
def pinblock_encode_command(
    fmt: FormatOption,
    pin: Annotated[str, typer.Option("--pin", help="The PIN, 4 to 12 digits.")],
    pan: Annotated[str | None, typer.Option("--pan", help="Card number (not used by format 1).")] = None,
    key: PinBlockKeyOption = None,
    ignore_parity: IgnoreParity = False,
    as_json: JsonOption = False,
) -> None:
    """Build a PIN block, encrypted under --key when given (formats 1, 3 and 4 use random fill)."""

    def compute() -> dict[str, Any]:
        f = _format(fmt)
        clear_pin = parse_digits(pin, "--pin", min_length=4, max_length=12)
        if pan is None and f != 1:
            _raise_input("--pan", f"required for format {f}")
        account = _pan(pan) if pan is not None else None
        if f == 4:
            if key is None:
                _raise_input("--key", "required for format 4 (the block is enciphered under an AES key)")
            assert account is not None
            aes_key = parse_key(key, "--key", algorithm="AES")
            return {"format": 4, "pin_block": _hex(encipher_pinblock_iso4(aes_key, clear_pin, account))}
        clear = encode_pinblock(clear_pin, account, fmt=f)
        out: dict[str, Any] = {"format": f, "clear_block": _hex(clear)}
        if key is not None:
            k = _des_key(key, "--key", ignore_parity=ignore_parity)
            out["pin_block"] = _hex(encrypt_tdes_ecb(k, clear))
        return out

    _run(as_json, compute)


@pinblock_app.command("decode")
def pinblock_decode_command(
    fmt: FormatOption,
    block: Annotated[str, typer.Option("--block", help="PIN block in hex (8 bytes; 16 for format 4).")],
    pan: Annotated[str | None, typer.Option("--pan", help="Card number (not used by format 1).")] = None,
    key: PinBlockKeyOption = None,
    ignore_parity: IgnoreParity = False,
    as_json: JsonOption = False,
) -> None:
    """The PIN inside a PIN block (decrypted with --key first when given)."""

    def compute() -> dict[str, Any]:
        f = _format(fmt)
        if pan is None and f != 1:
            _raise_input("--pan", f"required for format {f}")
        account = _pan(pan) if pan is not None else None
        if f == 4:
            if key is None:
                _raise_input("--key", "required for format 4 (the block is enciphered under an AES key)")
            assert account is not None
            aes_key = parse_key(key, "--key", algorithm="AES")
            data = parse_hex(block, "--block", lengths=(16,))
            return {"format": 4, "pin": decipher_pinblock_iso4(aes_key, data, account)}
        data = parse_hex(block, "--block", lengths=(8,))
        out: dict[str, Any] = {"format": f}
        if key is not None:
            data = decrypt_tdes_ecb(_des_key(key, "--key", ignore_parity=ignore_parity), data)
            out["clear_block"] = _hex(data)
        out["pin"] = decode_pinblock(data, account, fmt=f)
        return out

    _run(as_json, compute)


# ---------------------------------------------------------------------------------- MAC
@hsm_app.command("mac")
def mac_command(
    algorithm: Annotated[str, typer.Option("--algorithm", help="cups-ecb, x919 or cmac.")],
    key: Annotated[str, typer.Option("--key", help="MAC key in hex.")],
    data: Annotated[str, typer.Option("--data", help="Message (MAB) in hex.")],
    cipher: Annotated[str, typer.Option("--cipher", help="Block cipher of cmac: aes or tdes.")] = "aes",
    ignore_parity: IgnoreParity = False,
    as_json: JsonOption = False,
) -> None:
    """A message authentication code over --data (cups-ecb prints the 8 ASCII bytes of field 64 too)."""

    def compute() -> dict[str, Any]:
        message = parse_hex(data, "--data")
        if algorithm == "cmac":
            if cipher not in ("aes", "tdes"):
                _raise_input("--cipher", f"{cipher!r}, expected aes or tdes")
            if cipher == "aes":
                k = parse_key(key, "--key", algorithm="AES")
            else:
                k = _des_key(key, "--key", ignore_parity=ignore_parity, lengths=(16, 24))
            mac = mac_calculator(k, "cmac", cipher="AES" if cipher == "aes" else "TDES").generate(message)
            return {"algorithm": "cmac", "mac": _hex(mac)}
        if algorithm == "x919":
            k = _des_key(key, "--key", ignore_parity=ignore_parity, lengths=(8, 16))
            return {"algorithm": "x919", "mac": _hex(mac_calculator(k, "x919").generate(message))}
        if algorithm == "cups-ecb":
            k = _des_key(key, "--key", ignore_parity=ignore_parity)
            mac = mac_calculator(k, "cups-ecb").generate(message)
            return {"algorithm": "cups-ecb", "mac": _hex(mac), "mac_text": mac.decode("ascii")}
        _raise_input("--algorithm", f"{algorithm!r}, expected cups-ecb, x919 or cmac")

    _run(as_json, compute)


# ---------------------------------------------------------------------------------- DUKPT
def _check_dukpt_counter(counter: int, max_ones: int) -> int:
    # An originating device never uses counter 0 nor one with more set bits than X9.24 allows;
    # a KSN carrying one is a typo or a forgery, so the calculator refuses it instead of
    # deriving a key no device would ever hold.
    if counter == 0:
        _raise_input("--ksn", "transaction counter 0 is never used by a DUKPT device")
    ones = counter.bit_count()
    if ones > max_ones:
        _raise_input(
            "--ksn",
            f"transaction counter {counter:X} has {ones} one bits, a DUKPT device uses at most {max_ones}",
        )
    return counter


_AES_USAGES = {
    "pin_key": dukpt_aes.KeyUsage.PIN_ENCRYPTION,
    "mac_generation_key": dukpt_aes.KeyUsage.MAC_GENERATION,
    "mac_verification_key": dukpt_aes.KeyUsage.MAC_VERIFICATION,
    "data_encryption_key": dukpt_aes.KeyUsage.DATA_ENCRYPT,
    "data_decryption_key": dukpt_aes.KeyUsage.DATA_DECRYPT,
}
_TDES_VARIANTS = {
    "pin_key": tdes_dukpt.DukptVariant.PIN,
    "mac_request_key": tdes_dukpt.DukptVariant.MAC_REQUEST,
    "mac_response_key": tdes_dukpt.DukptVariant.MAC_RESPONSE,
    "data_request_key": tdes_dukpt.DukptVariant.DATA_REQUEST,
    "data_response_key": tdes_dukpt.DukptVariant.DATA_RESPONSE,
}
_KEY_TYPES = ("AES128", "AES192", "AES256", "TDES2", "TDES3")


@hsm_app.command("dukpt")
def dukpt_command(
    bdk: Annotated[str, typer.Option("--bdk", help="Base derivation key in hex.")],
    ksn: Annotated[str, typer.Option("--ksn", help="Key serial number: 10 bytes (TDES) or 12 bytes (AES).")],
    aes: Annotated[
        bool, typer.Option("--aes", help="AES DUKPT (X9.24-3) instead of TDES (X9.24-1).")
    ] = False,
    key_type: Annotated[
        str, typer.Option("--key-type", help="AES DUKPT working key type: AES128/192/256, TDES2, TDES3.")
    ] = "AES128",
    ignore_parity: IgnoreParity = False,
    as_json: JsonOption = False,
) -> None:
    """The device's initial key and the PIN, MAC and data keys of the transaction with this KSN."""

    def compute() -> dict[str, Any]:
        if aes:
            b = parse_key(bdk, "--bdk", algorithm="AES")
            k = parse_hex(ksn, "--ksn", lengths=(12,))
            counter = _check_dukpt_counter(dukpt_aes.ksn_counter(k), dukpt_aes.MAX_ONE_BITS)
            if key_type not in _KEY_TYPES:
                _raise_input("--key-type", f"{key_type!r}, expected {', '.join(_KEY_TYPES)}")
            ikid = dukpt_aes.ksn_initial_key_id(k)
            initial = dukpt_aes.derive_initial_key(b, ikid)
            intermediate = dukpt_aes.derive_intermediate_key(b, k)
            out: dict[str, Any] = {
                "ksn": _hex(k),
                "counter": counter,
                "initial_key": _hex(initial),
                "initial_key_kcv": _hex(kcv(initial, algorithm="AES")),
                "derivation_key": _hex(intermediate),
            }
            for name, usage in _AES_USAGES.items():
                try:
                    wk = dukpt_aes.working_key_from_intermediate(intermediate, k, usage, key_type)  # type: ignore[arg-type]
                except CryptoError as exc:
                    _raise_input("--key-type", getattr(exc, "reason", str(exc)))
                out[name] = _hex(wk)
            return out
        b = _des_key(bdk, "--bdk", ignore_parity=ignore_parity, lengths=(16,))
        k = parse_hex(ksn, "--ksn", lengths=(10,))
        tdes_counter = _check_dukpt_counter(tdes_dukpt.ksn_counter(k), tdes_dukpt.MAX_ONE_BITS)
        ipek = tdes_dukpt.derive_ipek(b, k)
        transaction = tdes_dukpt.derive_transaction_key(b, k)
        out = {
            "ksn": _hex(k),
            "counter": tdes_counter,
            "initial_key": _hex(ipek),
            "initial_key_kcv": _hex(kcv(ipek)),
            "transaction_key": _hex(transaction),
        }
        for name, variant in _TDES_VARIANTS.items():
            out[name] = _hex(tdes_dukpt.variant_key(transaction, variant))
        return out

    _run(as_json, compute)


# ---------------------------------------------------------------------------------- EMV
def _session_key(
    imk: str, pan: str, psn: str, atc: str, derivation: str, ignore_parity: bool
) -> tuple[bytes, bytes, bytes]:
    key = _des_key(imk, "--imk", ignore_parity=ignore_parity, lengths=(16,))
    account = parse_digits(pan, "--pan", min_length=8, max_length=19)
    seq = parse_digits(psn, "--psn", min_length=2, max_length=2)
    counter = parse_hex(atc, "--atc", lengths=(2,))
    if derivation not in ("A", "B"):
        _raise_input("--derivation", f"{derivation!r}, expected A or B")
    mk = emv.derive_icc_master_key(key, account, seq, option="A" if derivation == "A" else "B")
    return mk, emv.derive_session_key(mk, counter), counter


@arqc_app.command("verify")
def arqc_verify_command(
    imk: ImkOption,
    pan: PanOption,
    psn: PsnOption,
    atc: AtcOption,
    data: Annotated[str, typer.Option("--data", help="The CDOL1 data the card MAC'd, in hex.")],
    arqc: Annotated[str, typer.Option("--arqc", help="The card's ARQC, 8 bytes hex.")],
    derivation: DerivationOption = "A",
    padding: Annotated[int, typer.Option("--padding", help="ISO 9797-1 padding method (EMV: 2).")] = 2,
    ignore_parity: IgnoreParity = False,
    as_json: JsonOption = False,
) -> None:
    """Verify an ARQC (common session key derivation, MAC algorithm 3); exit 1 if it does not match."""

    def compute() -> dict[str, Any]:
        mk, sk, _ = _session_key(imk, pan, psn, atc, derivation, ignore_parity)
        message = parse_hex(data, "--data")
        given = parse_hex(arqc, "--arqc", lengths=(8,))
        if padding not in (1, 2):
            _raise_input("--padding", f"{padding}, expected 1 or 2")
        expected = emv.generate_ac(sk, message, padding=1 if padding == 1 else 2)
        return {
            "icc_master_key": _hex(mk),
            "session_key": _hex(sk),
            "arqc": _hex(expected),
            "valid": emv.verify_arqc(sk, message, given, padding=1 if padding == 1 else 2),
        }

    _run(as_json, compute, ok=lambda r: bool(r["valid"]))


@hsm_app.command("arpc")
def arpc_command(
    imk: ImkOption,
    pan: PanOption,
    psn: PsnOption,
    atc: AtcOption,
    arqc: Annotated[str, typer.Option("--arqc", help="The card's ARQC, 8 bytes hex.")],
    arc: Annotated[
        str | None,
        typer.Option("--arc", help="Authorisation response code, 2 bytes hex (3030 = '00'); method 1."),
    ] = None,
    method: Annotated[int, typer.Option("--method", help="ARPC method 1 or 2.")] = 1,
    csu: Annotated[
        str | None, typer.Option("--csu", help="Card status update, 4 bytes hex; method 2.")
    ] = None,
    proprietary: Annotated[
        str, typer.Option("--proprietary", help="Proprietary authentication data, 0-8 bytes hex; method 2.")
    ] = "",
    derivation: DerivationOption = "A",
    ignore_parity: IgnoreParity = False,
    as_json: JsonOption = False,
) -> None:
    """The issuer's ARPC: method 1 (ARQC XOR ARC, 8 bytes) or method 2 (MAC over ARQC||CSU, 4 bytes)."""

    def compute() -> dict[str, Any]:
        _, sk, _ = _session_key(imk, pan, psn, atc, derivation, ignore_parity)
        cryptogram = parse_hex(arqc, "--arqc", lengths=(8,))
        if method == 1:
            if arc is None:
                _raise_input("--arc", "required for ARPC method 1")
            code = parse_hex(arc, "--arc", lengths=(2,))
            return {
                "method": 1,
                "session_key": _hex(sk),
                "arpc": _hex(emv.generate_arpc_method1(sk, cryptogram, code)),
            }
        if method == 2:
            if csu is None:
                _raise_input("--csu", "required for ARPC method 2")
            status = parse_hex(csu, "--csu", lengths=(4,))
            extra = parse_hex(proprietary, "--proprietary", lengths=range(9))
            arpc = emv.generate_arpc_method2(sk, cryptogram, status, extra)
            return {"method": 2, "session_key": _hex(sk), "arpc": _hex(arpc)}
        _raise_input("--method", f"{method}, expected 1 or 2")

    _run(as_json, compute)


# ---------------------------------------------------------------------------------- unwrap
@hsm_app.command("unwrap")
def unwrap_command(
    kek: Annotated[str, typer.Option("--kek", help="Key encryption key (TMK/ZMK) in hex.")],
    key: Annotated[str, typer.Option("--key", help="The encrypted key in hex (ECB under the KEK).")],
    aes: Annotated[bool, typer.Option("--aes", help="The KEK is AES (default TDES).")] = False,
    expected_kcv: Annotated[
        str | None, typer.Option("--kcv", help="Expected check value of the clear key (exit 1 on mismatch).")
    ] = None,
    ignore_parity: IgnoreParity = False,
    as_json: JsonOption = False,
) -> None:
    """Decrypt a working key sent under a KEK (as a sign-on's field 62 carries it), with its check value."""

    def compute() -> dict[str, Any]:
        wrapping = _key(kek, "--kek", aes=aes, ignore_parity=ignore_parity)
        encrypted = parse_hex(key, "--key", lengths=(16, 32) if aes else (8, 16, 24))
        clear = decrypt_aes_ecb(wrapping, encrypted) if aes else decrypt_tdes_ecb(wrapping, encrypted)
        # The clear key's algorithm follows the KEK's: a TDES KEK carries DES keys.
        check = kcv(clear, algorithm="AES" if aes else "TDES")
        out: dict[str, Any] = {"key": _hex(clear), "kcv": _hex(check)}
        if not aes:
            out["odd_parity"] = has_odd_parity(clear)
        if expected_kcv is not None:
            want = parse_hex(expected_kcv, "--kcv", lengths=range(2, 9))
            out["kcv_match"] = kcv(clear, algorithm="AES" if aes else "TDES", length=len(want)) == want
        return out

    _run(as_json, compute, ok=lambda r: r.get("kcv_match", True) is not False)
