"""The browser POS in the cashier's language.

Page labels come from the gettext domain ``pos``. The terminal engine speaks English;
its messages are translated with the ``terminal`` domain (shared with the TUI) and
then ``pos``, and the few messages that carry values (amounts, response texts,
tries left) are matched by pattern and rebuilt from a translated template. Anything
not translated is shown in English rather than hidden.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

from poskit.i18n import normalise_locale, translator
from poskit.iso8583.response_codes import RESPONSE_CODES

__all__ = ["PAGE_MESSAGES", "pos_translator"]

#: Engine messages with values in them: pattern -> message id with the same named fields.
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p), msgid)
    for p, msgid in (
        (
            r"^Amount (?P<currency>[A-Z]{3}) (?P<amount>[\d,.]+) — confirm\?$",
            "Amount {currency} {amount} — confirm?",
        ),
        (
            r"^(?P<currency>[A-Z]{3}) (?P<amount>[\d,.]+): swipe, insert or tap the card$",
            "{currency} {amount}: swipe, insert or tap the card",
        ),
        (r"^(?P<currency>[A-Z]{3}) (?P<amount>[\d,.]+)  Enter PIN$", "{currency} {amount}  Enter PIN"),
        (
            r"^(?P<currency>[A-Z]{3}) (?P<amount>[\d,.]+)  Enter PIN \(or bypass\)$",
            "{currency} {amount}  Enter PIN (or bypass)",
        ),
        (r"^Enter PIN \((?P<tries>\d+) tries left\)$", "Enter PIN ({tries} tries left)"),
        (r"^Enter PIN \(1 try left\)$", "Enter PIN (1 try left)"),
        (r"^Declined: (?P<reason>.+)$", "Declined: {reason}"),
        (r"^declined: (?P<reason>.+)$", "Declined: {reason}"),
        (r"^host (?P<host>\S+) reachable$", "host {host} reachable"),
        (
            r"^Cardholder: sign for (?P<currency>[A-Z]{3}) (?P<amount>[\d,.]+)$",
            "Cardholder: sign for {currency} {amount}",
        ),
        (r"^Balance: (?P<currency>[A-Z]{3}) (?P<amount>[\d,.-]+)$", "Balance: {currency} {amount}"),
        (r"^balance (?P<currency>[A-Z]{3}) (?P<amount>[\d,.-]+)$", "Balance: {currency} {amount}"),
        (r"^Operator (?P<operator>\d+) signed in$", "Operator {operator} signed in"),
        (r"^operator (?P<operator>\d+) signed in$", "Operator {operator} signed in"),
        (r"^voucher (?P<voucher>\d+) reprinted$", "Voucher {voucher} reprinted"),
        (r"^battery (?P<percent>\d+)%$", "battery {percent}%"),
    )
)

#: Strings the page's script needs, translated once per page.
PAGE_MESSAGES = (
    "Approved",
    "Declined",
    "Failed",
    "Press any key",
    "Enter = yes, Cancel = no",
    "Enter to confirm",
    "Enter with no digits to bypass",
    "PIN too short",
    "Present a card from the card book",
    "Sign here",
    "Clear",
    "Done",
    "Skip",
    "Tear off",
    "Scan for the e-receipt",
    "Connection lost: reload the page",
    "This terminal is open in another window",
    "Working...",
    "Menu",
    "online",
    "offline",
    "charging",
    "Operator",
    "not signed in",
    "Swipe",
    "Insert",
    "Tap",
    "Remove the card",
    "merchant copy",
    "cardholder copy",
    "Start a sale first",
    "Card slot empty",
    "Feature code",
    "The server is shutting down",
)


@functools.cache
def _response_texts_zh() -> dict[str, str]:
    return {entry.en: entry.zh for entry in RESPONSE_CODES.values()}


def pos_translator(locale: str | None) -> Callable[[str], str]:
    """Translate page labels and engine messages into ``locale`` (``en`` or ``zh_CN``)."""
    code = normalise_locale(locale)
    terminal = translator("terminal", code)
    pos = translator("pos", code)

    def translate(text: str) -> str:
        if code == "en" or not text:
            return text
        for gettext in (pos, terminal):
            done = gettext(text)
            if done != text:
                return done
        for pattern, msgid in _PATTERNS:
            match = pattern.match(text)
            if match is None:
                continue
            template = pos(msgid)
            if template == msgid:
                return text
            values = {k: _value(v) for k, v in match.groupdict().items()}
            try:
                return template.format(**values)
            except (KeyError, IndexError, ValueError):
                return text
        return text

    def _value(value: str) -> str:
        # A response text inside a message ("Declined: Insufficient funds") has its own table.
        head, sep, tail = value.partition(";")
        zh = _response_texts_zh().get(head.strip())
        if zh is not None:
            return zh + (sep + translate(tail.strip()) if sep else "")
        return translate(value) if value != value.upper() else value

    return translate
