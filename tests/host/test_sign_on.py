"""Sign-on over TCP: a keyless 0800 from anyone cannot take a signed-on terminal out of service."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select

from poskit.iso8583.dialects import get_dialect
from poskit.iso8583.model import Request, TxnType
from poskit.money import Amount
from poskit.store.db import make_engine
from poskit.store.schema import terminals

pytestmark = pytest.mark.usefixtures("live_host")


async def _spoofed_sign_on(counter: Any, dialect_name: str, batch: int) -> str:
    """An 0800 built from the wire contract by someone who knows only the terminal and merchant IDs."""
    dialect = get_dialect(dialect_name)
    request = Request(
        TxnType.SIGN_ON,
        counter.terminal_id,
        counter.store.profile().merchant_no,
        999_999,
        batch,
        operator="01",
        key_scheme="004",
        local_datetime=datetime.now().replace(microsecond=0),
    )
    payload = await counter.link.exchange(
        dialect.frame(dialect.encode(dialect.encode_request(request))), timeout=10
    )
    envelope = dialect.unframe(payload)
    response = dialect.decode_response(dialect.decode(envelope.message), envelope=envelope)
    return str(response.response_code)


def _keys(counter: Any) -> Any:
    engine = make_engine(counter.settings.resolved_database_url)
    with engine.connect() as conn:
        return conn.execute(select(terminals).where(terminals.c.terminal_id == counter.terminal_id)).one()


@pytest.mark.parametrize("dialect_name", ["cups", "ascii87"])
async def test_spoofed_sign_on_leaves_the_genuine_terminals_keys_and_batch_in_service(
    new_counter: Callable[..., Any], dialect_name: str
) -> None:
    """After a keyless 0800 from a stranger the genuine terminal's sale under its current keys is 00."""
    counter = new_counter(
        dialect=dialect_name, mac_algorithm="x919" if dialect_name == "ascii87" else "cups-ecb"
    )
    assert (await counter.engine().sign_on()).approved
    before = _keys(counter)
    assert await _spoofed_sign_on(counter, dialect_name, batch=counter.store.batch_no() + 500) == "00"
    after = _keys(counter)
    assert (after.mak, after.pik, after.batch_no) == (before.mak, before.pik, before.batch_no)
    assert after.pending_mak is not None  # the stranger's keys wait, unproven
    sale = await counter.engine("magstripe-debit", pins=("654321",)).sale(Amount.parse("2.50", "CNY"))
    assert sale.response_code == "00"


async def test_first_mac_under_the_new_keys_promotes_them(new_counter: Callable[..., Any]) -> None:
    """A genuine re-sign-on: the keys wait as pending until the next MAC'd sale, which is 00 and promotes."""
    counter = new_counter()
    assert (await counter.engine().sign_on()).approved
    old = _keys(counter)
    assert (await counter.engine().sign_on()).approved
    pending = _keys(counter)
    assert pending.mak == old.mak and pending.pending_mak is not None
    sale = await counter.engine("magstripe-debit", pins=("654321",)).sale(Amount.parse("1.25", "CNY"))
    assert sale.response_code == "00"
    promoted = _keys(counter)
    assert promoted.mak == pending.pending_mak and promoted.pik == pending.pending_pik
    assert promoted.pending_mak is None and promoted.pending_batch_no is None
