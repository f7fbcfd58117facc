"""Terminal EMV parameters: what a TMS downloads to a terminal (AIDs, TACs, limits, CA keys).

:class:`TerminalConfig` carries the terminal data objects (9F33, 9F40, 9F35, 9F1A, 5F2A,
9F1C, 9F16, 9F15, 9F4E, 9F1E), the supported applications with their priorities,
application selection indicator, TACs, floor limits and random-selection parameters, the
contactless limits and the CA public keys. Two factories give ready terminals:
:meth:`TerminalConfig.china` (UnionPay-style, CNY/156, QPS 1000.00 no-CVM limit) and
:meth:`TerminalConfig.nigeria` (NGN/566); :meth:`TerminalConfig.for_terminal` picks one by
region and fills the terminal and merchant identifiers.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Literal

from poskit.emv.capk import (
    RID_MASTERCARD,
    RID_UNIONPAY,
    RID_VERVE,
    RID_VISA,
    CaKeyStore,
    load_test_ca_store,
)

__all__ = [
    "INTERNATIONAL_AIDS",
    "REGION_RIDS",
    "UNIONPAY_AIDS",
    "VERVE_AIDS",
    "AidConfig",
    "ConfigError",
    "ContactlessLimits",
    "RandomSelection",
    "TerminalConfig",
]


class ConfigError(ValueError):
    """A terminal parameter with a bad value."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"terminal config {field}: {reason}")
        self.field = field
        self.reason = reason


def _hex(value: str, size: int, field: str) -> bytes:
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        raise ConfigError(field, f"{value!r} is not hex") from None
    if len(raw) != size:
        raise ConfigError(field, f"{len(raw)} bytes, expected {size}")
    return raw


@dataclasses.dataclass(frozen=True, slots=True)
class RandomSelection:
    """Book 3 §10.6.2 random transaction selection (percentages 0-99, threshold in minor units)."""

    target_percent: int = 0
    max_target_percent: int = 0
    threshold: int = 0


@dataclasses.dataclass(frozen=True, slots=True)
class ContactlessLimits:
    """Reader limits per AID (PBOC DF19/DF20/DF21), minor units.

    * ``transaction_limit``: amounts at or above it are refused ("please insert or swipe");
    * ``cvm_required_limit``: amounts above it need a CVM (QPS: up to this amount no PIN and
      no signature; UnionPay's "≤ 1000 CNY" is inclusive, unlike EMV Entry Point's ``≥``);
    * ``floor_limit``: amounts above it need an online cryptogram (0: always online).
    """

    transaction_limit: int | None = 1_000_000
    cvm_required_limit: int = 100_000
    floor_limit: int = 0


@dataclasses.dataclass(frozen=True, slots=True)
class AidConfig:
    """One application the terminal supports."""

    aid: str  # hex
    label: str
    priority: int = 0  # terminal ordering for list-of-AIDs selection (lower first)
    partial_selection: bool = True  # ASI: partial name match allowed
    application_version: str = "0030"  # 9F09
    tac_denial: str = "0010000000"
    tac_online: str = "D84004F800"
    tac_default: str = "D84000A800"
    floor_limit: int = 0  # minor units
    random_selection: RandomSelection = RandomSelection()
    default_ddol: str = "9F3704"
    default_tdol: str = ""
    contact: bool = True
    contactless: bool = True
    contactless_limits: ContactlessLimits = ContactlessLimits()

    def __post_init__(self) -> None:
        _hex(self.aid, len(self.aid) // 2, "aid")
        if not 5 <= len(self.aid) // 2 <= 16:
            raise ConfigError("aid", f"{self.aid} must be 5-16 bytes")
        for name in ("tac_denial", "tac_online", "tac_default"):
            _hex(getattr(self, name), 5, name)

    @property
    def aid_bytes(self) -> bytes:
        return bytes.fromhex(self.aid)

    @property
    def rid(self) -> str:
        return self.aid[:10].upper()


UNIONPAY_AIDS: tuple[AidConfig, ...] = (
    AidConfig("A000000333010101", "UnionPay Debit", priority=1),
    AidConfig("A000000333010102", "UnionPay Credit", priority=2),
    AidConfig("A000000333010103", "UnionPay Quasi Credit", priority=3),
)

INTERNATIONAL_AIDS: tuple[AidConfig, ...] = (
    AidConfig(
        "A0000000031010",
        "VISA",
        priority=4,
        application_version="008C",
        tac_online="DC4004F800",
        tac_default="DC4000A800",
    ),
    AidConfig(
        "A0000000041010",
        "MASTERCARD",
        priority=5,
        application_version="0002",
        tac_denial="0000000000",
        tac_online="FC50BCF800",
        tac_default="FC50BCA000",
        contactless=False,
    ),
)

VERVE_AIDS: tuple[AidConfig, ...] = (
    AidConfig(
        "A0000003710001",
        "Verve",
        priority=1,
        application_version="0001",
        tac_online="DC4004F800",
        tac_default="DC4000A800",
        contactless=False,
    ),
)


@dataclasses.dataclass(frozen=True, slots=True)
class TerminalConfig:
    terminal_capabilities: str = "E0F8C8"  # 9F33: IC+magstripe+manual; PIN/sig/no CVM; SDA/DDA/CDA
    additional_capabilities: str = "6000F0A001"  # 9F40
    terminal_type: str = "22"  # 9F35: attended, online with offline capability
    country_code: str = "0156"  # 9F1A
    currency_code: str = "0156"  # 5F2A
    currency_exponent: int = 2  # 5F36
    terminal_id: str = "00000001"  # 9F1C (an 8)
    merchant_id: str = "000000000000001"  # 9F16 (ans 15)
    merchant_category_code: str = "5411"  # 9F15
    merchant_name_location: str = "POSKIT TEST MERCHANT"  # 9F4E
    ifd_serial_number: str = "POSKIT01"  # 9F1E (an 8)
    acquirer_id: str = "000000001234"  # 9F01 (n 6-11)
    aids: tuple[AidConfig, ...] = UNIONPAY_AIDS + INTERNATIONAL_AIDS
    ca_keys: CaKeyStore = dataclasses.field(default_factory=load_test_ca_store)
    use_pse: bool = True
    online_capable: bool = True
    exception_file: frozenset[str] = frozenset()  # hot-list PANs
    contactless_enabled: bool = True
    contactless_signature: bool = False  # QPS terminals in China do not take signatures
    fallback_after_failures: int = 3  # chip read failures before a swipe is accepted

    def __post_init__(self) -> None:
        _hex(self.terminal_capabilities, 3, "terminal_capabilities")
        _hex(self.additional_capabilities, 5, "additional_capabilities")
        _hex(self.country_code, 2, "country_code")
        _hex(self.currency_code, 2, "currency_code")
        if len(self.terminal_id) != 8:
            raise ConfigError("terminal_id", "must be 8 characters (9F1C an 8)")
        if not self.acquirer_id.isdigit() or len(self.acquirer_id) > 12:
            raise ConfigError("acquirer_id", "must be up to 12 digits (9F01 n 6-11)")
        if not self.merchant_category_code.isdigit() or len(self.merchant_category_code) != 4:
            raise ConfigError("merchant_category_code", "must be 4 digits (9F15)")
        if not self.terminal_type.isdigit() or len(self.terminal_type) != 2:
            raise ConfigError("terminal_type", "must be 2 digits (9F35)")
        if not self.aids:
            raise ConfigError("aids", "at least one application is needed")

    # 9F33 byte 2 / byte 3 ----------------------------------------------------------------
    @property
    def capabilities(self) -> bytes:
        return bytes.fromhex(self.terminal_capabilities)

    @property
    def supports_offline_plaintext_pin(self) -> bool:
        return bool(self.capabilities[1] & 0x80)

    @property
    def supports_online_pin(self) -> bool:
        return bool(self.capabilities[1] & 0x40)

    @property
    def supports_signature(self) -> bool:
        return bool(self.capabilities[1] & 0x20)

    @property
    def supports_offline_enciphered_pin(self) -> bool:
        return bool(self.capabilities[1] & 0x10)

    @property
    def supports_sda(self) -> bool:
        return bool(self.capabilities[2] & 0x80)

    @property
    def supports_dda(self) -> bool:
        return bool(self.capabilities[2] & 0x40)

    @property
    def supports_cda(self) -> bool:
        return bool(self.capabilities[2] & 0x08)

    def aid(self, aid: str) -> AidConfig | None:
        """The terminal entry matching a card AID exactly or (if its ASI allows) by prefix."""
        upper = aid.upper()
        exact = [a for a in self.aids if a.aid.upper() == upper]
        if exact:
            return exact[0]
        partial = [a for a in self.aids if a.partial_selection and upper.startswith(a.aid.upper())]
        return partial[0] if partial else None

    def replace(self, **changes: Any) -> TerminalConfig:
        return dataclasses.replace(self, **changes)

    # factories -------------------------------------------------------------------------
    @classmethod
    def china(cls, **overrides: Any) -> TerminalConfig:
        """A UnionPay-style attended POS in China: CNY, country 156, QPS no-CVM limit 1000.00."""
        qps_limit = overrides.pop("qps_no_cvm_limit", 100_000)
        transaction_limit = overrides.pop("contactless_transaction_limit", 1_000_000)
        limits = ContactlessLimits(
            transaction_limit=transaction_limit, cvm_required_limit=qps_limit, floor_limit=0
        )
        aids = tuple(
            dataclasses.replace(a, contactless_limits=limits) for a in UNIONPAY_AIDS + INTERNATIONAL_AIDS
        )
        base: dict[str, Any] = {"aids": aids}
        base.update(overrides)
        return cls(**base)

    @classmethod
    def nigeria(cls, **overrides: Any) -> TerminalConfig:
        """An attended POS in Nigeria: NGN 566, Verve + Visa + Mastercard, PIN-centric."""
        limits = ContactlessLimits(transaction_limit=1_500_000, cvm_required_limit=500_000, floor_limit=0)
        aids = tuple(
            dataclasses.replace(a, contactless_limits=limits) for a in VERVE_AIDS + INTERNATIONAL_AIDS
        )
        base: dict[str, Any] = {
            "country_code": "0566",
            "currency_code": "0566",
            "aids": aids,
            "merchant_name_location": "POSKIT TEST MERCHANT LAGOS NG",
        }
        base.update(overrides)
        return cls(**base)

    @classmethod
    def for_terminal(
        cls,
        region: Literal["CN", "NG"] = "CN",
        *,
        terminal_id: str = "00000001",
        merchant_id: str = "000000000000001",
        merchant_name_location: str | None = None,
        merchant_category_code: str = "5411",
        ca_keys: CaKeyStore | None = None,
        **overrides: Any,
    ) -> TerminalConfig:
        """The default config of a region with this terminal's and merchant's identifiers."""
        fields: dict[str, Any] = {
            "terminal_id": terminal_id,
            "merchant_id": merchant_id.ljust(15)[:15],
            "merchant_category_code": merchant_category_code,
            "ifd_serial_number": terminal_id,
        }
        if merchant_name_location is not None:
            fields["merchant_name_location"] = merchant_name_location
        if ca_keys is not None:
            fields["ca_keys"] = ca_keys
        fields.update(overrides)
        if region == "CN":
            return cls.china(**fields)
        if region == "NG":
            return cls.nigeria(**fields)
        raise ConfigError("region", f"{region!r}, expected 'CN' or 'NG'")


#: Which RIDs the factories cover (documentation and tests).
REGION_RIDS: Mapping[str, tuple[str, ...]] = {
    "CN": (RID_UNIONPAY, RID_VISA, RID_MASTERCARD),
    "NG": (RID_VERVE, RID_VISA, RID_MASTERCARD),
}
