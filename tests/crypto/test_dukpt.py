"""TDES DUKPT: the ANSI X9.24-1 Annex A test vectors, the device register machine, exhaustion."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from poskit.crypto.des import encrypt_tdes_ecb
from poskit.crypto.dukpt import (
    DukptVariant,
    TdesDukptDevice,
    decrypt_data,
    derive_ipek,
    derive_transaction_key,
    derive_working_key,
    encrypt_data,
    generate_mac,
    ksn_counter,
    ksn_with_counter,
    variant_key,
)
from poskit.crypto.errors import DukptExhaustedError, InputError
from poskit.crypto.pinblock import encode_pinblock

H = bytes.fromhex
BDK = H("0123456789ABCDEFFEDCBA9876543210")
KSN0 = H("FFFF9876543210E00000")
IPEK = H("6AC292FAA1315B4D858AB3A3D7D5933A")
DATA = b"4012345678909D987"

# X9.24-1 Annex A.4 initial sequence (PIN 1234, PAN 4012345678909), as published e.g. in
# moov-io/dukpt's test suite: counter -> (transaction key, PIN block, request data,
# response data, request MAC, response MAC).
VECTORS = {
    1: (
        "042666B49184CFA368DE9628D0397BC9",
        "1B9C1845EB993A7A",
        "FC0D53B7EA1FDA9EE68AAF2E70D9B9506229BE2AA993F04F",
        "1FCC89AF66222F27B903898BB2BC8589CDBFDE5EC6AFCC25",
        "9CCC78173FC4FB64",
        "20364223C1FF00FA",
    ),
    2: (
        "C46551CEF9FD24B0AA9AD834130D3BC7",
        "10A01C8D02C69107",
        "A2B4E70F846E63D68775B7215EB4563DFD3037244C61CC13",
        "5B692A6B1FDD5E25B0DEFAFDE1672E402F8011360CFF3508",
        "F608A9BCA6FFC311",
        "D1FCA6BEF05D24D2",
    ),
    3: (
        "0DF3D9422ACA56E547676D07AD6BADFA",
        "18DC07B94797B466",
        "BD751E65F10E75B6C1D5B1D283496A36C2DE21D993C387A7",
        "345992D4163E4926C927BFD8ABD5D76F087A9CE81D5A27B8",
        "20B59A4FEAC937E3",
        "BAD4CC9CC2AE326C",
    ),
    4: (
        "279C0F6AEED0BE652B2C733E1383AE91",
        "0BC79509D5645DF7",
        "1118F50947441BBDA3C8C70220021A12EC31CC473F7215F4",
        "418C7413576C0D1819E785D3807AF32334231FDEC23414DB",
        "C7BFA6CC44161828",
        "1EB08AEECE6FF0C2",
    ),
    5: (
        "5F8DC6D2C845C125508DDC048093B83F",
        "5BC0AF22AD87B327",
        "9FD7BD1EC28845ACA93367A9DA9317BD555C6B33AE22D365",
        "7D4C109E49E83355A556AE949EED359F4404E7A2F0167C00",
        "0202B96339022058",
        "5CBE3E81D1D2A0FB",
    ),
}


def test_ipek_vector() -> None:
    """BDK 0123..3210 and KSN FFFF9876543210E00000 give IPEK 6AC2..933A."""
    assert derive_ipek(BDK, KSN0) == IPEK
    assert derive_ipek(BDK, ksn_with_counter(KSN0, 8)) == IPEK  # the counter is ignored


def test_pin_variant_vector() -> None:
    """The PIN and MAC-request variants of the first key are the published values."""
    key = derive_transaction_key(BDK, ksn_with_counter(KSN0, 1))
    assert variant_key(key, DukptVariant.PIN) == H("042666B49184CF5C68DE9628D0397B36")
    assert variant_key(key, DukptVariant.MAC_REQUEST) == H("042666B4918430A368DE9628D03984C9")


@pytest.mark.parametrize("counter", sorted(VECTORS))
def test_annex_a_sequence(counter: int) -> None:
    """Transaction keys, PIN blocks, data and MACs match X9.24-1 Annex A for counters 1-5."""
    key_hex, pin_hex, req_hex, res_hex, mreq_hex, mres_hex = VECTORS[counter]
    ksn = ksn_with_counter(KSN0, counter)
    key = derive_transaction_key(BDK, ksn)
    assert key == H(key_hex)
    assert derive_transaction_key(IPEK, ksn, source="ipek") == key
    pin_key = derive_working_key(BDK, ksn, DukptVariant.PIN)
    block = encode_pinblock("1234", "4012345678909", fmt=0)
    assert encrypt_tdes_ecb(pin_key, block) == H(pin_hex)
    req = variant_key(key, DukptVariant.DATA_REQUEST)
    assert encrypt_data(req, DATA) == H(req_hex)
    assert decrypt_data(req, H(req_hex))[: len(DATA)] == DATA
    assert encrypt_data(variant_key(key, DukptVariant.DATA_RESPONSE), DATA) == H(res_hex)
    assert generate_mac(variant_key(key, DukptVariant.MAC_REQUEST), DATA) == H(mreq_hex)
    assert generate_mac(variant_key(key, DukptVariant.MAC_RESPONSE), DATA) == H(mres_hex)


def test_device_follows_the_vectors() -> None:
    """A freshly loaded device uses counters 1, 2, 3... with the published keys."""
    device = TdesDukptDevice.from_initial_key(IPEK, KSN0)
    assert device.ksn == ksn_with_counter(KSN0, 1)
    for counter in sorted(VECTORS):
        ksn, key = device.use()
        assert ksn_counter(ksn) == counter
        assert key == H(VECTORS[counter][0])


def test_device_walk_matches_host() -> None:
    """Three hundred consecutive device keys equal the host's derivation for their KSN."""
    device = TdesDukptDevice.from_initial_key(IPEK, KSN0)
    for _ in range(300):
        ksn, key = device.use()
        assert key == derive_transaction_key(IPEK, ksn, source="ipek")


@settings(max_examples=15, deadline=None)
@given(start=st.integers(0, (1 << 21) - 1))
def test_device_skips_counters_with_more_than_ten_bits(start: int) -> None:
    """From any counter the device only uses counters with at most 10 one bits, in order."""
    device = TdesDukptDevice.from_initial_key(IPEK, ksn_with_counter(KSN0, start))
    previous = start - 1
    for _ in range(4):
        try:
            ksn, key = device.use()
        except DukptExhaustedError:
            break
        counter = ksn_counter(ksn)
        assert counter.bit_count() <= 10
        assert all(c.bit_count() > 10 for c in range(max(previous + 1, 1), counter))
        assert key == derive_transaction_key(BDK, ksn)
        previous = counter


def test_ten_bit_counter_jumps() -> None:
    """After a counter with ten one bits the device jumps past the counters with eleven."""
    device = TdesDukptDevice.from_initial_key(IPEK, ksn_with_counter(KSN0, 0x7FE0))
    assert ksn_counter(device.use()[0]) == 0x7FE0
    assert device.counter == 0x8000


def test_exhaustion_at_the_standard_limit() -> None:
    """Counter 1FF800 is the last key; the next request raises DukptExhaustedError."""
    device = TdesDukptDevice.from_initial_key(IPEK, ksn_with_counter(KSN0, 0x1FF800))
    ksn, key = device.use()
    assert ksn == H("FFFF9876543210FFF800")
    assert key == derive_transaction_key(BDK, ksn)
    with pytest.raises(DukptExhaustedError, match="TDES DUKPT key exhausted"):
        device.use()
    # Counters with 1 to 10 one bits out of 21: 2**20 - 1 keys in a device's life.
    assert sum(1 for c in range(1, 1 << 21) if c.bit_count() <= 10) == 1_048_575


def test_state_round_trip() -> None:
    """A device restored from its bytes continues exactly where it stopped."""
    device = TdesDukptDevice.from_initial_key(IPEK, KSN0)
    for _ in range(7):
        device.use()
    restored = TdesDukptDevice.from_bytes(device.to_bytes())
    assert restored.ksn == device.ksn
    assert restored.use() == device.use()
    with pytest.raises(InputError, match=r"^state: "):
        TdesDukptDevice.from_bytes(b"PKD1" + bytes(3))


def test_bad_ksn() -> None:
    """A KSN that is not 10 bytes is an InputError."""
    with pytest.raises(InputError, match=r"^ksn: 8 bytes"):
        derive_ipek(BDK, bytes(8))
