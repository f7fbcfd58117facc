"""Chart of accounts: stable codes for the acquirer's ledger accounts.

Codes are ``<kind>:<currency>`` for pooled accounts and
``<kind>:<merchant_no>:<currency>`` for per-merchant ones, so a reader of the
ledger sees what an account is without a join.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection

from poskit.store.db import inserted_id
from poskit.store.schema import ledger_accounts

__all__ = [
    "AccountKind",
    "AccountRef",
    "acquirer_adjustments",
    "acquirer_fee_income",
    "dispute_holds",
    "ensure_account",
    "issuer_settlement",
    "merchant_payable",
    "network_fees",
    "payouts_clearing",
    "preauth_holds",
]


class AccountKind:
    ASSET = "asset"
    LIABILITY = "liability"
    INCOME = "income"
    EXPENSE = "expense"


@dataclasses.dataclass(frozen=True, slots=True)
class AccountRef:
    code: str
    kind: str
    name: str
    currency: str
    merchant_id: int | None = None


def issuer_settlement(currency: str) -> AccountRef:
    """What card issuers (through the network) owe us for approved sales."""
    return AccountRef(
        f"issuer_settlement:{currency}", AccountKind.ASSET, "Issuer settlement receivable", currency
    )


def merchant_payable(merchant_id: int, merchant_no: str, currency: str) -> AccountRef:
    """What we owe one merchant (net of fees) until it is paid out."""
    return AccountRef(
        f"merchant_payable:{merchant_no}:{currency}",
        AccountKind.LIABILITY,
        f"Merchant payable {merchant_no}",
        currency,
        merchant_id,
    )


def acquirer_fee_income(currency: str) -> AccountRef:
    return AccountRef(f"acquirer_fee_income:{currency}", AccountKind.INCOME, "Acquirer fee income", currency)


def acquirer_adjustments(currency: str) -> AccountRef:
    """What the acquirer gives back outside a fee refund (upheld transaction disputes)."""
    return AccountRef(
        f"acquirer_adjustments:{currency}", AccountKind.EXPENSE, "Merchant adjustments", currency
    )


def network_fees(currency: str) -> AccountRef:
    return AccountRef(f"network:{currency}", AccountKind.EXPENSE, "Network and interchange fees", currency)


def preauth_holds(currency: str) -> AccountRef:
    return AccountRef(f"preauth_holds:{currency}", AccountKind.LIABILITY, "Pre-authorisation holds", currency)


def dispute_holds(merchant_id: int, merchant_no: str, currency: str) -> AccountRef:
    return AccountRef(
        f"dispute_holds:{merchant_no}:{currency}",
        AccountKind.LIABILITY,
        f"Dispute holds {merchant_no}",
        currency,
        merchant_id,
    )


def payouts_clearing(currency: str) -> AccountRef:
    return AccountRef(f"payouts:{currency}", AccountKind.ASSET, "Payouts clearing (bank)", currency)


def ensure_account(conn: Connection, ref: AccountRef, *, now: datetime | None = None) -> int:
    """The id of the account with ``ref.code``, creating it on first use."""
    found = conn.execute(select(ledger_accounts.c.id).where(ledger_accounts.c.code == ref.code)).scalar()
    if found is not None:
        return int(found)
    result = conn.execute(
        insert(ledger_accounts).values(
            code=ref.code,
            kind=ref.kind,
            name=ref.name,
            currency=ref.currency,
            merchant_id=ref.merchant_id,
            created_at=now or datetime.now(UTC),
        )
    )
    return inserted_id(result)
