"""Application selection (EMV Book 1 §12, Entry Point Book B for PPSE).

Contact: read the Payment System Environment (``1PAY.SYS.DDF01``) directory if the card
has one, else try each terminal AID with SELECT (partial selection where the terminal's
application selection indicator allows it). Candidates are ordered by the card's
Application Priority Indicator (``87``); the cardholder chooses when there are several
and the terminal can ask, and applications that require confirmation are dropped when it
cannot. Contactless: the PPSE (``2PAY.SYS.DDF01``) directory, highest priority wins.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

from poskit.emv.apdu import SW, read_record, select
from poskit.emv.config import TerminalConfig
from poskit.emv.tlv import Tlv, TlvError, decode, find, flatten
from poskit.emv.transport import ApduChannel

__all__ = [
    "PPSE_NAME",
    "PSE_NAME",
    "Candidate",
    "SelectionError",
    "candidates_from_aid_list",
    "candidates_from_ppse",
    "candidates_from_pse",
    "choose_and_select",
    "order_candidates",
]

PSE_NAME = b"1PAY.SYS.DDF01"
PPSE_NAME = b"2PAY.SYS.DDF01"


class SelectionError(Exception):
    """No application could be selected; ``card_blocked`` when the card said 6A81."""

    def __init__(self, reason: str, *, card_blocked: bool = False) -> None:
        super().__init__(f"application selection: {reason}")
        self.reason = reason
        self.card_blocked = card_blocked


@dataclasses.dataclass(frozen=True, slots=True)
class Candidate:
    """An application both the card and the terminal support."""

    aid: str  # the card's ADF name, hex
    label: str
    preferred_name: str | None = None
    priority: int | None = None  # 1 highest .. 15; None/0 no priority
    confirmation_required: bool = False
    terminal_order: int = 0

    @property
    def display_name(self) -> str:
        return self.preferred_name or self.label or self.aid


def _text(value: bytes | None) -> str:
    """Label text: ISO 8859 by the spec, but Chinese issuers write UTF-8 names; accept both."""
    if not value:
        return ""
    try:
        return value.decode("utf-8").strip()
    except UnicodeDecodeError:
        return value.decode("latin-1").strip()


def _candidate(entry: dict[str, bytes], aid: str, order: int) -> Candidate:
    api = entry.get("87")
    priority = (api[0] & 0x0F) or None if api else None
    return Candidate(
        aid=aid,
        label=_text(entry.get("50")),
        preferred_name=_text(entry.get("9F12")) or None,
        priority=priority,
        confirmation_required=bool(api and api[0] & 0x80),
        terminal_order=order,
    )


def candidate_from_fci(candidate: Candidate, fci: dict[str, bytes]) -> Candidate:
    """The candidate updated with the label, preferred name and priority of its own FCI."""
    label = _text(fci.get("50")) or candidate.label
    preferred = _text(fci.get("9F12")) or candidate.preferred_name
    return dataclasses.replace(candidate, label=label, preferred_name=preferred)


def _terminal_match(config: TerminalConfig, aid: str, *, contactless: bool) -> int | None:
    for i, entry in enumerate(config.aids):
        if contactless and not entry.contactless:
            continue
        if not contactless and not entry.contact:
            continue
        t = entry.aid.upper()
        if aid == t or (entry.partial_selection and aid.startswith(t)):
            return i
    return None


def _fci(data: bytes) -> list[Tlv]:
    try:
        items = decode(data)
    except TlvError:
        return []
    return items if items and items[0].tag == "6F" else []


def candidates_from_pse(channel: ApduChannel, config: TerminalConfig) -> list[Candidate] | None:
    """Candidates from the PSE directory, or None when the list of AIDs must be used."""
    response = channel.send(select(PSE_NAME))
    if response.sw == SW.FUNCTION_NOT_SUPPORTED:
        raise SelectionError("card blocked (6A81)", card_blocked=True)
    if not response.ok:
        return None
    sfi_tlv = find(_fci(response.data), "88")
    if sfi_tlv is None or len(sfi_tlv.value) != 1:
        return None
    sfi = sfi_tlv.value[0]
    found: list[Candidate] = []
    for record in range(1, 32):
        rec = channel.send(read_record(sfi, record))
        if rec.sw == SW.RECORD_NOT_FOUND:
            break
        if not rec.ok:
            return None
        try:
            items = decode(rec.data)
        except TlvError:
            return None
        if not items or items[0].tag != "70":
            return None
        for entry in items[0].children:
            if entry.tag != "61":
                continue
            values = flatten(entry.children)
            aid = values.get("4F", b"").hex().upper()
            order = _terminal_match(config, aid, contactless=False)
            if aid and order is not None:
                found.append(_candidate(values, aid, order))
    return found


def candidates_from_aid_list(channel: ApduChannel, config: TerminalConfig) -> list[Candidate]:
    """Book 1 §12.3.3: SELECT each terminal AID, following partial matches with P2=02."""
    found: list[Candidate] = []
    for order, entry in enumerate(config.aids):
        if not entry.contact:
            continue
        wanted = entry.aid.upper()
        response = channel.send(select(entry.aid_bytes))
        for _ in range(16):
            if response.sw == SW.FUNCTION_NOT_SUPPORTED:
                raise SelectionError("card blocked (6A81)", card_blocked=True)
            if not (response.ok or response.sw == SW.WARNING_SELECTED_FILE_INVALIDATED):
                break
            fci = _fci(response.data)
            values = flatten(fci)
            df_name = values.get("84", b"").hex().upper()
            matches = df_name == wanted or (entry.partial_selection and df_name.startswith(wanted))
            if response.ok and matches and all(c.aid != df_name for c in found):
                found.append(_candidate(values, df_name, order))
            if df_name == wanted:
                break  # exact match: no further occurrences to look for
            response = channel.send(select(entry.aid_bytes, next_occurrence=True))
    return found


def candidates_from_ppse(channel: ApduChannel, config: TerminalConfig) -> list[Candidate]:
    """Entry Point: the PPSE directory entries the terminal supports for contactless."""
    response = channel.send(select(PPSE_NAME))
    if not response.ok:
        return []
    fci = _fci(response.data)
    directory = find(fci, "BF0C")
    found: list[Candidate] = []
    if directory is None:
        return found
    for entry in directory.children:
        if entry.tag != "61":
            continue
        values = flatten(entry.children)
        aid = values.get("4F", b"").hex().upper()
        order = _terminal_match(config, aid, contactless=True)
        if aid and order is not None:
            found.append(_candidate(values, aid, order))
    return found


def order_candidates(candidates: Sequence[Candidate]) -> list[Candidate]:
    """Highest priority (1) first, unprioritised last, then the terminal's own order."""
    return sorted(candidates, key=lambda c: (c.priority is None, c.priority or 0, c.terminal_order))


def choose_and_select(
    channel: ApduChannel,
    candidates: Sequence[Candidate],
    choose: Callable[[Sequence[Candidate]], int] | None,
) -> tuple[Candidate, list[Tlv]]:
    """Pick an application (cardholder choice if possible) and SELECT it; a candidate the
    card refuses on final selection is removed and the choice repeated (Book 1 §12.4)."""
    remaining = order_candidates(candidates)
    if choose is None:
        remaining = [c for c in remaining if not c.confirmation_required or len(remaining) == 1]
    while remaining:
        if choose is not None and (len(remaining) > 1 or remaining[0].confirmation_required):
            index = choose(remaining)
            if not 0 <= index < len(remaining):
                raise SelectionError("the cardholder cancelled application selection")
            chosen = remaining[index]
        else:
            chosen = remaining[0]
        response = channel.send(select(bytes.fromhex(chosen.aid)))
        fci = _fci(response.data)
        if response.ok and fci:
            return chosen, fci
        remaining.remove(chosen)
    raise SelectionError("no application both the card and the terminal support")
