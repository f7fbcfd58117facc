"""The issuer simulator: card accounts, balances, holds, limits, card status and PIN tries.

It answers like a real issuer would, behind the acquirer host: each decision runs
inside the host's durable write job (one database transaction), with the account
row locked, so concurrent authorisations on one card can never overspend it.
PIN correctness is established by the HSM before the job (PVV / IBM 3624 offset,
never a stored clear PIN); the job applies the try counter.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from poskit.cards.magstripe import ICVV_SERVICE_CODE
from poskit.cards.track2 import ServiceCode, Track2
from poskit.crypto.errors import CryptoError
from poskit.crypto.hsm import SoftHSM
from poskit.store.schema import issuer_accounts, issuer_cards

__all__ = [
    "CVV_OFFSET",
    "IssuerCard",
    "IssuerDecision",
    "PinCheck",
    "authorize_debit",
    "check_card_state",
    "check_track_data",
    "find_card",
    "restore_funds",
]


class PinCheck:
    """Outcome of the HSM's PIN verification for one request."""

    ABSENT = "absent"
    CORRECT = "correct"
    WRONG = "wrong"


@dataclasses.dataclass(frozen=True, slots=True)
class IssuerCard:
    id: int
    account_id: int
    name: str
    psn: str
    expiry: str
    service_code: str
    status: str
    pin_method: str
    pvki: str
    pin_verification_value: str
    pin_tries: int
    pin_try_limit: int
    last_online_atc: int | None


@dataclasses.dataclass(frozen=True, slots=True)
class IssuerDecision:
    response_code: str
    reason: str
    card_id: int | None = None
    account_id: int | None = None
    balance: int | None = None  # available balance after the decision

    @property
    def approved(self) -> bool:
        return self.response_code == "00"


def find_card(conn: Connection, pan_hash: str) -> IssuerCard | None:
    row = conn.execute(select(issuer_cards).where(issuer_cards.c.pan_hash == pan_hash)).mappings().first()
    if row is None:
        return None
    return IssuerCard(**{f.name: row[f.name] for f in dataclasses.fields(IssuerCard)})


def check_card_state(
    card: IssuerCard, *, presented_expiry: str | None, now: datetime
) -> IssuerDecision | None:
    """Status and expiry checks that do not depend on the amount; None when the card may proceed."""
    if card.status == "lost":
        return IssuerDecision("41", "card reported lost", card.id, card.account_id)
    if card.status == "stolen":
        return IssuerDecision("43", "card reported stolen", card.id, card.account_id)
    if card.status != "active":
        return IssuerDecision("62", f"card {card.status}", card.id, card.account_id)
    current = now.strftime("%y%m")
    if card.expiry < current:
        return IssuerDecision("54", f"card expired {card.expiry}", card.id, card.account_id)
    if presented_expiry and presented_expiry != card.expiry:
        return IssuerDecision(
            "54", "expiry date does not match the issuer's record", card.id, card.account_id
        )
    return None


#: Where this issuer writes the CVV in track 2 discretionary data: after PVKI (1) and PVV (4).
CVV_OFFSET = 5


def check_track_data(
    hsm: SoftHSM,
    cvk: str,
    card: IssuerCard,
    track: Track2 | None,
    *,
    pan: str,
    swiped: bool,
    fallback: bool,
    chip_read: bool,
) -> IssuerDecision | None:
    """Card authentication from the track: service code against the record, then CVV or iCVV.

    ``swiped`` is a magstripe read (swipe or fallback), ``chip_read`` a chip read whose field 35
    is the chip's track 2 equivalent. None when the track proves the card (or none is required).
    """
    if swiped and track is None:
        return IssuerDecision("30", "magstripe entry without track 2", card.id, card.account_id)
    if swiped and ServiceCode(card.service_code).chip_card and not fallback:
        return IssuerDecision("45", "chip card read by magstripe without fallback", card.id, card.account_id)
    if track is None or not (swiped or chip_read):
        return None
    if track.service_code != card.service_code:
        return IssuerDecision(
            "05", "service code does not match the issuer's record", card.id, card.account_id
        )
    cvv = track.discretionary[CVV_OFFSET : CVV_OFFSET + 3]
    service = ICVV_SERVICE_CODE if chip_read else card.service_code
    try:
        ok = len(cvv) == 3 and hsm.verify_cvv(pan, track.expiry, service, cvv, cvk=cvk)
    except CryptoError:
        ok = False
    if not ok:
        kind = "iCVV" if chip_read else "CVV"
        return IssuerDecision("05", f"{kind} does not verify", card.id, card.account_id)
    return None


def _apply_pin(conn: Connection, card: IssuerCard, pin: str, pin_required: bool) -> IssuerDecision | None:
    if pin == PinCheck.ABSENT:
        if pin_required:
            return IssuerDecision("55", "PIN required but not entered", card.id, card.account_id)
        return None
    if card.pin_tries >= card.pin_try_limit:
        return IssuerDecision("75", "PIN tries exceeded", card.id, card.account_id)
    if pin == PinCheck.WRONG:
        tries = card.pin_tries + 1
        conn.execute(update(issuer_cards).where(issuer_cards.c.id == card.id).values(pin_tries=tries))
        code = "75" if tries >= card.pin_try_limit else "55"
        return IssuerDecision(
            code, f"wrong PIN ({tries} of {card.pin_try_limit} tries)", card.id, card.account_id
        )
    if card.pin_tries:
        conn.execute(update(issuer_cards).where(issuer_cards.c.id == card.id).values(pin_tries=0))
    return None


def authorize_debit(
    conn: Connection,
    card: IssuerCard,
    *,
    amount: int,
    currency: str,
    pin: str,
    pin_required: bool,
    issuer_day: str,
    presented_expiry: str | None,
    now: datetime,
    hold: bool = False,
) -> IssuerDecision:
    """Decide a purchase (or a pre-authorisation hold) and move the funds if approved."""
    state = check_card_state(card, presented_expiry=presented_expiry, now=now)
    if state is not None:
        return state
    pin_decision = _apply_pin(conn, card, pin, pin_required)
    if pin_decision is not None:
        return pin_decision
    account = (
        conn.execute(select(issuer_accounts).where(issuer_accounts.c.id == card.account_id).with_for_update())
        .mappings()
        .one()
    )
    if account["currency"] != currency:
        return IssuerDecision(
            "13",
            f"account currency {account['currency']} differs from {currency}",
            card.id,
            card.account_id,
            account["balance"],
        )
    spent = account["daily_spent"] if account["daily_date"] == issuer_day else 0
    if account["daily_limit"] is not None and spent + amount > account["daily_limit"]:
        return IssuerDecision("61", "daily limit exceeded", card.id, card.account_id, account["balance"])
    if amount > account["balance"]:
        return IssuerDecision("51", "insufficient funds", card.id, card.account_id, account["balance"])
    values: dict[str, object] = {
        "balance": account["balance"] - amount,
        "daily_spent": spent + amount,
        "daily_date": issuer_day,
    }
    if hold:
        values["holds"] = account["holds"] + amount
    conn.execute(update(issuer_accounts).where(issuer_accounts.c.id == card.account_id).values(**values))
    return IssuerDecision("00", "approved", card.id, card.account_id, account["balance"] - amount)


def restore_funds(
    conn: Connection, account_id: int, *, amount: int, issuer_day: str, release_hold: bool = False
) -> int:
    """Give ``amount`` back to the account (reversal, void, refund); returns the new balance."""
    account = (
        conn.execute(select(issuer_accounts).where(issuer_accounts.c.id == account_id).with_for_update())
        .mappings()
        .one()
    )
    values: dict[str, object] = {"balance": account["balance"] + amount}
    if account["daily_date"] == issuer_day:
        values["daily_spent"] = max(0, account["daily_spent"] - amount)
    if release_hold:
        values["holds"] = max(0, account["holds"] - amount)
    conn.execute(update(issuer_accounts).where(issuer_accounts.c.id == account_id).values(**values))
    return int(account["balance"]) + amount
