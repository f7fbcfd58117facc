"""The transaction page says why a slip needs no signature, in the rule's words."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Portal = World = Any  # fixture types live in conftest.py


def test_transaction_page_names_the_reason_no_signature_is_needed(
    portal: Callable[..., Portal], world: World
) -> None:
    """PIN sale: "PIN verified"; small tap: the QPS waiver; voided: no longer in force; both languages."""
    client = portal("cafe")
    pin = client.get(f"/transactions/{world.txns['cafe_pin']}").text
    tap = client.get(f"/transactions/{world.txns['cafe_tap']}").text
    voided = client.get(f"/transactions/{world.txns['cafe_voided']}").text
    assert "No signature needed: PIN verified." in pin
    assert "No signature needed: small amount, no PIN and no signature (QPS)." in tap
    assert "No signature needed: the transaction is not in force." in voided
    client.post("/locale", {"locale": "zh_CN", "next": "/"})
    assert "无需签名：已验密码。" in client.get(f"/transactions/{world.txns['cafe_pin']}").text
    client.post("/locale", {"locale": "en", "next": "/"})
