"""AES DUKPT: the ANSI X9.24-3-2017 test vectors, the device, exhaustion at FFFF0000."""

from __future__ import annotations

import pytest

from poskit.crypto.dukpt_aes import (
    AesDukptDevice,
    KeyUsage,
    derive_initial_key,
    derive_intermediate_key,
    derive_working_key,
    ksn_counter,
    ksn_with_counter,
    working_key_from_intermediate,
)
from poskit.crypto.errors import DukptExhaustedError, InputError

H = bytes.fromhex
BDK128 = H("FEDCBA9876543210F1F1F1F1F1F1F1F1")
BDK256 = BDK128 * 2
BDK192 = H("FEDCBA9876543210F1F1F1F1F1F1F1F1FEDCBA9876543210")
IKID = H("1234567890123456")
KSN1 = IKID + H("00000001")
IK128 = H("1273671EA26AC29AFA4D1084127652A1")

# X9.24-3-2017 supplement (ASC X9 test vectors), AES-128 from AES-128 BDK:
# counter -> (PIN encryption, MAC generation, data encryption).
AES128 = {
    0x00000001: (
        "AF8CB133A78F8DC2D1359F18527593FB",
        "A2DC23DE6FDE0824A2BC321E08E4B8B7",
        "A35C412EFD41FDB98B69797C02DCD08F",
    ),
    0x00000002: (
        "D30BDC73EC9714B000BEC66BDB7B6D09",
        "484C3B06E8562704528CD5B46FB12FB6",
        "D639514AA33AC43AD9229E433D6D4E5B",
    ),
    0x00000003: (
        "7D69F01F3B45449F62C7816ECE723268",
        "A5DF7D9D800CA769766F0C77CA4E6E6C",
        "EF17F6AB45B4820C93A3DCB21BC491AD",
    ),
    0x00000004: (
        "91A0588318EC2673214271F70137896E",
        "E6E4679647D8A9057C1FC15537CB4C4E",
        "B3BD44C08BB6BA27C3BB4711D7D70387",
    ),
    0x00000005: (
        "35A43BC9EFEB09C756204B57E3FB7D4D",
        "0588185FE1FF8C7E22FAD78C1C61F065",
        "CA02DF6F30B39E14BD0B4A30E460920F",
    ),
    0x00000008: (
        "4D9DF3FBEE3448FC3E676D04320A90F5",
        "6FD572E5D59E618875F193484F9178FB",
        "650F34204ABD4E57764D61AC3D266FB1",
    ),
    0x0001FFFE: (
        "DDF7E08A84B5478C498D007C743BF762",
        "6D7623AD652734B8FAE1B6E093EACE3D",
        "8E4E5D5E0F01C54F01F4ACA1C8F8EDCE",
    ),
    0x0001FFFF: (
        "73BA667D6368A2086E72576DF41A4037",
        "8B543DCF4A31EA3AB47DAD16B8ABD404",
        "D18ACA30B4D63DB61CE474D3F57733D3",
    ),
    0x00020000: (
        "AB828BE7B58C7EC5D5ED0D5D320A0C9D",
        "0B59D3D7D93028D97135FB895CACE24E",
        "13361208975755318FE7AE28C9616014",
    ),
}


def test_initial_keys() -> None:
    """Initial keys from the AES-128 and AES-256 BDKs match the supplement."""
    assert derive_initial_key(BDK128, IKID) == IK128
    assert derive_initial_key(BDK256, IKID) == H(
        "CE9CE0C101D1138F97FB6CAD4DF045A7083D4EAE2D35A31789D01CCF0949550F"
    )


@pytest.mark.parametrize("counter", sorted(AES128))
def test_aes128_working_keys(counter: int) -> None:
    """PIN, MAC-generation and data keys match the supplement for each counter."""
    ksn = ksn_with_counter(KSN1, counter)
    pin, mac, data = AES128[counter]
    assert derive_working_key(BDK128, ksn, KeyUsage.PIN_ENCRYPTION) == H(pin)
    assert derive_working_key(BDK128, ksn, KeyUsage.MAC_GENERATION) == H(mac)
    assert derive_working_key(IK128, ksn, KeyUsage.DATA_ENCRYPT, source="initial") == H(data)


def test_all_usages_counter_one() -> None:
    """Every key usage at counter 1 matches the supplement."""
    expected = {
        KeyUsage.KEY_ENCRYPTION: "36A724B7BEFA5A25F5E7B5782A4554A2",
        KeyUsage.MAC_VERIFICATION: "DBB463945B286C07CD3AD82EE96FD9C9",
        KeyUsage.MAC_BOTH: "85675439D18D7F1158BD8E3EAA3D502B",
        KeyUsage.DATA_DECRYPT: "16292C6EA8F64C5420A0584BFBC577BE",
        KeyUsage.DATA_BOTH: "A308E080DD15A1B741F1721BF67DE11C",
        KeyUsage.KEY_DERIVATION: "30E54D3C69B22501A7FC43969D81D5C0",
    }
    for usage, key in expected.items():
        assert derive_working_key(BDK128, KSN1, usage) == H(key), usage


def test_intermediate_keys_and_update_key() -> None:
    """The counter-1 derivation key and the FFFFFFFF update key match the supplement."""
    assert derive_intermediate_key(BDK128, KSN1) == H("4F21B565BAD9835E112B6465635EAE44")
    update = ksn_with_counter(KSN1, 0xFFFFFFFF)
    assert derive_intermediate_key(BDK128, update) == H("36C6EBBCC0536FC91C1D50660D4F82AE")
    assert derive_working_key(BDK128, update, KeyUsage.KEY_ENCRYPTION) == H(
        "9A9770AEE1ACD1B13473D0463A1883B9"
    )


def test_tdes_and_larger_working_keys() -> None:
    """2-key and 3-key TDES, AES-192 and AES-256 working keys match the supplement."""
    assert derive_working_key(BDK128, KSN1, KeyUsage.PIN_ENCRYPTION, "TDES2") == H(
        "630C706D9546E47D4449313F61C4D4AB"
    )
    assert derive_working_key(BDK128, KSN1, KeyUsage.PIN_ENCRYPTION, "TDES3") == H(
        "EA8B3F37EB9B15831167EF2977FD8762D9B5913F35766F6A"
    )
    assert derive_working_key(BDK256, KSN1, KeyUsage.PIN_ENCRYPTION, "AES256") == H(
        "8C1AB7BEE973829E30242E0BBBDD4946D540C98FC1B5BDCF94790001A23FD502"
    )
    assert derive_working_key(BDK256, KSN1, KeyUsage.PIN_ENCRYPTION, "AES128") == H(
        "09C9C432966811D6B2C3336BAC1B1202"
    )
    assert derive_working_key(BDK192, KSN1, KeyUsage.PIN_ENCRYPTION, "AES192") == H(
        "C5043EDC7F2C001097974D40FF82A050B64A1AB27879F3DB"
    )
    with pytest.raises(InputError, match="stronger"):
        derive_working_key(BDK128, KSN1, KeyUsage.PIN_ENCRYPTION, "AES256")


def test_midrange_counter() -> None:
    """Counter 845FED (8675309) exercises the whole intermediate-key ladder."""
    ksn = ksn_with_counter(KSN1, 0x845FED)
    assert derive_working_key(BDK128, ksn, KeyUsage.PIN_ENCRYPTION) == H("D1DDA386AA4A556AF0119FDCB5D132C6")


def test_device_sequence() -> None:
    """A loaded device uses counters 1, 2, 3... and its keys give the published working keys."""
    device = AesDukptDevice.from_initial_key(IK128, ksn_with_counter(KSN1, 0))
    for counter in (1, 2, 3, 4, 5):
        ksn, intermediate = device.use()
        assert ksn_counter(ksn) == counter
        key = working_key_from_intermediate(intermediate, ksn, KeyUsage.PIN_ENCRYPTION)
        assert key == H(AES128[counter][0])


def test_device_walk_matches_host() -> None:
    """Two hundred device keys equal the host's intermediate keys for their KSN."""
    device = AesDukptDevice.from_initial_key(IK128, ksn_with_counter(KSN1, 0))
    for _ in range(200):
        ksn, key = device.use()
        assert key == derive_intermediate_key(IK128, ksn, source="initial")


def test_sixteen_bit_limit_and_exhaustion() -> None:
    """Past 16 one bits the device jumps; after FFFF0000 it raises DukptExhaustedError."""
    device = AesDukptDevice.from_initial_key(IK128, ksn_with_counter(KSN1, 0xFFFE2000))
    used = []
    while True:
        try:
            ksn, key = device.use()
        except DukptExhaustedError:
            break
        assert key == derive_intermediate_key(BDK128, ksn)
        used.append(ksn_counter(ksn))
    assert used == [0xFFFE2000, 0xFFFE4000, 0xFFFE8000, 0xFFFF0000]


def test_state_round_trip() -> None:
    """An AES device restored from its bytes continues where it stopped."""
    device = AesDukptDevice.from_initial_key(IK128, ksn_with_counter(KSN1, 0))
    for _ in range(5):
        device.use()
    restored = AesDukptDevice.from_bytes(device.to_bytes())
    assert restored.use() == device.use()


def test_bad_ksn_length() -> None:
    """An AES DUKPT KSN must be 12 bytes."""
    with pytest.raises(InputError, match=r"^ksn: 10 bytes"):
        derive_intermediate_key(BDK128, bytes(10))
