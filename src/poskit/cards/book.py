"""The test-card book: poskit's public test cards.

Every card here is synthetic public test data (PANs pass Luhn; PINs are printed on
purpose). The issuer simulator personalises its accounts from this book (opening
balance, limits, status, PIN verification values), and the virtual card reader
presents these cards to the terminal. ``poskit cards`` is the only place that shows
the full test PAN.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from poskit.cards.bins import BinInfo, lookup_bin
from poskit.money import Amount

__all__ = ["CARD_BOOK", "TestCard", "UnknownCardError", "card_by_name", "iter_cards"]


class UnknownCardError(LookupError):
    """No card of that name in the card book."""

    def __init__(self, name: str) -> None:
        names = ", ".join(c.name for c in CARD_BOOK)
        super().__init__(f"no test card named {name!r}; the card book has: {names}")
        self.name = name


@dataclasses.dataclass(frozen=True, slots=True)
class TestCard:
    """One test card: what is printed on it, what its chip holds, how its issuer treats it."""

    __test__ = False  # not a pytest test class

    name: str
    pan: str
    funding: str  # debit | credit
    interfaces: tuple[str, ...]  # magstripe, chip, contactless
    pin: str
    balance: int  # opening balance (debit) or credit limit, minor units
    currency: str
    expiry: str  # YYMM
    service_code: str
    status: str = "active"  # active | blocked | lost | stolen
    psn: str = "01"
    daily_limit: int | None = None  # minor units per day, None for none
    pin_method: str = "visa-pvv"  # visa-pvv | ibm3624
    emv_profile: str | None = None  # name of the chip profile (poskit.cards.profiles)
    description: str = ""

    @property
    def bin(self) -> BinInfo:
        return lookup_bin(self.pan)

    @property
    def scheme(self) -> str:
        return self.bin.scheme

    @property
    def opening_balance(self) -> Amount:
        return Amount.of(self.balance, self.currency)

    def has(self, interface: str) -> bool:
        return interface in self.interfaces

    def __repr__(self) -> str:  # the book is public, but reprs still end up in logs
        return f"TestCard({self.name!r})"


_ALL = ("magstripe", "chip", "contactless")

CARD_BOOK: tuple[TestCard, ...] = (
    TestCard(
        "unionpay-debit",
        "6222021001123456789",
        "debit",
        _ALL,
        "123456",
        5_000_000,
        "CNY",
        "3012",
        "220",
        emv_profile="unionpay-debit",
        description="UnionPay debit, chip + QuickPass, online PIN (PVV)",
    ),
    TestCard(
        "unionpay-credit",
        "6250946000000016",
        "credit",
        _ALL,
        "111111",
        10_000_000,
        "CNY",
        "3106",
        "201",
        pin_method="ibm3624",
        emv_profile="unionpay-credit",
        description="UnionPay credit, chip + QuickPass, PIN optional (IBM 3624 offset)",
    ),
    TestCard(
        "magstripe-debit",
        "6217000012345670",
        "debit",
        ("magstripe",),
        "654321",
        800_000,
        "CNY",
        "2912",
        "120",
        description="magstripe-only domestic debit, PIN required",
    ),
    TestCard(
        "visa-credit",
        "4761739001010010",
        "credit",
        _ALL,
        "1234",
        3_000_000,
        "CNY",
        "3012",
        "201",
        emv_profile="visa-credit",
        description="foreign Visa credit (US issuer), chip + contactless",
    ),
    TestCard(
        "mastercard-credit",
        "5555555555554444",
        "credit",
        ("magstripe", "chip"),
        "4321",
        2_000_000,
        "CNY",
        "3008",
        "201",
        emv_profile="mastercard-credit",
        description="foreign Mastercard credit, chip",
    ),
    TestCard(
        "quickpass-phone",
        "6234560000000016",
        "debit",
        ("contactless",),
        "246810",
        1_000_000,
        "CNY",
        "3111",
        "220",
        emv_profile="quickpass-phone",
        description="UnionPay QuickPass mobile wallet, contactless only",
    ),
    TestCard(
        "expired-card",
        "6228480011002200332",
        "debit",
        ("magstripe",),
        "123456",
        500_000,
        "CNY",
        "2401",
        "120",
        emv_profile="expired-card",
        description="expired in January 2024: declined 54",
    ),
    TestCard(
        "blocked-card",
        "6225880012345675",
        "credit",
        ("magstripe",),
        "123456",
        500_000,
        "CNY",
        "3012",
        "101",
        status="blocked",
        description="blocked by the issuer: declined 62",
    ),
    TestCard(
        "lost-card",
        "6234567890123451",
        "debit",
        ("magstripe",),
        "123456",
        500_000,
        "CNY",
        "3012",
        "120",
        status="lost",
        description="reported lost: declined 41",
    ),
    TestCard(
        "stolen-card",
        "6214830000111122229",
        "debit",
        ("magstripe",),
        "123456",
        500_000,
        "CNY",
        "3012",
        "120",
        status="stolen",
        description="reported stolen: declined 43",
    ),
    TestCard(
        "low-balance",
        "6222021001998877663",
        "debit",
        ("magstripe",),
        "123456",
        1_000,
        "CNY",
        "3012",
        "120",
        emv_profile="low-balance",
        description="only 10.00 on the account: larger sales declined 51",
    ),
    TestCard(
        "daily-limit",
        "6288880000001235",
        "credit",
        ("magstripe",),
        "123456",
        10_000_000,
        "CNY",
        "3012",
        "101",
        daily_limit=50_000,
        description="500.00 daily limit: the sale that exceeds it is declined 61",
    ),
    TestCard(
        "verve-ngn",
        "5060990000000001231",
        "debit",
        ("magstripe", "chip"),
        "1111",
        10_000_000,
        "NGN",
        "3012",
        "601",
        emv_profile="verve-ngn",
        description="Nigerian Verve debit in NGN, PIN always",
    ),
    TestCard(
        "visa-ngn",
        "4960090000000019",
        "debit",
        ("magstripe", "chip"),
        "2580",
        25_000_000,
        "NGN",
        "3012",
        "201",
        emv_profile="visa-ngn",
        description="Visa debit issued in Nigeria, NGN, PIN",
    ),
    TestCard(
        "mastercard-ngn",
        "5399230000000019",
        "debit",
        ("magstripe", "chip"),
        "1357",
        25_000_000,
        "NGN",
        "3012",
        "201",
        emv_profile="mastercard-ngn",
        description="Mastercard debit issued in Nigeria, NGN, PIN",
    ),
)


def iter_cards() -> Iterator[TestCard]:
    return iter(CARD_BOOK)


def card_by_name(name: str) -> TestCard:
    for card in CARD_BOOK:
        if card.name == name:
            return card
    raise UnknownCardError(name)
