"""poskit's security module: payment cryptography and the software HSM.

Modules by standard or concern:

* :mod:`~poskit.crypto.des`, :mod:`~poskit.crypto.aes`, :mod:`~poskit.crypto.sm4`: ciphers.
* :mod:`~poskit.crypto.kcv`: key check values.
* :mod:`~poskit.crypto.pinblock`: ISO 9564 PIN blocks (formats 0, 1, 3, 4).
* :mod:`~poskit.crypto.mac`: UnionPay ECB MAC, ISO 9797-1 algorithms 1 and 3, CMAC.
* :mod:`~poskit.crypto.pinverify`: IBM 3624 offsets and Visa PVV.
* :mod:`~poskit.crypto.cvv`: CVV, CVV2, iCVV, dCVV.
* :mod:`~poskit.crypto.emv`: EMV card keys, session keys, ARQC/ARPC.
* :mod:`~poskit.crypto.dukpt`, :mod:`~poskit.crypto.dukpt_aes`: DUKPT (X9.24-1, X9.24-3).
* :mod:`~poskit.crypto.tr31`: TR-31 / X9.143 key blocks.
* :mod:`~poskit.crypto.lmk`, :mod:`~poskit.crypto.hsm`, :mod:`~poskit.crypto.keyusage`: the
  local master key and the software HSM with its key-usage policy.
* :mod:`~poskit.crypto.pinpad`: a DUKPT PIN pad; :mod:`~poskit.crypto.pan_protect`: PANs at rest.
* :mod:`~poskit.crypto.hexinput`: hex/digit argument parsing with one-line errors.
"""

from __future__ import annotations

from poskit.crypto.errors import (
    CryptoError,
    DukptExhaustedError,
    InputError,
    KeyBlockError,
    KeyCheckValueError,
    KeyUsageError,
    LmkError,
    MacVerificationError,
    PinBlockFormatError,
    UnsupportedAlgorithmError,
)
from poskit.crypto.hexinput import parse_digits, parse_hex, parse_key
from poskit.crypto.hsm import KeyBlock, KeyInfo, SoftHSM
from poskit.crypto.kcv import kcv
from poskit.crypto.keyusage import USAGES, Algorithm
from poskit.crypto.lmk import LocalMasterKey
from poskit.crypto.mac import MacAlgorithm, mac_calculator
from poskit.crypto.pan_protect import PanProtector
from poskit.crypto.pinpad import DukptPinPad, DukptTransaction
from poskit.crypto.sm4 import SM4_AVAILABLE

__all__ = [
    "SM4_AVAILABLE",
    "USAGES",
    "Algorithm",
    "CryptoError",
    "DukptExhaustedError",
    "DukptPinPad",
    "DukptTransaction",
    "InputError",
    "KeyBlock",
    "KeyBlockError",
    "KeyCheckValueError",
    "KeyInfo",
    "KeyUsageError",
    "LmkError",
    "LocalMasterKey",
    "MacAlgorithm",
    "MacVerificationError",
    "PanProtector",
    "PinBlockFormatError",
    "SoftHSM",
    "UnsupportedAlgorithmError",
    "kcv",
    "mac_calculator",
    "parse_digits",
    "parse_hex",
    "parse_key",
]
