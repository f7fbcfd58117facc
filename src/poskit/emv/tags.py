"""The EMV data element dictionary: one table, one row per tag (EMV Book 3 Annex A, Book 4,
PBOC/qPBOC and contactless kernel additions).

Each row gives the name, the format (``b`` binary, ``n`` numeric BCD, ``cn`` compressed
numeric, ``an``/``ans`` text), where the value comes from (``card``, ``terminal``,
``issuer``) and whether it is sensitive cardholder data that traces and logs must hide.
DOL processing takes the format from here (padding and truncation depend on it).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Literal

__all__ = ["TAGS", "Format", "Source", "TagInfo", "is_sensitive", "tag_format", "tag_info", "tag_name"]

Format = Literal["b", "n", "cn", "an", "ans"]
Source = Literal["card", "terminal", "issuer"]


@dataclasses.dataclass(frozen=True, slots=True)
class TagInfo:
    tag: str
    name: str
    format: Format
    source: Source
    sensitive: bool = False


_ROWS: tuple[tuple[str, str, Format, Source, bool], ...] = (
    # tag, name, format, source, sensitive
    ("42", "Issuer Identification Number (IIN)", "n", "card", False),
    ("4F", "Application Identifier (AID) - card", "b", "card", False),
    ("50", "Application Label", "ans", "card", False),
    ("56", "Track 1 Data", "ans", "card", True),
    ("57", "Track 2 Equivalent Data", "b", "card", True),
    ("5A", "Application Primary Account Number (PAN)", "cn", "card", True),
    ("5F20", "Cardholder Name", "ans", "card", True),
    ("5F24", "Application Expiration Date", "n", "card", False),
    ("5F25", "Application Effective Date", "n", "card", False),
    ("5F28", "Issuer Country Code", "n", "card", False),
    ("5F2A", "Transaction Currency Code", "n", "terminal", False),
    ("5F2D", "Language Preference", "an", "card", False),
    ("5F30", "Service Code", "n", "card", False),
    ("5F34", "Application PAN Sequence Number", "n", "card", False),
    ("5F36", "Transaction Currency Exponent", "n", "terminal", False),
    ("5F50", "Issuer URL", "ans", "card", False),
    ("5F53", "International Bank Account Number (IBAN)", "b", "card", True),
    ("5F54", "Bank Identifier Code (BIC)", "b", "card", False),
    ("61", "Application Template", "b", "card", False),
    ("6F", "File Control Information (FCI) Template", "b", "card", False),
    ("70", "READ RECORD Response Message Template", "b", "card", False),
    ("71", "Issuer Script Template 1", "b", "issuer", False),
    ("72", "Issuer Script Template 2", "b", "issuer", False),
    ("73", "Directory Discretionary Template", "b", "card", False),
    ("77", "Response Message Template Format 2", "b", "card", False),
    ("80", "Response Message Template Format 1", "b", "card", False),
    ("81", "Amount, Authorised (Binary)", "b", "terminal", False),
    ("82", "Application Interchange Profile", "b", "card", False),
    ("83", "Command Template", "b", "terminal", False),
    ("84", "Dedicated File (DF) Name", "b", "card", False),
    ("86", "Issuer Script Command", "b", "issuer", False),
    ("87", "Application Priority Indicator", "b", "card", False),
    ("88", "Short File Identifier (SFI)", "b", "card", False),
    ("89", "Authorisation Code", "ans", "issuer", False),
    ("8A", "Authorisation Response Code", "an", "issuer", False),
    ("8C", "Card Risk Management Data Object List 1 (CDOL1)", "b", "card", False),
    ("8D", "Card Risk Management Data Object List 2 (CDOL2)", "b", "card", False),
    ("8E", "Cardholder Verification Method (CVM) List", "b", "card", False),
    ("8F", "Certification Authority Public Key Index", "b", "card", False),
    ("90", "Issuer Public Key Certificate", "b", "card", False),
    ("91", "Issuer Authentication Data", "b", "issuer", False),
    ("92", "Issuer Public Key Remainder", "b", "card", False),
    ("93", "Signed Static Application Data", "b", "card", False),
    ("94", "Application File Locator (AFL)", "b", "card", False),
    ("95", "Terminal Verification Results", "b", "terminal", False),
    ("97", "Transaction Certificate Data Object List (TDOL)", "b", "card", False),
    ("98", "Transaction Certificate (TC) Hash Value", "b", "terminal", False),
    ("99", "Transaction Personal Identification Number (PIN) Data", "b", "terminal", True),
    ("9A", "Transaction Date", "n", "terminal", False),
    ("9B", "Transaction Status Information", "b", "terminal", False),
    ("9C", "Transaction Type", "n", "terminal", False),
    ("9D", "Directory Definition File (DDF) Name", "b", "card", False),
    ("9F01", "Acquirer Identifier", "n", "terminal", False),
    ("9F02", "Amount, Authorised (Numeric)", "n", "terminal", False),
    ("9F03", "Amount, Other (Numeric)", "n", "terminal", False),
    ("9F04", "Amount, Other (Binary)", "b", "terminal", False),
    ("9F05", "Application Discretionary Data", "b", "card", False),
    ("9F06", "Application Identifier (AID) - terminal", "b", "terminal", False),
    ("9F07", "Application Usage Control", "b", "card", False),
    ("9F08", "Application Version Number - card", "b", "card", False),
    ("9F09", "Application Version Number - terminal", "b", "terminal", False),
    ("9F0B", "Cardholder Name Extended", "ans", "card", True),
    ("9F0D", "Issuer Action Code - Default", "b", "card", False),
    ("9F0E", "Issuer Action Code - Denial", "b", "card", False),
    ("9F0F", "Issuer Action Code - Online", "b", "card", False),
    ("9F10", "Issuer Application Data", "b", "card", False),
    ("9F11", "Issuer Code Table Index", "n", "card", False),
    ("9F12", "Application Preferred Name", "ans", "card", False),
    ("9F13", "Last Online Application Transaction Counter (ATC) Register", "b", "card", False),
    ("9F14", "Lower Consecutive Offline Limit", "b", "card", False),
    ("9F15", "Merchant Category Code", "n", "terminal", False),
    ("9F16", "Merchant Identifier", "ans", "terminal", False),
    ("9F17", "Personal Identification Number (PIN) Try Counter", "b", "card", False),
    ("9F18", "Issuer Script Identifier", "b", "issuer", False),
    ("9F1A", "Terminal Country Code", "n", "terminal", False),
    ("9F1B", "Terminal Floor Limit", "b", "terminal", False),
    ("9F1C", "Terminal Identification", "an", "terminal", False),
    ("9F1D", "Terminal Risk Management Data", "b", "terminal", False),
    ("9F1E", "Interface Device (IFD) Serial Number", "an", "terminal", False),
    ("9F1F", "Track 1 Discretionary Data", "ans", "card", True),
    ("9F20", "Track 2 Discretionary Data", "cn", "card", True),
    ("9F21", "Transaction Time", "n", "terminal", False),
    ("9F22", "Certification Authority Public Key Index - terminal", "b", "terminal", False),
    ("9F23", "Upper Consecutive Offline Limit", "b", "card", False),
    ("9F26", "Application Cryptogram", "b", "card", False),
    ("9F27", "Cryptogram Information Data", "b", "card", False),
    ("9F2A", "Kernel Identifier", "b", "card", False),
    ("9F2D", "ICC PIN Encipherment Public Key Certificate", "b", "card", False),
    ("9F2E", "ICC PIN Encipherment Public Key Exponent", "b", "card", False),
    ("9F2F", "ICC PIN Encipherment Public Key Remainder", "b", "card", False),
    ("9F32", "Issuer Public Key Exponent", "b", "card", False),
    ("9F33", "Terminal Capabilities", "b", "terminal", False),
    ("9F34", "Cardholder Verification Method (CVM) Results", "b", "terminal", False),
    ("9F35", "Terminal Type", "n", "terminal", False),
    ("9F36", "Application Transaction Counter (ATC)", "b", "card", False),
    ("9F37", "Unpredictable Number", "b", "terminal", False),
    ("9F38", "Processing Options Data Object List (PDOL)", "b", "card", False),
    ("9F39", "Point-of-Service (POS) Entry Mode", "n", "terminal", False),
    ("9F3A", "Amount, Reference Currency", "b", "terminal", False),
    ("9F3B", "Application Reference Currency", "n", "card", False),
    ("9F3C", "Transaction Reference Currency Code", "n", "terminal", False),
    ("9F3D", "Transaction Reference Currency Exponent", "n", "terminal", False),
    ("9F40", "Additional Terminal Capabilities", "b", "terminal", False),
    ("9F41", "Transaction Sequence Counter", "n", "terminal", False),
    ("9F42", "Application Currency Code", "n", "card", False),
    ("9F43", "Application Reference Currency Exponent", "n", "card", False),
    ("9F44", "Application Currency Exponent", "n", "card", False),
    ("9F45", "Data Authentication Code", "b", "card", False),
    ("9F46", "ICC Public Key Certificate", "b", "card", False),
    ("9F47", "ICC Public Key Exponent", "b", "card", False),
    ("9F48", "ICC Public Key Remainder", "b", "card", False),
    ("9F49", "Dynamic Data Authentication Data Object List (DDOL)", "b", "card", False),
    ("9F4A", "Static Data Authentication Tag List", "b", "card", False),
    ("9F4B", "Signed Dynamic Application Data", "b", "card", False),
    ("9F4C", "ICC Dynamic Number", "b", "card", False),
    ("9F4D", "Log Entry", "b", "card", False),
    ("9F4E", "Merchant Name and Location", "ans", "terminal", False),
    ("9F4F", "Log Format", "b", "card", False),
    ("9F51", "Application Currency Code (PBOC/VIS)", "n", "card", False),
    ("9F5B", "Issuer Script Results", "b", "terminal", False),
    ("9F5D", "Available Offline Spending Amount", "n", "card", False),
    ("9F63", "Card Product Identification Information", "b", "card", False),
    ("9F66", "Terminal Transaction Qualifiers (TTQ)", "b", "terminal", False),
    ("9F69", "Card Authentication Related Data", "b", "card", False),
    ("9F6B", "Track 2 Data (contactless)", "b", "card", True),
    ("9F6C", "Card Transaction Qualifiers (CTQ)", "b", "card", False),
    ("9F6E", "Form Factor Indicator / Third Party Data", "b", "card", False),
    ("9F74", "Electronic Cash Issuer Authorisation Code", "an", "card", False),
    ("9F79", "Electronic Cash Balance", "n", "card", False),
    ("9F7C", "Customer Exclusive Data", "b", "card", False),
    ("A5", "File Control Information (FCI) Proprietary Template", "b", "card", False),
    ("BF0C", "File Control Information (FCI) Issuer Discretionary Data", "b", "card", False),
    ("DF31", "Issuer Script Results (CUPS field 55)", "b", "terminal", False),
)

TAGS: Mapping[str, TagInfo] = {
    tag: TagInfo(tag, name, fmt, source, sensitive) for tag, name, fmt, source, sensitive in _ROWS
}


def tag_info(tag: str) -> TagInfo | None:
    """The dictionary row for ``tag`` (hex, any case), or None for proprietary/unknown tags."""
    return TAGS.get(tag.upper())


def tag_name(tag: str) -> str:
    info = tag_info(tag)
    return info.name if info else f"unknown tag {tag.upper()}"


def tag_format(tag: str) -> Format:
    """The value format; unknown tags are treated as binary (Book 3 §5.4 pads them with zeros)."""
    info = tag_info(tag)
    return info.format if info else "b"


def is_sensitive(tag: str) -> bool:
    """True for cardholder data that must never appear in clear in logs or traces."""
    info = tag_info(tag)
    return info.sensitive if info else False
