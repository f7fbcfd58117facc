"""Money: integer minor units plus an ISO 4217 currency.

Amounts never touch ``float``. They are parsed from operator input ("12.50"),
carried as integer minor units (fen, kobo, cents) exactly as ISO 8583 field 4
carries them, and formatted for people with Babel.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache

import iso4217
from babel.numbers import format_currency

__all__ = [
    "Amount",
    "AmountError",
    "Currency",
    "CurrencyError",
    "currency",
    "parse_amount",
]


class CurrencyError(ValueError):
    """An unknown or malformed ISO 4217 currency code."""

    def __init__(self, code: str) -> None:
        super().__init__(f"unknown currency {code!r}: expected an ISO 4217 code such as CNY or 156")
        self.code = code


class AmountError(ValueError):
    """Operator or wire input that is not a valid amount."""

    def __init__(self, text: str, reason: str, **params: int | str) -> None:
        shown = reason.format(**params) if params else reason
        super().__init__(f"invalid amount {text!r}: {shown}")
        self.text = text
        self.reason = shown
        #: The reason as a message id with its parameters, for a UI to translate.
        self.message_id = reason
        self.params: dict[str, int | str] = dict(params)


@dataclasses.dataclass(frozen=True, slots=True)
class Currency:
    """An ISO 4217 currency: alphabetic code, numeric code and minor-unit exponent."""

    code: str
    numeric: str
    exponent: int
    name: str

    def __str__(self) -> str:
        return self.code


@cache
def currency(code: str | int) -> Currency:
    """Look up a currency by alphabetic (``"CNY"``) or numeric (``"156"``, ``156``) code."""
    text = str(code).strip().upper()
    try:
        if text.isdigit():
            number = int(text)
            for item in iso4217.Currency:
                if item.number == number:
                    return _from_iso(item)
            raise CurrencyError(str(code))
        return _from_iso(iso4217.Currency(text))
    except ValueError as exc:
        if isinstance(exc, CurrencyError):
            raise
        raise CurrencyError(str(code)) from None


def _from_iso(item: iso4217.Currency) -> Currency:
    if item.number is None:
        raise CurrencyError(item.code)
    exponent = item.exponent if item.exponent is not None else 0
    return Currency(code=item.code, numeric=f"{item.number:03d}", exponent=exponent, name=item.currency_name)


_AMOUNT_RE = re.compile(r"^\s*(\d{1,15})(?:\.(\d*))?\s*$")


@dataclasses.dataclass(frozen=True, slots=True, order=True)
class Amount:
    """A non-negative or signed amount in integer minor units of one currency."""

    minor: int
    currency: Currency = dataclasses.field(compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.minor, int) or isinstance(self.minor, bool):
            raise TypeError("Amount.minor must be an int of minor units")

    # construction -------------------------------------------------------------
    @classmethod
    def of(cls, minor: int, code: str | int | Currency) -> Amount:
        cur = code if isinstance(code, Currency) else currency(code)
        return cls(minor, cur)

    @classmethod
    def parse(cls, text: str, code: str | int | Currency) -> Amount:
        """Parse operator input such as ``"12.5"`` or ``"1000"`` (major units)."""
        cur = code if isinstance(code, Currency) else currency(code)
        return cls(parse_amount(text, cur.exponent), cur)

    @classmethod
    def from_field4(cls, digits: str, code: str | int | Currency) -> Amount:
        """Decode ISO 8583 field 4 (n12, minor units)."""
        if not digits.isdigit() or len(digits) > 12:
            raise AmountError(digits, "field 4 must be up to 12 digits of minor units")
        cur = code if isinstance(code, Currency) else currency(code)
        return cls(int(digits), cur)

    # representation -----------------------------------------------------------
    def to_field4(self) -> str:
        if self.minor < 0 or self.minor > 999_999_999_999:
            raise AmountError(str(self.minor), "does not fit field 4 (0..999999999999 minor units)")
        return f"{self.minor:012d}"

    @property
    def decimal(self) -> Decimal:
        return Decimal(self.minor).scaleb(-self.currency.exponent)

    def plain(self) -> str:
        """Major units with the currency's decimals, e.g. ``1234.50``."""
        exp = self.currency.exponent
        sign = "-" if self.minor < 0 else ""
        whole, frac = divmod(abs(self.minor), 10**exp) if exp else (abs(self.minor), 0)
        return f"{sign}{whole}.{frac:0{exp}d}" if exp else f"{sign}{whole}"

    def grouped(self) -> str:
        """Major units with thousands separators, e.g. ``1,234.50`` (locale-neutral)."""
        exp = self.currency.exponent
        sign = "-" if self.minor < 0 else ""
        whole, frac = divmod(abs(self.minor), 10**exp) if exp else (abs(self.minor), 0)
        return f"{sign}{whole:,}.{frac:0{exp}d}" if exp else f"{sign}{whole:,}"

    def format(self, locale: str = "en") -> str:
        """Localised display: ``¥1,234.50`` in zh_CN, ``CN¥1,234.50`` in en."""
        return format_currency(self.decimal, self.currency.code, locale=_babel_locale(locale))

    def __str__(self) -> str:
        return f"{self.currency.code} {self.plain()}"

    # arithmetic (same currency only) ------------------------------------------
    def _check(self, other: Amount) -> None:
        if self.currency != other.currency:
            raise CurrencyError(f"{self.currency.code} vs {other.currency.code}")

    def __add__(self, other: Amount) -> Amount:
        self._check(other)
        return Amount(self.minor + other.minor, self.currency)

    def __sub__(self, other: Amount) -> Amount:
        self._check(other)
        return Amount(self.minor - other.minor, self.currency)

    def __neg__(self) -> Amount:
        return Amount(-self.minor, self.currency)

    def is_zero(self) -> bool:
        return self.minor == 0

    def percent(self, rate: Decimal, *, rounding: str = ROUND_HALF_UP) -> Amount:
        """``rate`` percent of this amount, rounded to a whole minor unit."""
        value = (Decimal(self.minor) * rate / Decimal(100)).quantize(Decimal(1), rounding=rounding)
        return Amount(int(value), self.currency)

    def allocate(self, weights: Sequence[int]) -> list[Amount]:
        """Split by integer weights with the largest-remainder method; parts sum to the whole."""
        if not weights or any(w < 0 for w in weights) or sum(weights) == 0:
            raise ValueError("weights must be non-negative and not all zero")
        total = sum(weights)
        raw = [self.minor * w for w in weights]
        parts = [r // total for r in raw]
        remainder = self.minor - sum(parts)
        order = sorted(range(len(weights)), key=lambda i: raw[i] % total, reverse=True)
        for i in order[:remainder]:
            parts[i] += 1
        return [Amount(p, self.currency) for p in parts]


def parse_amount(text: str, exponent: int = 2) -> int:
    """Parse a major-unit decimal string into integer minor units.

    >>> parse_amount("12.5")
    1250
    """
    match = _AMOUNT_RE.match(text)
    if not match:
        raise AmountError(text, "expected digits with an optional decimal point, e.g. 12.50")
    whole, frac = match.group(1), match.group(2) or ""
    if len(frac) > exponent:
        raise AmountError(text, "more than {exponent} decimal places", exponent=exponent)
    try:
        value = Decimal(f"{whole}.{frac or '0'}").scaleb(exponent)
    except InvalidOperation:  # pragma: no cover - regex already guarantees digits
        raise AmountError(text, "not a number") from None
    minor = int(value.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
    if minor > 999_999_999_999:
        raise AmountError(text, "too large")
    return minor


def _babel_locale(locale: str) -> str:
    return {"zh": "zh_CN", "zh-CN": "zh_CN", "zh_cn": "zh_CN", "en": "en_US"}.get(locale, locale)
