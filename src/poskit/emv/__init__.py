"""EMV: data formats, the terminal kernel (contact and contactless) and issuer-side helpers.

Modules by standard or concern:

* :mod:`~poskit.emv.tlv` BER-TLV, :mod:`~poskit.emv.tags` the tag dictionary,
  :mod:`~poskit.emv.dol` data object lists, :mod:`~poskit.emv.apdu` command/response APDUs,
  :mod:`~poskit.emv.trace` masked APDU traces.
* :mod:`~poskit.emv.cryptogram` the one cryptogram input and IAD/CVR layout;
  :mod:`~poskit.emv.certificates`, :mod:`~poskit.emv.oda`, :mod:`~poskit.emv.capk` offline
  data authentication; :mod:`~poskit.emv.offline_pin`, :mod:`~poskit.emv.secure_messaging`.
* Kernel: :mod:`~poskit.emv.kernel` (contact), :mod:`~poskit.emv.contactless`,
  :mod:`~poskit.emv.selection`, :mod:`~poskit.emv.cvm`, :mod:`~poskit.emv.risk`,
  :mod:`~poskit.emv.action`, :mod:`~poskit.emv.restrictions`, :mod:`~poskit.emv.tvr`,
  :mod:`~poskit.emv.config`, :mod:`~poskit.emv.transport`, :mod:`~poskit.emv.magstripe`.
* Host side: :mod:`~poskit.emv.issuer`, :mod:`~poskit.emv.attack_checks`,
  :mod:`~poskit.emv.field55`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from poskit.emv.apdu import SW, Apdu, ApduError, ResponseApdu
    from poskit.emv.capk import CaKeyStore, CaPublicKey, load_test_ca_store
    from poskit.emv.config import AidConfig, ContactlessLimits, RandomSelection, TerminalConfig
    from poskit.emv.cryptogram import arqc_input
    from poskit.emv.dol import DolEntry, DolError, build_dol_data, parse_dol
    from poskit.emv.kernel import EmvKernel, KernelError
    from poskit.emv.magstripe import ChipFallback, EntryMode, must_insert
    from poskit.emv.outcome import FirstPhase, KernelStateError, PinEntry, SecondPhase
    from poskit.emv.selection import Candidate
    from poskit.emv.tags import TAGS, TagInfo, tag_info
    from poskit.emv.tlv import Tlv, TlvError, decode, encode
    from poskit.emv.trace import ApduExchange
    from poskit.emv.transport import IccTransport, IccTransportError
    from poskit.emv.tvr import Tsi, TsiBit, Tvr, TvrBit

__all__ = [
    "SW",
    "TAGS",
    "AidConfig",
    "Apdu",
    "ApduError",
    "ApduExchange",
    "CaKeyStore",
    "CaPublicKey",
    "Candidate",
    "ChipFallback",
    "ContactlessLimits",
    "DolEntry",
    "DolError",
    "EmvKernel",
    "EntryMode",
    "FirstPhase",
    "IccTransport",
    "IccTransportError",
    "KernelError",
    "KernelStateError",
    "PinEntry",
    "RandomSelection",
    "ResponseApdu",
    "SecondPhase",
    "TagInfo",
    "TerminalConfig",
    "Tlv",
    "TlvError",
    "Tsi",
    "TsiBit",
    "Tvr",
    "TvrBit",
    "arqc_input",
    "build_dol_data",
    "decode",
    "encode",
    "load_test_ca_store",
    "must_insert",
    "parse_dol",
    "tag_info",
]

# The names above load on first use (PEP 562): a terminal that only parses field 55 or a TLV
# (every swipe) must not import the whole kernel, ODA and the CA key store with them.
# (The function ``tlv`` is not among them: ``poskit.emv.tlv`` is its module; import it from there.)
_EXPORTS: dict[str, str] = {
    "AidConfig": "config",
    "Apdu": "apdu",
    "ApduError": "apdu",
    "ApduExchange": "trace",
    "CaKeyStore": "capk",
    "CaPublicKey": "capk",
    "Candidate": "selection",
    "ChipFallback": "magstripe",
    "ContactlessLimits": "config",
    "DolEntry": "dol",
    "DolError": "dol",
    "EmvKernel": "kernel",
    "EntryMode": "magstripe",
    "FirstPhase": "outcome",
    "IccTransport": "transport",
    "IccTransportError": "transport",
    "KernelError": "kernel",
    "KernelStateError": "outcome",
    "PinEntry": "outcome",
    "RandomSelection": "config",
    "ResponseApdu": "apdu",
    "SW": "apdu",
    "SecondPhase": "outcome",
    "TAGS": "tags",
    "TagInfo": "tags",
    "TerminalConfig": "config",
    "Tlv": "tlv",
    "TlvError": "tlv",
    "Tsi": "tvr",
    "TsiBit": "tvr",
    "Tvr": "tvr",
    "TvrBit": "tvr",
    "arqc_input": "cryptogram",
    "build_dol_data": "dol",
    "decode": "tlv",
    "encode": "tlv",
    "load_test_ca_store": "capk",
    "must_insert": "magstripe",
    "parse_dol": "dol",
    "tag_info": "tags",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
