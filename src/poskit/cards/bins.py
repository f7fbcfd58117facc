"""A BIN (issuer identification number) table: scheme, funding and issuing country by prefix.

The acquirer needs to know, for each card, the card scheme (routing, receipt
"card organisation"), whether it is debit or credit and whether it is domestic or
foreign: the merchant's fee depends on all three.
"""

from __future__ import annotations

import dataclasses

__all__ = ["BIN_TABLE", "BinInfo", "lookup_bin"]


@dataclasses.dataclass(frozen=True, slots=True)
class BinInfo:
    prefix: str
    scheme: str  # unionpay | visa | mastercard | verve | jcb | amex
    funding: str  # debit | credit | prepaid
    country: str  # ISO 3166 numeric of the issuer, e.g. "156" China
    issuer: str
    card_organisation: str  # field 63.1 code printed on receipts: CUP, VIS, MCC, JCB, AMX
    institution: str = ""  # issuing institution code (field 44.1, 发卡行), when the range has one

    def issuer_code(self, pan: str) -> str:
        """Field 44's issuer code: the institution code, else the card's 6-digit IIN (ISO/IEC 7812)."""
        return self.institution or pan[:6]

    def origin(self, acquirer_country: str) -> str:
        """``domestic`` when issued in the acquirer's country, else ``foreign``."""
        return "domestic" if self.country == acquirer_country else "foreign"


#: Longest prefix wins. Entries cover poskit's test-card book and common ranges.
BIN_TABLE: tuple[BinInfo, ...] = (
    BinInfo("622202", "unionpay", "debit", "156", "ICBC", "CUP", "01020000"),
    BinInfo("621700", "unionpay", "debit", "156", "China Construction Bank", "CUP", "01050000"),
    BinInfo("621483", "unionpay", "debit", "156", "China Merchants Bank", "CUP", "03080000"),
    BinInfo("622848", "unionpay", "debit", "156", "Agricultural Bank of China", "CUP", "01030000"),
    BinInfo("625094", "unionpay", "credit", "156", "UnionPay test issuer", "CUP"),
    BinInfo("622588", "unionpay", "credit", "156", "China Merchants Bank", "CUP", "03080000"),
    BinInfo("628888", "unionpay", "credit", "156", "UnionPay test issuer", "CUP"),
    BinInfo("623456", "unionpay", "debit", "156", "UnionPay test issuer", "CUP"),
    BinInfo("62", "unionpay", "debit", "156", "UnionPay", "CUP"),
    BinInfo("496009", "visa", "debit", "566", "Nigerian Visa test issuer", "VIS"),
    BinInfo("539923", "mastercard", "debit", "566", "Nigerian Mastercard test issuer", "MCC"),
    BinInfo("476173", "visa", "credit", "840", "Visa test issuer", "VIS"),
    BinInfo("4", "visa", "credit", "840", "Visa", "VIS"),
    BinInfo("555555", "mastercard", "credit", "840", "Mastercard test issuer", "MCC"),
    BinInfo("51", "mastercard", "credit", "840", "Mastercard", "MCC"),
    BinInfo("52", "mastercard", "credit", "840", "Mastercard", "MCC"),
    BinInfo("53", "mastercard", "credit", "840", "Mastercard", "MCC"),
    BinInfo("54", "mastercard", "credit", "840", "Mastercard", "MCC"),
    BinInfo("55", "mastercard", "credit", "840", "Mastercard", "MCC"),
    BinInfo("2", "mastercard", "credit", "840", "Mastercard", "MCC"),
    BinInfo("506099", "verve", "debit", "566", "Interswitch Verve test issuer", "VRV"),
    BinInfo("35", "jcb", "credit", "392", "JCB", "JCB"),
    BinInfo("34", "amex", "credit", "840", "American Express", "AMX"),
    BinInfo("37", "amex", "credit", "840", "American Express", "AMX"),
)

_UNKNOWN = BinInfo("", "unknown", "credit", "000", "unknown issuer", "UNK")


def lookup_bin(pan: str) -> BinInfo:
    """The longest matching BIN entry for ``pan`` (unknown ranges count as foreign credit)."""
    best = _UNKNOWN
    for info in BIN_TABLE:
        if pan.startswith(info.prefix) and len(info.prefix) > len(best.prefix):
            best = info
    return best
