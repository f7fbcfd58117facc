"""A third-party client built only from docs/protocol.md and pyiso8583 signs on, pays and reverses.

The client is the example code printed in the protocol document, executed as is; its
cryptography comes from psec (another project), not from poskit, so the test proves
that the documented wire contract (ascii87 dialect, X9.19 MAC, format 0 PIN block,
scheme-004 working keys) is enough to interoperate with the running host.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import iso8583
import psec.des
import psec.mac
import psec.pinblock
import pytest
from iso8583.specs import default_ascii
from sqlalchemy import update

from poskit.cards.book import card_by_name
from poskit.cards.magstripe import track2_for
from poskit.crypto.hsm import SoftHSM
from poskit.host.security import load_lmk
from poskit.store.db import WRITE, make_engine
from poskit.store.schema import terminals
from poskit.tms.registry import register_terminal

DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"
TMK = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")  # the third party's key, injected by components


def _client() -> SimpleNamespace:
    text = DOC.read_text()
    match = re.search(r"<!-- client-example -->\n```python\n(.*?)```\n<!-- /client-example -->", text, re.S)
    assert match, "protocol.md lost its client example"
    namespace: dict[str, Any] = {}
    exec(compile(match.group(1), "protocol.md client example", "exec"), namespace)  # noqa: S102
    return SimpleNamespace(**namespace)


async def _exchange(address: str, frame: bytes) -> dict[str, str]:
    host, port = address.rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(frame)
        await writer.drain()
        length = int.from_bytes(await reader.readexactly(2), "big")
        doc, _ = iso8583.decode(await reader.readexactly(length), default_ascii)
        return doc
    finally:
        writer.close()
        await writer.wait_closed()


@pytest.fixture
def ascii87_terminal(demo_settings: Any) -> str:
    """An ascii87 X9.19 terminal whose master key the third party knows."""
    tid = "NG000001"
    register_terminal(demo_settings, tid, "898310058120001", dialect="ascii87", mac_algorithm="x919")
    hsm = SoftHSM(load_lmk(demo_settings.resolved_lmk_file, create=False))
    block = hsm.import_clear_key(TMK, "K0", algorithm="TDES", mode="B")
    engine = make_engine(demo_settings.resolved_database_url)
    with engine.connect().execution_options(**WRITE) as conn, conn.begin():
        conn.execute(update(terminals).where(terminals.c.terminal_id == tid).values(tmk=block))
    engine.dispose()
    return tid


async def test_documented_client_signs_on_pays_and_reverses(
    live_host: Any, ascii87_terminal: str, issuer_balance: Callable[[str], int]
) -> None:
    """Sign-on keys decrypt and check, the sale is approved and MAC'd, the reversal gives the money back."""
    client = _client()
    client.TID, client.MID = ascii87_terminal, "898310058120001"
    for fn in ("sign_on", "sale", "reversal"):
        getattr(client, fn).__globals__.update(TID=client.TID, MID=client.MID)
    signed = await _exchange(live_host.address, client.frame(client.seal(client.sign_on(1))))
    assert signed["39"] == "00"
    keys = client.working_keys(signed)
    pik = psec.des.decrypt_tdes_ecb(TMK, keys["pik"])
    mak = psec.des.decrypt_tdes_ecb(TMK, keys["mak"])
    assert psec.des.encrypt_tdes_ecb(pik, bytes(8))[:4] == keys["pik_kcv"]
    assert psec.des.encrypt_tdes_ecb(mak, bytes(8))[:4] == keys["mak_kcv"]

    def mac8(data: bytes) -> bytes:
        return psec.mac.generate_retail_mac(mak[:8], mak[8:], data, padding=1)

    card = card_by_name("magstripe-debit")
    pin_block = psec.des.encrypt_tdes_ecb(pik, psec.pinblock.encode_pinblock_iso_0(card.pin, card.pan))
    before = issuer_balance("magstripe-debit")
    sale = client.sale(2, 4321, "156", card.pan, str(track2_for(card)), pin_block.hex().upper())
    answer = await _exchange(live_host.address, client.frame(client.seal(sale, mac8)))
    assert answer["39"] == "00", answer
    assert len(answer["37"]) == 12 and answer["38"].strip()
    raw, _ = iso8583.encode({**answer, "128": "0" * 16}, default_ascii)
    assert bytes.fromhex(answer["128"]) == mac8(bytes(raw[:-16]))  # the host's MAC checks out
    assert issuer_balance("magstripe-debit") == before - 4321

    reversed_ = await _exchange(live_host.address, client.frame(client.seal(client.reversal(3, sale), mac8)))
    assert reversed_["39"] == "00"
    assert issuer_balance("magstripe-debit") == before
