"""The terminal's CA public key store and the test CA key."""

from __future__ import annotations

import pytest

from poskit.cards.icc.keys import ca_key
from poskit.emv.capk import (
    RID_UNIONPAY,
    RID_VISA,
    TEST_CA_INDEX,
    CaKeyStore,
    CapkError,
    CaPublicKey,
    load_test_ca_store,
)


def test_store_holds_test_key_for_each_rid() -> None:
    """The test CA key is registered under index F1 for the card book's RIDs."""
    store = load_test_ca_store()
    key = store.lookup(RID_UNIONPAY, TEST_CA_INDEX)
    assert key is not None
    assert store.lookup(RID_VISA.lower(), 0xF1) is not None
    assert store.lookup(RID_VISA, 0x92) is None
    assert len(store) == 4
    assert "A000000333/F1" in repr(store)


def test_compiled_key_matches_the_ca_private_key() -> None:
    """The terminal's compiled CA modulus is the public half of the test CA's PEM key."""
    key = load_test_ca_store()[(RID_UNIONPAY, TEST_CA_INDEX)]
    assert key.key == ca_key().public


def test_checksum() -> None:
    """The SHA-1 checksum over RID, index, modulus and exponent is checked."""
    key = load_test_ca_store()[(RID_UNIONPAY, TEST_CA_INDEX)]
    key.verify_checksum(key.checksum)
    with pytest.raises(CapkError, match="checksum"):
        key.verify_checksum(bytes(20))
    with pytest.raises(CapkError):
        CaPublicKey("A0000003", 1, key.key)
    assert len(CaKeyStore([key])) == 1
