"""The demo world ``poskit up`` seeds: acquirers, merchants, terminals, operators, users and test cards.

``poskit up`` runs :func:`provision_demo` on every start; it only creates what is
missing, so data survives restarts.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection

from poskit import __version__
from poskit.cards.book import CARD_BOOK, TestCard
from poskit.config import Settings
from poskit.crypto.hsm import SoftHSM
from poskit.crypto.pan_protect import PanProtector
from poskit.host.security import (
    HostKeys,
    inject_terminal_master_key,
    open_host_database,
)
from poskit.ledger.demo import seed_demo_ledger
from poskit.ledger.fees import FeeRule, create_schedule
from poskit.passwords import hash_password
from poskit.portal.accounts import create_user
from poskit.store.db import WRITE, inserted_id
from poskit.store.schema import (
    acquirers,
    issuer_accounts,
    issuer_cards,
    merchants,
    operators,
    portal_users,
    terminals,
)
from poskit.store.schema_portal import support_contacts
from poskit.terminal.runtime import terminal_files
from poskit.terminal.secure_element import SecureElement
from poskit.tms.registry import provision_terminal_store, sync_operators

__all__ = [
    "DEMO_FEES",
    "DEMO_OPERATORS",
    "DEMO_USERS",
    "NIGERIA_ACQUIRER",
    "NIGERIA_FEES",
    "DemoSummary",
    "provision_demo",
    "seed_issuer_cards",
]

#: username -> (password, role, merchant_no or None). Demo credentials, printed by `poskit up`.
DEMO_USERS: dict[str, tuple[str, str, str | None]] = {
    "cafe": ("poskit-cafe-1", "merchant_owner", "898310058120001"),
    "cafe-staff": ("poskit-staff-1", "merchant_staff", "898310058120001"),
    "noodle": ("poskit-noodle-1", "merchant_owner", "898310058140002"),
    "acquirer": ("poskit-admin-1", "acquirer_admin", None),
    "reviewer": ("poskit-review-1", "acquirer_staff", None),
    "lagos": ("poskit-lagos-1", "merchant_owner", "898234058120003"),
    "lagos-staff": ("poskit-lagos-2", "merchant_staff", "898234058120003"),
    "acquirer-ng": ("poskit-admin-ng1", "acquirer_admin", None),
}
#: Demo users of an acquirer other than the Chinese one (username -> acquirer code).
_USER_ACQUIRER = {"acquirer-ng": "48020566"}
_CHINA_ACQUIRER = "48020000"

_MERCHANTS: list[dict[str, Any]] = [
    {
        "merchant_no": "898310058120001",
        "name": "快乐豆咖啡",
        "name_en": "Happy Bean Cafe",
        "mcc": "5812",
        "address": "上海市静安区南京西路88号 / 88 Nanjing West Road, Jing'an",
        "city": "Shanghai",
        "settlement_account": "31050161393600000001",
        "settlement_bank": "China Construction Bank, Shanghai",
        "currency": "CNY",
    },
    {
        "merchant_no": "898310058140002",
        "name": "幸运面馆",
        "name_en": "Lucky Noodle House",
        "mcc": "5814",
        "address": "上海市徐汇区漕溪北路201号 / 201 North Caoxi Road, Xuhui",
        "city": "Shanghai",
        "settlement_account": "31050161393600000002",
        "settlement_bank": "Bank of Shanghai",
        "currency": "CNY",
    },
]

#: terminal id -> (merchant no, dialect, MAC algorithm, model, location)
_TERMINALS = {
    "10000001": ("898310058120001", "cups", "cups-ecb", "poskit virtual P1", "counter 1"),
    "10000002": ("898310058120001", "cups", "x919", "poskit virtual P1", "counter 2"),
    "20000001": ("898310058140002", "cups", "cups-ecb", "poskit virtual P1", "front desk"),
}

#: (code, name, role, password) of every demo terminal's operators; printed by `poskit up`.
DEMO_OPERATORS = [
    ("00", "主管 Supervisor", "supervisor", "123456"),
    ("01", "收银员一 Cashier 1", "operator", "0000"),
    ("02", "收银员二 Cashier 2", "operator", "0000"),
]

DEMO_FEES = [
    FeeRule("domestic_debit", "percent", "CNY", rate=Decimal("0.50"), cap=2000),
    FeeRule("domestic_credit", "percent", "CNY", rate=Decimal("0.60")),
    FeeRule("foreign", "percent", "CNY", rate=Decimal("2.50")),
    FeeRule("d0_settlement", "fixed", "CNY", fixed=200),
]


# --- the second market: Nigeria ------------------------------------------------------------
NIGERIA_ACQUIRER = {
    "code": "48020566",
    "name": "poskit Demo Acquirer Nigeria",
    "country": "566",
    "currency": "NGN",
    "timezone": "Africa/Lagos",
    "support_phone": "+234 1 700 0566",
}
_NIGERIA_SUPPORT = {
    "phone": "+234 1 700 0566",
    "email": "support-ng@poskit.example",
    "hours": "Mon-Sat 08:00-20:00 WAT",
    "complaints_phone": "+234 1 700 0567",
    "address": "25 Adeola Odeku Street, Victoria Island, Lagos",
}
_NIGERIA_MERCHANTS: list[dict[str, Any]] = [
    {
        "merchant_no": "898234058120003",  # 898 + area 2340 + MCC 5812 + serial, as the Chinese ones
        "name": "Eko Kitchen Lagos",
        "name_en": "Eko Kitchen Lagos",
        "mcc": "5812",
        "address": "14 Awolowo Road, Ikoyi, Lagos",
        "city": "Lagos",
        "settlement_account": "0123456789",  # a 10-digit NUBAN
        "settlement_bank": "poskit Demo Bank Nigeria",
        "currency": "NGN",
    },
]
_NIGERIA_TERMINALS = {
    "30000001": ("898234058120003", "ascii87", "x919", "poskit virtual P1", "counter 1"),
}
#: The same operator codes and passwords, named in English only (the "中文 English" names' second half).
_NIGERIA_OPERATORS = [(code, name.split(" ", 1)[1], role, pw) for code, name, role, pw in DEMO_OPERATORS]
#: The Merchant Service Charge on naira cards: 0.50 % of the value, capped at NGN 1,000 per
#: transaction (CBN circular "Review of Process for Merchants Collections on Electronic
#: Transactions", Sept. 2019, which lowered it from 0.75 % capped at NGN 1,200; kept by the
#: CBN Guide to Charges by Banks, FPR/DIR/GEN/CIR/07/042, effective 1 January 2020). Cards
#: issued in foreign currencies follow the schemes' pricing: the contract rate below.
NIGERIA_FEES = [
    FeeRule("domestic_debit", "percent", "NGN", rate=Decimal("0.50"), cap=100_000),
    FeeRule("domestic_credit", "percent", "NGN", rate=Decimal("0.50"), cap=100_000),
    FeeRule("foreign", "percent", "NGN", rate=Decimal("2.50")),
]


@dataclasses.dataclass(frozen=True)
class DemoSummary:
    database_url: str
    created: bool
    terminals: list[str]
    users: dict[str, tuple[str, str, str | None]]


def seed_issuer_cards(
    conn: Connection, hsm: SoftHSM, keys: HostKeys, cards: list[TestCard], now: datetime
) -> int:
    """Personalise the issuer simulator's accounts from the test-card book (idempotent)."""
    protector = PanProtector(hsm, data_key=keys["pan_data"], hash_key=keys["pan_hash"])
    added = 0
    for card in cards:
        digest = protector.fingerprint(card.pan)
        if conn.execute(select(issuer_cards.c.id).where(issuer_cards.c.pan_hash == digest)).first():
            continue
        account_id = inserted_id(
            conn.execute(
                insert(issuer_accounts).values(
                    currency=card.currency,
                    funding=card.funding,
                    balance=card.balance,
                    daily_limit=card.daily_limit,
                    created_at=now,
                )
            )
        )
        if card.pin_method == "visa-pvv":
            value = hsm.generate_pvv(card.pin, pan=card.pan, pvk=keys["issuer_pvk_visa"], pvki="1")
        else:
            value = hsm.generate_ibm3624_offset(card.pin, pan=card.pan, pvk=keys["issuer_pvk_ibm"])
        conn.execute(
            insert(issuer_cards).values(
                account_id=account_id,
                pan_hash=digest,
                pan_token=protector.encrypt(card.pan),
                pan_masked=card.pan[:6] + "*" * (len(card.pan) - 10) + card.pan[-4:],
                name=card.name,
                psn=card.psn.zfill(3)[-3:],
                expiry=card.expiry,
                service_code=card.service_code,
                status=card.status,
                pin_method=card.pin_method,
                pvki="1",
                pin_verification_value=value,
                created_at=now,
            )
        )
        added += 1
    return added


def provision_demo(settings: Settings, *, now: datetime | None = None) -> DemoSummary:
    """Seed the demo world on first run; on later runs only fill in what is missing."""
    at = now or datetime.now(UTC)
    engine, hsm, keys = open_host_database(settings)
    created = False
    with engine.connect().execution_options(**WRITE) as conn, conn.begin():
        if conn.execute(select(acquirers.c.id)).first() is None:
            created = True
            _seed_world(conn, at)
        if (
            conn.execute(select(acquirers.c.id).where(acquirers.c.code == NIGERIA_ACQUIRER["code"])).first()
            is None
        ):
            _seed_nigeria(conn, at)
        seed_issuer_cards(conn, hsm, keys, list(CARD_BOOK), at)
        tids = [r.terminal_id for r in conn.execute(select(terminals.c.terminal_id).order_by(terminals.c.id))]
    for tid in tids:
        with engine.connect() as conn:
            store = provision_terminal_store(settings, conn, tid)
        _, key_file = terminal_files(settings, tid)
        element = SecureElement.open(
            key_file, store, create=True, mac_algorithm=store.profile().mac_algorithm
        )
        if not element.has_master_key():
            inject_terminal_master_key(hsm, engine, tid, element)
        store.close()
    sync_operators(settings, engine)
    url = settings.resolved_database_url
    engine.dispose()
    return DemoSummary(url, created, tids, DEMO_USERS)


def _seed_world(conn: Connection, at: datetime) -> None:
    acquirer_id = inserted_id(
        conn.execute(
            insert(acquirers).values(
                code="48020000",
                name="poskit 演示收单 Demo Acquirer",
                country="156",
                currency="CNY",
                timezone="Asia/Shanghai",
                support_phone="400-858-3000",
                created_at=at,
            )
        )
    )
    conn.execute(
        insert(support_contacts).values(
            acquirer_id=acquirer_id,
            phone="400-858-3000",
            email="support@poskit.example",
            hours="每天 Daily 08:00-22:00",
            complaints_phone="400-858-3099",
            address="上海市浦东新区陆家嘴环路1000号 / 1000 Lujiazui Ring Road, Pudong",
            updated_at=at,
        )
    )
    merchant_ids = _seed_market(
        conn,
        int(acquirer_id),
        _MERCHANTS,
        _TERMINALS,
        DEMO_OPERATORS,
        fees=DEMO_FEES,
        fee_description="Standard contract: 0.50% debit (cap 20.00), 0.60% credit, 2.50% foreign",
        at=at,
    )
    seed_demo_ledger(conn, merchant_ids=merchant_ids, at=at)
    _seed_users(conn, _CHINA_ACQUIRER, int(acquirer_id), merchant_ids, at, locale="en")


def _seed_nigeria(conn: Connection, at: datetime) -> None:
    """The Lagos acquirer, merchant, ascii87 terminal, operators, fee schedule and logins."""
    acquirer_id = int(inserted_id(conn.execute(insert(acquirers).values(created_at=at, **NIGERIA_ACQUIRER))))
    conn.execute(insert(support_contacts).values(acquirer_id=acquirer_id, updated_at=at, **_NIGERIA_SUPPORT))
    merchant_ids = _seed_market(
        conn,
        acquirer_id,
        _NIGERIA_MERCHANTS,
        _NIGERIA_TERMINALS,
        _NIGERIA_OPERATORS,
        fees=NIGERIA_FEES,
        fee_description="CBN Merchant Service Charge: 0.50% on naira cards (cap NGN 1,000), 2.50% foreign",
        at=at,
    )
    _seed_users(conn, NIGERIA_ACQUIRER["code"], acquirer_id, merchant_ids, at, locale="en")


def _seed_market(
    conn: Connection,
    acquirer_id: int,
    merchant_rows: list[dict[str, Any]],
    terminal_rows: dict[str, tuple[str, str, str, str, str]],
    operator_rows: list[tuple[str, str, str, str]],
    *,
    fees: Sequence[FeeRule],
    fee_description: str,
    at: datetime,
) -> dict[str, int]:
    """One acquirer's merchants, their terminals and operators, and each merchant's first fee schedule."""
    merchant_ids: dict[str, int] = {}
    for m in merchant_rows:
        merchant_ids[m["merchant_no"]] = int(
            inserted_id(conn.execute(insert(merchants).values(acquirer_id=acquirer_id, created_at=at, **m)))
        )
    _seed_terminals_and_operators(conn, merchant_ids, terminal_rows, operator_rows, at)
    for mid in merchant_ids.values():
        create_schedule(
            conn,
            merchant_id=mid,
            version=1,
            effective_from=at - timedelta(days=90),
            rules=fees,
            now=at,
            notified_at=at - timedelta(days=120),
            description=fee_description,
        )
    return merchant_ids


def _seed_terminals_and_operators(
    conn: Connection,
    merchant_ids: dict[str, int],
    terminal_rows: dict[str, tuple[str, str, str, str, str]],
    operator_rows: list[tuple[str, str, str, str]],
    at: datetime,
) -> None:
    for tid, (mno, dialect, mac, model, location) in terminal_rows.items():
        conn.execute(
            insert(terminals).values(
                terminal_id=tid,
                merchant_id=merchant_ids[mno],
                dialect=dialect,
                mac_algorithm=mac,
                model=model,
                location=location,
                serial_number=f"PK{tid}",
                software_version=f"poskit-{__version__}",
                created_at=at,
            )
        )
    for mid in merchant_ids.values():
        for code, name, role, password in operator_rows:
            conn.execute(
                insert(operators).values(
                    merchant_id=mid,
                    code=code,
                    name=name,
                    role=role,
                    password_hash=hash_password(password),
                    created_at=at,
                )
            )


def _seed_users(
    conn: Connection,
    acquirer_code: str,
    acquirer_id: int,
    merchant_ids: dict[str, int],
    at: datetime,
    *,
    locale: str,
) -> None:
    """The demo portal logins of one acquirer: its staff and its merchants' people."""
    for username, (password, role, merchant) in DEMO_USERS.items():
        if merchant is not None and merchant not in merchant_ids:
            continue
        if merchant is None and _USER_ACQUIRER.get(username, _CHINA_ACQUIRER) != acquirer_code:
            continue
        if conn.execute(select(portal_users.c.id).where(portal_users.c.username == username)).first():
            continue
        create_user(
            conn,
            username=username,
            password=password,
            role=role,
            merchant_id=merchant_ids[merchant] if merchant else None,
            acquirer_id=acquirer_id,
            locale=locale,
            now=at,
            check_strength=False,
        )
