"""Per-request language and formatting for the portal (gettext domain ``portal`` + Babel).

The user's language is remembered on their account (``portal_users.locale``); before
login it lives in the session. Money, numbers and dates are formatted by Babel in
that language, and times are shown in the acquirer's time zone (where the daily
cut-off is), never in the server's.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime, format_time
from babel.numbers import format_decimal, format_percent

from poskit.i18n import LOCALES, normalise_locale, translator
from poskit.money import Amount

__all__ = ["DEFAULT_TIMEZONE", "LANGUAGE_NAMES", "PortalLocale", "portal_locale"]

#: Each language named in itself, for the switcher.
LANGUAGE_NAMES = {"en": "English", "zh_CN": "简体中文"}
DEFAULT_TIMEZONE = "Asia/Shanghai"


@dataclasses.dataclass(frozen=True)
class PortalLocale:
    """Translation and formatting in one language and time zone."""

    code: str
    tz: ZoneInfo
    gettext: Callable[[str], str]

    @property
    def babel(self) -> str:
        return "zh_CN" if self.code == "zh_CN" else "en"

    @property
    def html_lang(self) -> str:
        return "zh-CN" if self.code == "zh_CN" else "en"

    def money(self, minor: int | None, currency_code: str) -> str:
        return Amount.of(minor or 0, currency_code).format(self.babel)

    def plain(self, minor: int | None, currency_code: str) -> str:
        """Major units without symbol or grouping, for form fields: ``1234.50``."""
        return Amount.of(minor or 0, currency_code).plain()

    def amount(self, amount: Amount) -> str:
        return amount.format(self.babel)

    def number(self, value: int | Decimal) -> str:
        return format_decimal(value, locale=self.babel)

    def percent(self, value: Decimal | float | None, digits: int = 1) -> str:
        if value is None:
            return "–"
        return format_percent(value, format="#,##0." + "0" * digits + "%", locale=self.babel)

    def local(self, value: dt.datetime) -> dt.datetime:
        return value.astimezone(self.tz)

    def datetime(self, value: dt.datetime | None, fmt: str = "medium") -> str:
        if value is None:
            return "–"
        return format_datetime(value, fmt, tzinfo=self.tz, locale=self.babel)

    def date(self, value: dt.date | dt.datetime | None, fmt: str = "medium") -> str:
        if value is None:
            return "–"
        if isinstance(value, dt.datetime):
            value = value.astimezone(self.tz).date()
        return format_date(value, fmt, locale=self.babel)

    def time(self, value: dt.datetime | None) -> str:
        if value is None:
            return "–"
        return format_time(value, "HH:mm:ss", tzinfo=self.tz, locale=self.babel)


def portal_locale(code: str | None, timezone: str | None = None) -> PortalLocale:
    """The portal's translations and formats for ``code`` (``en``/``zh_CN``; others fall back)."""
    normalised = normalise_locale(code)
    if normalised not in LOCALES:  # pragma: no cover - normalise_locale only returns known ones
        normalised = "en"
    return PortalLocale(normalised, ZoneInfo(timezone or DEFAULT_TIMEZONE), translator("portal", normalised))
