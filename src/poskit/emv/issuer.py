"""Issuer (host) side of chip transactions: field 55, ARQC check, ARPC, issuer scripts.

Wiring plan for the host's ARQC verification (what the HSM is asked to do):

1. Decode field 55 with :func:`parse_field55` (BER-TLV, order kept). Required tags:
   :data:`ARQC_REQUIRED_TAGS`.
2. Check the IAD (``9F10``) is poskit's layout and its CVN is :data:`~poskit.emv.cryptogram.CVN`
   (``0x01``); the DKI selects the issuer master key version (``01`` = ``IMK-AC``).
3. Card master key: ``derive_icc_master_key(IMK-AC, pan, psn, option="A")`` where the PAN
   is field 2 (or the track 2 of field 35) and the PSN is field 23 (``"00"`` if absent).
4. Session key: ``derive_session_key(MK-AC, atc)`` with the ATC from ``9F36``.
5. ``generate_ac(SK, arqc_input(field55))`` must equal ``9F26``; a mismatch is a decline
   (response code ``A7``/``05``); an ATC not above the last seen one is a replay.
6. ARPC method 1 with the 2-byte ARC (field 39 as ASCII): ``91 = ARPC || ARC``, returned in
   the response's field 55 together with any issuer scripts (``71``/``72``).

:func:`verify_arqc` and :func:`issuer_authentication_data` implement steps 3-6 in software
with :mod:`poskit.crypto.emv`; the host's HSM performs the same derivations inside it::

    icc = parse_field55(field55)
    ok = hsm.verify_arqc(imk=imk_ac_block, pan=pan, psn=psn or "00", atc=icc["9F36"],
                         data=arqc_input(icc), arqc=icc["9F26"])        # derivation "A", common SK
    arc = response_code.encode("ascii")
    arpc = hsm.generate_arpc(imk=imk_ac_block, pan=pan, psn=psn or "00", atc=icc["9F36"],
                             arqc=icc["9F26"], arc=arc)                  # method 1
    field55_response = response_icc_data(
        issuer_authentication=cryptogram.issuer_authentication_data(arpc, arc), scripts=[...])
Scripts are built with the secure messaging of :mod:`poskit.emv.secure_messaging`
(MAC under the session key derived from ``IMK-SMI``; new PINs enciphered under ``IMK-SMC``).
"""

from __future__ import annotations

import dataclasses
import hmac
from collections.abc import Mapping, Sequence
from typing import Final, Literal

from poskit.crypto.emv import (
    derive_icc_master_key,
    derive_session_key,
    generate_ac,
    generate_arpc_method1,
)
from poskit.emv.cryptogram import (
    CVN,
    CryptogramInputError,
    IssuerApplicationData,
    arqc_input,
    cryptogram_type,
)
from poskit.emv.cryptogram import (
    issuer_authentication_data as _iad91,
)
from poskit.emv.field55 import Field55Error, parse_icc_data
from poskit.emv.secure_messaging import (
    INS_APPLICATION_BLOCK,
    INS_APPLICATION_UNBLOCK,
    INS_PIN_CHANGE_UNBLOCK,
    INS_PUT_DATA,
    encipher_new_pin,
    script_command,
    sm_session_key,
)
from poskit.emv.tlv import Tlv, encode, tlv

__all__ = [
    "ARQC_REQUIRED_TAGS",
    "ICC_MASTER_KEY_OPTION",
    "ArqcCheck",
    "ScriptResult",
    "application_block_command",
    "application_block_script",
    "application_unblock_command",
    "build_script",
    "card_session_key",
    "compute_cryptogram",
    "issuer_authentication_data",
    "parse_field55",
    "parse_script_results",
    "pin_change_command",
    "pin_unblock_command",
    "pin_unblock_script",
    "put_data_command",
    "response_icc_data",
    "verify_arqc",
]

ARQC_REQUIRED_TAGS: Final = (
    "9F26",
    "9F27",
    "9F10",
    "9F37",
    "9F36",
    "95",
    "9A",
    "9C",
    "9F02",
    "5F2A",
    "82",
    "9F1A",
    "9F03",
)
#: Option A for every PAN length, as the card book is personalised.
ICC_MASTER_KEY_OPTION: Final = "A"


def parse_field55(data: bytes) -> dict[str, bytes]:
    """Field 55 as ``{tag: value}``; raises :class:`Field55Error` if a required tag is missing."""
    return parse_icc_data(data, required=ARQC_REQUIRED_TAGS)


def card_session_key(imk: bytes, pan: str, psn: str | None, atc: bytes) -> bytes:
    """Session key of one card for one ATC (the card and the HSM derive the same)."""
    mk = derive_icc_master_key(imk, pan, psn or "00", option=ICC_MASTER_KEY_OPTION)
    return derive_session_key(mk, atc)


def compute_cryptogram(imk_ac: bytes, pan: str, psn: str | None, tags: Mapping[str, bytes]) -> bytes:
    """The application cryptogram the card should have produced for these tags."""
    sk = card_session_key(imk_ac, pan, psn, tags["9F36"])
    return generate_ac(sk, arqc_input(tags))


@dataclasses.dataclass(frozen=True, slots=True)
class ArqcCheck:
    ok: bool
    reason: str
    cryptogram_type: str | None = None
    atc: int | None = None


def verify_arqc(
    *, imk_ac: bytes, pan: str, psn: str | None, icc: Mapping[str, bytes], last_atc: int | None = None
) -> ArqcCheck:
    """Recompute the cryptogram in ``icc`` (field 55) and compare; replayed ATCs fail."""
    try:
        iad = IssuerApplicationData.parse(icc.get("9F10", b""))
        if iad.cvn != CVN:
            return ArqcCheck(False, f"unsupported cryptogram version {iad.cvn:02X}")
        for tag in ARQC_REQUIRED_TAGS:
            if tag not in icc:
                return ArqcCheck(False, f"field 55 lacks {tag}")
        atc = int.from_bytes(icc["9F36"], "big")
        kind = cryptogram_type(icc["9F27"][0])
        expected = compute_cryptogram(imk_ac, pan, psn, icc)
    except CryptogramInputError as exc:
        return ArqcCheck(False, str(exc))
    if not hmac.compare_digest(expected, icc["9F26"]):
        return ArqcCheck(False, "application cryptogram does not verify", kind, atc)
    if last_atc is not None and atc <= last_atc:
        return ArqcCheck(False, f"ATC {atc} not above the last seen {last_atc} (replay)", kind, atc)
    return ArqcCheck(True, "cryptogram verified", kind, atc)


def issuer_authentication_data(
    *, imk_ac: bytes, pan: str, psn: str | None, atc: bytes, arqc: bytes, response_code: str
) -> bytes:
    """Value of tag 91 (ARPC method 1 || ARC) for the response's field 55."""
    arc = response_code.encode("ascii")
    if len(arc) != 2:
        raise Field55Error(f"response code {response_code!r} is not two characters")
    sk = card_session_key(imk_ac, pan, psn, atc)
    return _iad91(generate_arpc_method1(sk, arqc, arc), arc)


# issuer scripts ---------------------------------------------------------------------------


def _smi(imk_smi: bytes, pan: str, psn: str | None, atc: bytes) -> bytes:
    mk = derive_icc_master_key(imk_smi, pan, psn or "00", option=ICC_MASTER_KEY_OPTION)
    return sm_session_key(mk, atc)


def pin_unblock_command(*, imk_smi: bytes, pan: str, psn: str | None, atc: bytes, arqc: bytes) -> bytes:
    """PIN CHANGE/UNBLOCK with P2=00: reset the PIN try counter, keep the PIN."""
    return script_command(
        INS_PIN_CHANGE_UNBLOCK, 0x00, 0x00, b"", session_key=_smi(imk_smi, pan, psn, atc), atc=atc, arqc=arqc
    )


def pin_change_command(
    *, imk_smi: bytes, imk_smc: bytes, pan: str, psn: str | None, atc: bytes, arqc: bytes, new_pin: str
) -> bytes:
    """PIN CHANGE/UNBLOCK with P2=02: set a new PIN (enciphered under SK_SMC)."""
    mk_smc = derive_icc_master_key(imk_smc, pan, psn or "00", option=ICC_MASTER_KEY_OPTION)
    data = encipher_new_pin(sm_session_key(mk_smc, atc), new_pin)
    return script_command(
        INS_PIN_CHANGE_UNBLOCK, 0x00, 0x02, data, session_key=_smi(imk_smi, pan, psn, atc), atc=atc, arqc=arqc
    )


def application_block_command(*, imk_smi: bytes, pan: str, psn: str | None, atc: bytes, arqc: bytes) -> bytes:
    return script_command(
        INS_APPLICATION_BLOCK, 0x00, 0x00, b"", session_key=_smi(imk_smi, pan, psn, atc), atc=atc, arqc=arqc
    )


def application_unblock_command(
    *, imk_smi: bytes, pan: str, psn: str | None, atc: bytes, arqc: bytes
) -> bytes:
    return script_command(
        INS_APPLICATION_UNBLOCK, 0x00, 0x00, b"", session_key=_smi(imk_smi, pan, psn, atc), atc=atc, arqc=arqc
    )


def put_data_command(
    *, imk_smi: bytes, pan: str, psn: str | None, atc: bytes, arqc: bytes, tag: str, value: bytes
) -> bytes:
    """PUT DATA for a two-byte tag (e.g. 9F14/9F23 offline limits)."""
    raw = bytes.fromhex(tag)
    return script_command(
        INS_PUT_DATA, raw[0], raw[1], value, session_key=_smi(imk_smi, pan, psn, atc), atc=atc, arqc=arqc
    )


def build_script(
    commands: Sequence[bytes], *, script_id: bytes = b"\x00\x00\x00\x01", template: Literal["71", "72"] = "72"
) -> bytes:
    """An issuer script template: 9F18 script identifier, then one 86 per command."""
    children = [Tlv.primitive("9F18", script_id)] + [Tlv.primitive("86", c) for c in commands]
    return encode([Tlv.template(template, children)])


def pin_unblock_script(
    *,
    imk_smi: bytes,
    pan: str,
    psn: str | None,
    atc: bytes,
    arqc: bytes,
    script_id: bytes = b"\x00\x00\x00\x01",
) -> bytes:
    """Template 72 with one PIN UNBLOCK command."""
    return build_script(
        [pin_unblock_command(imk_smi=imk_smi, pan=pan, psn=psn, atc=atc, arqc=arqc)], script_id=script_id
    )


def application_block_script(
    *,
    imk_smi: bytes,
    pan: str,
    psn: str | None,
    atc: bytes,
    arqc: bytes,
    script_id: bytes = b"\x00\x00\x00\x02",
) -> bytes:
    """Template 72 with one APPLICATION BLOCK command."""
    return build_script(
        [application_block_command(imk_smi=imk_smi, pan=pan, psn=psn, atc=atc, arqc=arqc)],
        script_id=script_id,
    )


def response_icc_data(*, issuer_authentication: bytes | None = None, scripts: Sequence[bytes] = ()) -> bytes:
    """Field 55 of the authorisation response: 91 then script templates."""
    out = tlv("91", issuer_authentication) if issuer_authentication else b""
    return out + b"".join(scripts)


@dataclasses.dataclass(frozen=True, slots=True)
class ScriptResult:
    """One 5-byte issuer script result (DF31 / 9F5B)."""

    result: Literal["not_performed", "failed", "successful", "unknown"]
    sequence: int  # failing command number (1-14), 15 for 15 or more, 0 unspecified
    script_id: bytes


def parse_script_results(data: bytes) -> list[ScriptResult]:
    """Split the DF31 value of a script advice into per-script results."""
    if len(data) % 5:
        raise Field55Error(f"DF31 of {len(data)} bytes is not a multiple of 5")
    names: dict[int, Literal["not_performed", "failed", "successful"]] = {
        0: "not_performed",
        1: "failed",
        2: "successful",
    }
    out = []
    for i in range(0, len(data), 5):
        first = data[i]
        out.append(ScriptResult(names.get(first >> 4, "unknown"), first & 0x0F, data[i + 1 : i + 5]))
    return out
