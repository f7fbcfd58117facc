"""The terminal app's language: the ``terminal`` gettext domain, switchable at runtime.

Screen texts are message ids in English (``poskit/locale/<locale>/LC_MESSAGES/terminal.po``).
The engine speaks English; its messages are translated when the catalog has them,
either exactly or through a template such as ``"Amount {ccy} {amount} — confirm?"``
whose placeholders match the variable parts.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

from babel.messages.pofile import read_po

from poskit.i18n import catalog_path, normalise_locale, translator
from poskit.iso8583.response_codes import response_text
from poskit.money import Amount

__all__ = ["DOMAIN", "UiText"]

DOMAIN = "terminal"
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


@functools.cache
def _templates(locale: str) -> tuple[tuple[re.Pattern[str], str], ...]:
    """Catalog entries with ``{name}`` placeholders, as patterns matching filled-in English."""
    out: list[tuple[re.Pattern[str], str]] = []
    path = catalog_path(DOMAIN, locale)
    if not path.exists():
        return ()
    with path.open("rb") as fh:
        ids = [m.id for m in read_po(fh, locale=locale, domain=DOMAIN) if isinstance(m.id, str) and m.string]
    for msgid in ids:
        if not _PLACEHOLDER.search(msgid):
            continue
        pattern = ""
        last = 0
        for match in _PLACEHOLDER.finditer(msgid):
            pattern += re.escape(msgid[last : match.start()]) + f"(?P<{match.group(1)}>.+?)"
            last = match.end()
        pattern += re.escape(msgid[last:])
        out.append((re.compile(f"^{pattern}$", re.DOTALL), msgid))
    # most specific first: "Operator {op} signed in" before "Operator {op}"
    out.sort(key=lambda item: -len(_PLACEHOLDER.sub("", item[1])))
    return tuple(out)


class UiText:
    """``text(msgid, **values)`` in the current locale; ``set_locale`` switches at runtime."""

    def __init__(self, locale: str = "en") -> None:
        self.locale = "en"
        self._gettext: Callable[[str], str] = translator(DOMAIN, "en")
        self.set_locale(locale)

    def set_locale(self, locale: str) -> None:
        self.locale = normalise_locale(locale)
        self._gettext = translator(DOMAIN, self.locale)

    @property
    def chinese(self) -> bool:
        return self.locale == "zh_CN"

    def __call__(self, message: str, **values: object) -> str:
        text = self._gettext(message)
        return text.format(**values) if values else text

    def engine(self, text: str) -> str:
        """An engine message in the current language (English when the catalog lacks it)."""
        translated = self._gettext(text)
        if translated != text or not self.chinese:
            return translated
        for pattern, msgid in _templates(self.locale):
            match = pattern.match(text)
            if match:
                parts = {k: self.engine(v) for k, v in match.groupdict().items()}
                return self._gettext(msgid).format(**parts)
        return text

    def response(self, code: str) -> str:
        """The response code's text (field 39) in the current language."""
        return response_text(code, "zh" if self.chinese else "en")

    def amount(self, amount: Amount) -> str:
        return f"{amount.currency.code} {amount.grouped()}"
