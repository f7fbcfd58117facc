"""Personalisation: from a card of the book and its chip profile to the chip's file system.

What a personalisation bureau writes, per application:

=========  ======  ===================================================================
SFI/rec    ODA     contents
=========  ======  ===================================================================
1 / 1      no      57 track 2 equivalent, 5F20 cardholder name, 9F1F track 1 discr.
2 / 1      yes     5A PAN, 5F34 PSN, 5F24/5F25 dates, 5F28, 9F07 AUC, 8E CVM list,
                   IACs, 8C CDOL1, 8D CDOL2, 9F42, 9F08, 5F30, 9F14/9F23, 9F49, 9F4A
3 / 1      no      8F CA key index, 90 issuer certificate, 92 remainder, 9F32
3 / 2      no      9F46 ICC certificate, 9F47, 9F48, 93 signed static data
4 / 1      no      contactless record: 5A, 5F24, 5F25, 5F28, 9F07, 9F42
=========  ======  ===================================================================

Contact AFL ``08010100 10010101 18010200``, contactless AFL ``20010100``. The static data
to be authenticated is the value of record 2/1 followed by the AIP (``9F4A`` = ``82``).
Keys: MK-AC/MK-SMI/MK-SMC by EMV option A from the test IMKs of
:mod:`poskit.cards.test_keys`, the ICC RSA key of :mod:`poskit.cards.icc.keys`, the
issuer certificate signed by the test CA and the ICC certificate by the test issuer.
"""

from __future__ import annotations

import calendar
import dataclasses
from collections.abc import Callable, Mapping
from functools import cache
from typing import Literal

from poskit.cards.book import TestCard
from poskit.cards.icc.keys import ca_key, icc_key, issuer_key
from poskit.cards.icc.profiles import (
    CDOL1,
    CONTACTLESS_PDOL,
    DDOL,
    ApplicationProfile,
    CardProfile,
    profile_by_name,
)
from poskit.cards.magstripe import chip_track2_for
from poskit.cards.test_keys import TEST_IMK_AC, TEST_IMK_SMC, TEST_IMK_SMI
from poskit.crypto.emv import derive_icc_master_key
from poskit.emv.capk import TEST_CA_INDEX
from poskit.emv.certificates import (
    RsaPrivateKey,
    sign_icc_certificate,
    sign_issuer_certificate,
    sign_static_data,
)
from poskit.emv.issuer import ICC_MASTER_KEY_OPTION
from poskit.emv.tlv import decode, encode_length, encode_tag, tlv

__all__ = [
    "CONTACTLESS_AFL",
    "CONTACT_AFL",
    "ISSUER_CERTIFICATE_EXPIRY",
    "AppImage",
    "CardImage",
    "expiry_date",
    "personalise",
    "static_data",
    "track2_equivalent",
]

CONTACT_AFL = bytes.fromhex("080101001001010118010200")
CONTACTLESS_AFL = bytes.fromhex("20010100")
ISSUER_CERTIFICATE_EXPIRY = "1249"  # MMYY
_ODA_RECORD = (2, 1)


@dataclasses.dataclass(frozen=True, slots=True)
class AppImage:
    """One personalised application: its records, FCIs and the data the card uses itself."""

    profile: ApplicationProfile
    records: Mapping[tuple[int, int], bytes]
    fci: Mapping[Literal["contact", "contactless"], bytes]
    data: Mapping[str, bytes]

    @property
    def aid(self) -> bytes:
        return self.profile.aid_bytes


@dataclasses.dataclass(frozen=True, slots=True)
class CardImage:
    """Everything written to the chip at personalisation (immutable; state lives elsewhere)."""

    name: str
    pan: str
    psn: str
    pin: str = dataclasses.field(repr=False)
    interfaces: tuple[str, ...]
    applications: tuple[AppImage, ...]
    pse_records: Mapping[tuple[int, int], bytes]
    ppse_fci: bytes
    pse_fci: bytes | None
    icc_private_key: RsaPrivateKey = dataclasses.field(repr=False)
    mk_ac: bytes = dataclasses.field(repr=False)
    mk_smi: bytes = dataclasses.field(repr=False)
    mk_smc: bytes = dataclasses.field(repr=False)

    def __repr__(self) -> str:
        return f"CardImage({self.name!r}, {len(self.applications)} application(s))"


def _ans(text: str) -> bytes:
    return text.encode("ascii", "replace")


def _template(tag: str, *items: tuple[str, bytes] | bytes) -> bytes:
    """A constructed data object from (tag, value) pairs and already encoded objects."""
    body = b"".join(item if isinstance(item, bytes) else tlv(*item) for item in items)
    return encode_tag(tag) + encode_length(len(body)) + body


def expiry_date(yymm: str) -> str:
    """YYMM to YYMMDD on the last day of the month (how 5F24 is personalised)."""
    year = 2000 + int(yymm[:2])
    last = calendar.monthrange(year, int(yymm[2:]))[1]
    return f"{yymm}{last:02d}"


def track2_equivalent(card: TestCard, discretionary: str) -> bytes:
    text = f"{card.pan}D{card.expiry}{card.service_code}{discretionary}"
    if len(text) % 2:
        text += "F"
    return bytes.fromhex(text)


def static_data(record: bytes, aip: bytes) -> bytes:
    """Static data to be authenticated: the ODA record's template value, then the AIP."""
    return decode(record)[0].value + aip


@cache
def _issuer_certificate(issuer_identifier: str) -> tuple[bytes, bytes]:
    return sign_issuer_certificate(
        ca_key(),
        issuer_identifier=issuer_identifier,
        expiry=ISSUER_CERTIFICATE_EXPIRY,
        serial=b"\x00\x00\x01",
        issuer=issuer_key().public,
    )


def _application(
    card: TestCard, profile: CardProfile, app: ApplicationProfile, discretionary: str
) -> AppImage:
    expiry = expiry_date(card.expiry)
    name = _ans(card.name.upper().replace("-", " ")[:26].ljust(2))
    track2 = track2_equivalent(card, discretionary)
    pan_cn = bytes.fromhex(card.pan + ("F" if len(card.pan) % 2 else ""))
    record_1 = _template("70", ("57", track2), ("5F20", name), ("9F1F", _ans("000000000000")))
    oda_items: list[tuple[str, bytes]] = [
        ("5A", pan_cn),
        ("5F34", bytes.fromhex(card.psn)),
        ("5F24", bytes.fromhex(expiry)),
        ("5F25", bytes.fromhex(profile.effective_date)),
        ("5F28", bytes.fromhex(app.country)),
        ("9F07", bytes.fromhex(app.auc)),
        ("8E", bytes.fromhex(app.cvm_list)),
        ("9F0D", bytes.fromhex(app.iac_default)),
        ("9F0E", bytes.fromhex(app.iac_denial)),
        ("9F0F", bytes.fromhex(app.iac_online)),
        ("8C", CDOL1),
        ("8D", app.cdol2),
        ("9F42", bytes.fromhex(app.currency)),
        ("9F08", bytes.fromhex(app.version)),
        ("5F30", bytes.fromhex("0" + card.service_code)),
    ]
    if app.lower_offline_limit is not None and app.upper_offline_limit is not None:
        oda_items += [("9F14", bytes([app.lower_offline_limit])), ("9F23", bytes([app.upper_offline_limit]))]
    oda_items += [("9F49", DDOL), ("9F4A", b"\x82")]
    record_2 = _template("70", *oda_items)
    aip = bytes.fromhex(app.aip)
    static = static_data(record_2, aip)
    issuer_cert, issuer_remainder = _issuer_certificate(card.pan[:6])
    icc_cert, icc_remainder = sign_icc_certificate(
        issuer_key(),
        pan=card.pan,
        expiry=expiry[2:4] + expiry[:2],
        serial=b"\x00\x00\x01",
        icc=icc_key().public,
        static_data=static,
    )
    ssad = sign_static_data(issuer_key(), data_authentication_code=b"\xda\xc1", static_data=static)
    record_3_1 = _template(
        "70",
        ("8F", bytes([TEST_CA_INDEX])),
        ("90", issuer_cert),
        ("92", issuer_remainder),
        ("9F32", issuer_key().public.exponent_bytes),
    )
    icc_items: list[tuple[str, bytes]] = [("9F46", icc_cert), ("9F47", icc_key().public.exponent_bytes)]
    if icc_remainder:
        icc_items.append(("9F48", icc_remainder))
    icc_items.append(("93", ssad))
    record_3_2 = _template("70", *icc_items)
    record_4 = _template(
        "70",
        ("5A", pan_cn),
        ("5F24", bytes.fromhex(expiry)),
        ("5F25", bytes.fromhex(profile.effective_date)),
        ("5F28", bytes.fromhex(app.country)),
        ("9F07", bytes.fromhex(app.auc)),
        ("9F42", bytes.fromhex(app.currency)),
    )
    label = _ans(app.label)
    preferred = app.preferred_name.encode("utf-8") if app.preferred_name else None
    fci: dict[Literal["contact", "contactless"], bytes] = {}
    pdols: dict[Literal["contact", "contactless"], bytes] = {
        "contact": bytes.fromhex(app.contact_pdol or ""),
        "contactless": CONTACTLESS_PDOL,
    }
    for interface, pdol in pdols.items():
        proprietary: list[tuple[str, bytes] | bytes] = [("50", label), ("87", bytes([app.priority]))]
        if pdol:
            proprietary.append(("9F38", pdol))
        proprietary.append(("5F2D", b"zhen"))
        if preferred and interface == "contact":
            proprietary += [("9F11", b"\x01"), ("9F12", preferred)]
        proprietary.append(_template("BF0C", ("9F4D", b"\x0b\x0a")))
        fci[interface] = _template("6F", ("84", app.aid_bytes), _template("A5", *proprietary))
    return AppImage(
        profile=app,
        records={
            (1, 1): record_1,
            _ODA_RECORD: record_2,
            (3, 1): record_3_1,
            (3, 2): record_3_2,
            (4, 1): record_4,
        },
        fci=fci,
        data={
            "57": track2,
            "5F34": bytes.fromhex(card.psn),
            "5F20": name,
            "8C": CDOL1,
            "8D": app.cdol2,
            "82": aip,
            "82-contactless": bytes.fromhex(app.contactless_aip),
            "94": CONTACT_AFL,
            "94-contactless": CONTACTLESS_AFL,
            "9F4F": bytes.fromhex("9A039F21035F2A029F02069F4E149C01"),
        },
    )


def _chip_discretionary(card: TestCard) -> str:
    return chip_track2_for(card).discretionary


def personalise(
    card: TestCard,
    profile: CardProfile | None = None,
    *,
    discretionary: str | Callable[[TestCard], str] = _chip_discretionary,
) -> CardImage:
    """Build the chip image of ``card`` (its ``emv_profile`` unless ``profile`` is given).

    ``discretionary`` is the track 2 equivalent discretionary data (a string, or a function
    of the card); by default the chip's (PVKI/PVV and iCVV, :func:`chip_track2_for`), which
    the issuer verifies with service code 999.
    """
    if profile is None:
        if card.emv_profile is None:
            raise ValueError(f"test card {card.name!r} has no chip (no emv_profile)")
        profile = profile_by_name(card.emv_profile)
    disc = discretionary(card) if callable(discretionary) else discretionary
    return _personalise(card, profile, disc)


@cache
def _personalise(card: TestCard, profile: CardProfile, discretionary: str) -> CardImage:
    apps = tuple(_application(card, profile, app, discretionary) for app in profile.applications)
    contact_apps = [a for a in apps if a.profile.contact]
    entries = [
        _template("61", ("4F", a.aid), ("50", _ans(a.profile.label)), ("87", bytes([a.profile.priority])))
        for a in contact_apps
    ]
    pse_records = {(1, 1): _template("70", *entries)} if profile.pse and entries else {}
    pse_fci = (
        _template("6F", ("84", b"1PAY.SYS.DDF01"), _template("A5", ("88", b"\x01"), ("5F2D", b"zhen")))
        if pse_records
        else None
    )
    ppse_entries = [
        _template("61", ("4F", a.aid), ("50", _ans(a.profile.label)), ("87", bytes([a.profile.priority])))
        for a in apps
        if a.profile.contactless
    ]
    ppse_fci = _template("6F", ("84", b"2PAY.SYS.DDF01"), _template("A5", _template("BF0C", *ppse_entries)))
    psn = card.psn
    return CardImage(
        name=card.name,
        pan=card.pan,
        psn=psn,
        pin=card.pin,
        interfaces=tuple(i for i in card.interfaces if i in ("chip", "contactless")),
        applications=apps,
        pse_records=pse_records,
        ppse_fci=ppse_fci,
        pse_fci=pse_fci,
        icc_private_key=icc_key(),
        mk_ac=derive_icc_master_key(TEST_IMK_AC, card.pan, psn, option=ICC_MASTER_KEY_OPTION),
        mk_smi=derive_icc_master_key(TEST_IMK_SMI, card.pan, psn, option=ICC_MASTER_KEY_OPTION),
        mk_smc=derive_icc_master_key(TEST_IMK_SMC, card.pan, psn, option=ICC_MASTER_KEY_OPTION),
    )
