"""Chip profiles of the test-card book (``TestCard.emv_profile``) and attack profiles.

A profile is what an issuer's personalisation bureau decides for a card product: which
applications (AIDs) the chip carries, their AIP, CVM list, issuer action codes,
application usage control, offline limits, PIN try limit, CTQ, currency, and how issuer
authentication is done. The card-specific data (PAN, expiry, PIN, keys, certificates) come
from the card book at personalisation (:mod:`poskit.cards.icc.personalise`).

Attack profiles model the rogue devices of Basin et al. (IEEE S&P 2021, USENIX Security
2021): a man in the middle relaying a genuine card while changing data that no
cryptogram covers. They reuse the PAN (and keys) of a genuine card of the book, so the
host recognises the card and its checks have something to catch.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Literal

from poskit.cards.book import TestCard, UnknownCardError, card_by_name
from poskit.emv.dol import encode_dol

__all__ = [
    "ATTACK_CARDS",
    "ATTACK_PROFILES",
    "CDOL1",
    "CDOL2",
    "CDOL2_WITH_ARPC",
    "CONTACTLESS_PDOL",
    "DDOL",
    "PROFILES",
    "ApplicationProfile",
    "CardProfile",
    "any_card",
    "attack_card",
    "profile_by_name",
]

#: CCD-style CDOL1: the cryptogram input tags plus terminal type, DAC, ICC number, CVM results.
CDOL1 = encode_dol(
    [
        ("9F02", 6),
        ("9F03", 6),
        ("9F1A", 2),
        ("95", 5),
        ("5F2A", 2),
        ("9A", 3),
        ("9C", 1),
        ("9F37", 4),
        ("9F35", 1),
        ("9F45", 2),
        ("9F4C", 8),
        ("9F34", 3),
    ]
)
CDOL2 = encode_dol(
    [
        ("8A", 2),
        ("9F02", 6),
        ("9F03", 6),
        ("9F1A", 2),
        ("95", 5),
        ("5F2A", 2),
        ("9A", 3),
        ("9C", 1),
        ("9F37", 4),
    ]
)
#: M/Chip style: the issuer authentication data travels in the second GENERATE AC.
CDOL2_WITH_ARPC = CDOL2 + encode_dol([("91", 10)])
#: qPBOC/qVSDC PDOL: the TTQ and every terminal tag of the cryptogram input.
CONTACTLESS_PDOL = encode_dol(
    [
        ("9F66", 4),
        ("9F02", 6),
        ("9F03", 6),
        ("9F1A", 2),
        ("95", 5),
        ("5F2A", 2),
        ("9A", 3),
        ("9C", 1),
        ("9F37", 4),
    ]
)
DDOL = encode_dol([("9F37", 4)])


def _cvm(*rules: str, x: int = 0, y: int = 0) -> str:
    return f"{x:08X}{y:08X}" + "".join(rules)


@dataclasses.dataclass(frozen=True, slots=True)
class ApplicationProfile:
    """One application (ADF) on the chip."""

    aid: str
    label: str
    priority: int = 1
    preferred_name: str | None = None
    aip: str = "7C00"  # SDA, DDA, CVM, TRM, issuer authentication
    contactless_aip: str = "2000"
    cvm_list: str = _cvm("4203", "1E03", "1F03")
    auc: str = "FF00"  # valid everywhere for goods, services, cash
    iac_default: str = "D84000A800"
    iac_denial: str = "0010000000"
    iac_online: str = "D84004F800"
    version: str = "0030"
    currency: str = "0156"  # 9F42
    country: str = "0156"  # 5F28
    lower_offline_limit: int | None = None  # 9F14 (None: card never approves offline)
    upper_offline_limit: int | None = None  # 9F23
    pin_try_limit: int = 3
    ctq: str = "8000"  # online PIN required when a CVM is required
    contact: bool = True
    contactless: bool = True
    contact_pdol: str | None = None
    gpo_format: Literal[1, 2] = 1
    ac_format: Literal[1, 2] = 1
    issuer_auth: Literal["external_authenticate", "cdol2"] = "external_authenticate"
    require_issuer_authentication: bool = False
    consumer_device_cvm: bool = False  # a phone wallet verifying the holder on the device
    # attack behaviours (rogue device in the middle)
    lie_ctq: str | None = None  # CTQ shown to the reader instead of the real one
    lie_aip: str | None = None  # AIP shown in the GPO response; the ARQC covers the real one
    verify_always_ok: bool = False  # answers VERIFY 9000 without checking the PIN

    @property
    def aid_bytes(self) -> bytes:
        return bytes.fromhex(self.aid)

    @property
    def cdol2(self) -> bytes:
        return CDOL2_WITH_ARPC if self.issuer_auth == "cdol2" else CDOL2

    def personalised_aip(self, interface: Literal["contact", "contactless"]) -> bytes:
        """The AIP the issuer wrote for this interface (what the host's checks expect)."""
        return bytes.fromhex(self.aip if interface == "contact" else self.contactless_aip)


@dataclasses.dataclass(frozen=True, slots=True)
class CardProfile:
    name: str
    applications: tuple[ApplicationProfile, ...]
    pse: bool = True
    effective_date: str = "200101"  # YYMMDD
    description: str = ""

    def application(self, aid: str) -> ApplicationProfile:
        for app in self.applications:
            if app.aid.upper() == aid.upper():
                return app
        raise KeyError(f"profile {self.name} has no application {aid}")


_UP_DEBIT = ApplicationProfile("A000000333010101", "UnionPay Debit", preferred_name="银联借记卡")
_UP_CREDIT = ApplicationProfile(
    "A000000333010102",
    "UnionPay Credit",
    priority=1,
    preferred_name="银联贷记卡",
    aip="7D00",  # + CDA
    cvm_list=_cvm("4203", "5E03", "1F03"),  # PIN optional: bypass falls to signature
    contact_pdol=encode_dol([("9F1A", 2), ("5F2A", 2), ("9F37", 4)]).hex().upper(),
    gpo_format=2,
    ac_format=2,
    lower_offline_limit=0,
    upper_offline_limit=0,
)
_VISA = ApplicationProfile(
    "A0000000031010",
    "VISA CREDIT",
    preferred_name="Visa Credit",
    aip="5C00",  # SDA, CVM, TRM, issuer authentication
    cvm_list=_cvm("4403", "4103", "4203", "1E03", "1F03"),
    iac_default="DC4000A800",
    iac_online="DC4004F800",
    version="008C",
    currency="0840",
    country="0840",
    lower_offline_limit=3,
    upper_offline_limit=5,
)
_MASTERCARD = ApplicationProfile(
    "A0000000041010",
    "MASTERCARD",
    preferred_name="Mastercard",
    aip="3900",  # DDA, CVM, TRM, CDA; issuer authentication inside the 2nd GENERATE AC
    cvm_list=_cvm("4103", "4203", "1E03", "1F03"),
    iac_default="B050BC8000",
    iac_denial="0000000000",
    iac_online="B470BC9800",
    version="0002",
    currency="0840",
    country="0840",
    contactless=False,
    ac_format=2,
    gpo_format=2,
    issuer_auth="cdol2",
    require_issuer_authentication=True,
    contact_pdol=encode_dol([("9F1A", 2), ("9F37", 4)]).hex().upper(),
)
_VERVE = ApplicationProfile(
    "A0000003710001",
    "Verve",
    preferred_name="Verve Debit",
    cvm_list=_cvm("4203", "4403", "0103"),  # PIN always: online, else offline PIN
    version="0001",
    currency="0566",
    country="0566",
    contactless=False,
)

#: Visa and Mastercard issued in Nigeria: NGN, PIN-centric like every Nigerian card.
_VISA_NG = dataclasses.replace(
    _VISA,
    preferred_name="Visa Debit",
    label="VISA DEBIT",
    cvm_list=_VERVE.cvm_list,
    currency="0566",
    country="0566",
)
_MASTERCARD_NG = dataclasses.replace(
    _MASTERCARD, preferred_name="Debit Mastercard", cvm_list=_VERVE.cvm_list, currency="0566", country="0566"
)

PROFILES: Mapping[str, CardProfile] = {
    p.name: p
    for p in (
        CardProfile("unionpay-debit", (_UP_DEBIT,), description="PBOC debit, DDA, online PIN"),
        CardProfile(
            "unionpay-credit",
            (dataclasses.replace(_UP_DEBIT, priority=2), _UP_CREDIT),
            description="debit + credit applications, CDA on the credit one",
        ),
        CardProfile("visa-credit", (_VISA,), description="VSDC, SDA, offline enciphered PIN"),
        CardProfile(
            "mastercard-credit",
            (_MASTERCARD,),
            description="M/Chip style: CDA, offline plaintext PIN, ARPC in CDOL2",
        ),
        CardProfile(
            "quickpass-phone",
            (dataclasses.replace(_UP_DEBIT, contact=False, ctq="0000", consumer_device_cvm=True),),
            pse=False,
            description="mobile wallet: contactless only, device CVM",
        ),
        CardProfile("expired-card", (_UP_DEBIT,), description="expired application"),
        CardProfile("low-balance", (_UP_DEBIT,), description="UnionPay debit, low balance"),
        CardProfile("verve-ngn", (_VERVE,), description="Verve debit in NGN, PIN always"),
        CardProfile("visa-ngn", (_VISA_NG,), description="Visa debit issued in Nigeria, NGN, PIN"),
        CardProfile(
            "mastercard-ngn", (_MASTERCARD_NG,), description="Mastercard debit issued in Nigeria, NGN, PIN"
        ),
    )
}

ATTACK_PROFILES: Mapping[str, CardProfile] = {
    p.name: p
    for p in (
        # Basin et al. 2021 (Visa PIN bypass): CTQ rewritten to "consumer device CVM performed".
        CardProfile(
            "attack-ctq-cdcvm",
            (dataclasses.replace(_UP_DEBIT, lie_ctq="0080"),),
            description="relays unionpay-debit, CTQ claims device CVM",
        ),
        # Card brand mix-up (USENIX Security 2021): a Mastercard shown under the Visa AID.
        CardProfile(
            "attack-brand-mixup",
            (dataclasses.replace(_MASTERCARD, aid="A0000000031010", label="VISA"),),
            description="relays mastercard-credit under the Visa AID",
        ),
        # A device in the middle answering VERIFY itself (offline PIN "accepted").
        CardProfile(
            "attack-verify-bypass",
            (dataclasses.replace(_VISA, verify_always_ok=True),),
            description="relays visa-credit, fakes the offline PIN check",
        ),
        # AIP rewritten in the GPO response: CDA/DDA and issuer authentication switched off.
        CardProfile(
            "attack-aip-downgrade",
            (dataclasses.replace(_MASTERCARD, lie_aip="1800"),),
            description="relays mastercard-credit with CDA removed from the AIP",
        ),
    )
}

_ATTACK_VICTIMS = {
    "attack-ctq-cdcvm": "unionpay-debit",
    "attack-brand-mixup": "mastercard-credit",
    "attack-verify-bypass": "visa-credit",
    "attack-aip-downgrade": "mastercard-credit",
}

#: Test cards for the attack profiles: the victim card's data under the attack's name.
ATTACK_CARDS: tuple[TestCard, ...] = tuple(
    dataclasses.replace(
        card_by_name(victim), name=name, emv_profile=name, description=ATTACK_PROFILES[name].description
    )
    for name, victim in _ATTACK_VICTIMS.items()
)


def profile_by_name(name: str) -> CardProfile:
    """A book profile or an attack profile."""
    profile = PROFILES.get(name) or ATTACK_PROFILES.get(name)
    if profile is None:
        known = ", ".join([*PROFILES, *ATTACK_PROFILES])
        raise KeyError(f"no chip profile named {name!r}; known: {known}")
    return profile


def attack_card(name: str) -> TestCard:
    for card in ATTACK_CARDS:
        if card.name == name:
            return card
    raise UnknownCardError(name)


def any_card(name: str) -> TestCard:
    """A card of the book, or an attack card."""
    try:
        return card_by_name(name)
    except UnknownCardError:
        return attack_card(name)
