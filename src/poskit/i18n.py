"""Translations (Babel gettext catalogs) for the portal, the terminal and the CLI.

Catalogs live as ``.po`` files in ``poskit/locale/<locale>/LC_MESSAGES/<domain>.po``
(domains: ``portal``, ``terminal``) and are read directly with Babel, so no compile
step is needed. Message ids are English; a missing translation falls back to the id.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.messages.pofile import read_po

__all__ = [
    "LOCALES",
    "catalog_path",
    "ngettext_translator",
    "normalise_locale",
    "translator",
    "tries_left_text",
]

LOCALES = ("en", "zh_CN")
_DIR = Path(__file__).parent / "locale"


def normalise_locale(value: str | None, default: str = "en") -> str:
    """Map ``zh``, ``zh-CN``, ``zh_cn``, ``en-US`` ... to a supported locale."""
    if not value:
        return default
    text = value.strip().replace("-", "_")
    try:
        parsed = Locale.parse(text)
    except (ValueError, UnknownLocaleError):
        return default
    if parsed.language == "zh":
        return "zh_CN"
    if parsed.language == "en":
        return "en"
    return default


def catalog_path(domain: str, locale: str) -> Path:
    return _DIR / locale / "LC_MESSAGES" / f"{domain}.po"


@functools.cache
def _messages(domain: str, locale: str) -> dict[str, str | tuple[str, ...]]:
    path = catalog_path(domain, locale)
    if not path.exists():
        return {}
    with path.open("rb") as fh:
        catalog = read_po(fh, locale=locale, domain=domain)
    out: dict[str, str | tuple[str, ...]] = {}
    for message in catalog:
        if not message.id or not message.string or message.fuzzy:
            continue
        key = message.id[0] if isinstance(message.id, tuple | list) else message.id
        value = message.string
        out[str(key)] = tuple(value) if isinstance(value, tuple | list) else str(value)
    return out


def translator(domain: str, locale: str) -> Callable[[str], str]:
    """A ``gettext``-style function for ``domain`` in ``locale``."""
    messages = _messages(domain, normalise_locale(locale))

    def gettext(message: str) -> str:
        value = messages.get(message)
        if isinstance(value, tuple):
            return value[0] or message
        return value or message

    return gettext


def ngettext_translator(domain: str, locale: str) -> Callable[[str, str, int], str]:
    messages = _messages(domain, normalise_locale(locale))

    def ngettext(singular: str, plural: str, n: int) -> str:
        value = messages.get(singular)
        if isinstance(value, tuple) and value:
            return value[0] if n == 1 or len(value) == 1 else value[1]
        if isinstance(value, str) and value:
            return value
        return singular if n == 1 else plural

    return ngettext


def tries_left_text(tries: int) -> str:
    """``1 try left`` / ``3 tries left``: the English count the catalogs translate."""
    return "1 try left" if tries == 1 else f"{tries} tries left"
