"""The public TEST RSA keys of poskit's chip cards (certification authority, issuer, ICC).

They are checked in as PEM files next to this module (``data/``) so that every machine
personalises the same cards and the same certificates. They are published test data, like
the test PANs: anyone can sign with them. The CA public key is also compiled into the
terminal's CA key store (:mod:`poskit.emv.capk`, index ``F1``).

===============  =========  ========  ===============================================
file             modulus    exponent  role
===============  =========  ========  ===============================================
test_ca_f1.pem   1408 bits  3         test certification authority (CAPK index F1)
test_issuer.pem  1152 bits  3         issuer key, certified by the CA (tags 90/92/9F32)
test_icc.pem     1024 bits  65537     ICC key of every test card (9F46/9F48/9F47),
                                      also used for offline PIN encipherment
===============  =========  ========  ===============================================
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from poskit.emv.certificates import RsaPrivateKey, RsaPublicKey

__all__ = ["ca_key", "icc_key", "issuer_key", "load_test_key"]


@cache
def load_test_key(filename: str) -> RsaPrivateKey:
    """Load one of the PEM test keys of ``poskit/cards/icc/data``."""
    pem = resources.files("poskit.cards.icc").joinpath("data", filename).read_bytes()
    # These are our own checked-in test keys (tests/emv check them against their certificates):
    # the full RSA consistency check cryptography would run costs ~30 ms a key on every start.
    key = load_pem_private_key(pem, password=None, unsafe_skip_rsa_key_validation=True)
    if not isinstance(key, rsa.RSAPrivateKey):  # pragma: no cover - data files are RSA
        raise TypeError(f"{filename} is not an RSA private key")
    numbers = key.private_numbers()
    public = RsaPublicKey(numbers.public_numbers.n, numbers.public_numbers.e)
    return RsaPrivateKey(public, numbers.d, primes=(numbers.p, numbers.q))


def ca_key() -> RsaPrivateKey:
    return load_test_key("test_ca_f1.pem")


def issuer_key() -> RsaPrivateKey:
    return load_test_key("test_issuer.pem")


def icc_key() -> RsaPrivateKey:
    return load_test_key("test_icc.pem")
